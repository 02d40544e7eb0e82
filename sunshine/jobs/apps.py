from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "sunshine.jobs"
    label = "jobs"
