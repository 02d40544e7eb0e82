from django.apps import AppConfig


class FeedbackPagesConfig(AppConfig):
    name = "sunshine.workbench.feedback"
    label = "workbench_feedback"
