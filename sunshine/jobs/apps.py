from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "sunshine.jobs"
    label = "jobs"

    def ready(self) -> None:
        from sunshine.jobs import telemetry

        telemetry.connect()
