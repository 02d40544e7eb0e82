from django.apps import AppConfig


class OpenInfoConfig(AppConfig):
    name = "sunshine.portal.openinfo"
    label = "portal_openinfo"
