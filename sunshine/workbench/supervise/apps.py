from django.apps import AppConfig


class SuperviseConfig(AppConfig):
    name = "sunshine.workbench.supervise"
    label = "workbench_supervise"
