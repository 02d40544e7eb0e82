from django.apps import AppConfig


class EvaluationPagesConfig(AppConfig):
    name = "sunshine.workbench.evaluation"
    label = "workbench_evaluation"
