from django.apps import AppConfig


class ReportPagesConfig(AppConfig):
    name = "sunshine.workbench.reports"
    label = "workbench_reports"
