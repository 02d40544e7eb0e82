from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "sunshine.evaluation"
    label = "evaluation"
