from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sunshine.api"
    label = "api"
