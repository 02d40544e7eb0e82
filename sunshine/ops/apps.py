from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: commands that run the installation (no models)."""

    name = "sunshine.ops"
    label = "ops"
