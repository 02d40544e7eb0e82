from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "sunshine.workbench.desk"
    label = "workbench_desk"
