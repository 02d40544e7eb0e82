from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "sunshine.supervision"
    label = "supervision"
