from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "sunshine.workbench.alerts"
    label = "workbench_alerts"
