from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "sunshine.processes"
    label = "processes"
