from django.apps import AppConfig


class CaseConfig(AppConfig):
    name = "sunshine.workbench.case"
    label = "workbench_case"
