from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "sunshine.directory"
    label = "directory"
