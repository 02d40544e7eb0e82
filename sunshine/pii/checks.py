"""``manage.py check --deploy``: production must not run on keys derived from SECRET_KEY."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from sunshine.pii import crypto


@register(Tags.security, deploy=True)
def pii_keys_configured(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    try:
        crypto.keyring()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="pii.E001")]
    if not getattr(settings, "SUNSHINE_PII_KEYS", "").strip():
        problems.append(
            Warning(
                "SUNSHINE_PII_KEYS is not set: ID numbers and phones are encrypted with a key derived "
                "from SECRET_KEY, which is meant for a trial only.",
                hint="Set SUNSHINE_PII_KEYS=k1:<32 random bytes, base64> (see docs/security.md).",
                id="pii.W001",
            )
        )
    if not getattr(settings, "SUNSHINE_PII_INDEX_KEY", "").strip():
        problems.append(
            Warning(
                "SUNSHINE_PII_INDEX_KEY is not set: the blind indexes of ID numbers and phones use a "
                "key derived from SECRET_KEY, which is meant for a trial only.",
                hint="Set SUNSHINE_PII_INDEX_KEY=<32 random bytes, base64>, a key other than the encryption keys.",
                id="pii.W002",
            )
        )
    return problems
