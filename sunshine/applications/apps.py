from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "sunshine.applications"
    label = "applications"
