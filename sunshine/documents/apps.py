from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "sunshine.documents"
    label = "documents"
