from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "sunshine.metrics"
    label = "metrics"
