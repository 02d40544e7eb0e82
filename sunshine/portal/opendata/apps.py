from django.apps import AppConfig


class OpenDataConfig(AppConfig):
    name = "sunshine.portal.opendata"
    label = "portal_opendata"
