from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "sunshine.feedback"
    label = "feedback"
