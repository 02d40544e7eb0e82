from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "sunshine.portal.public"
    label = "portal_public"
