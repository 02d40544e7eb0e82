from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "sunshine.reports"
    label = "reports"
