from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "sunshine.notifications"
    label = "notifications"
