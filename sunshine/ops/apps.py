from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_cache_table(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every `migrate`: the database cache's table, when the cache is one (no REDIS_URL,
    see settings.py). Django sends post_migrate once per app with models (this app has none),
    so this runs several times per migrate: createcachetable is idempotent (one look at the
    table names) and does nothing for Redis or an in-memory cache."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class OpsConfig(AppConfig):
    """Operations: commands that run the installation, health checks and metrics (no models)."""

    name = "sunshine.ops"
    label = "ops"

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, dispatch_uid="sunshine-ops-cache-table")
        from sunshine.observe import db

        db.connect()
