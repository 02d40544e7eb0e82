from django.apps import AppConfig


class PiiConfig(AppConfig):
    """Encryption at rest of customers' ID numbers and phones (no models, imports no other app)."""

    name = "sunshine.pii"
    label = "pii"

    def ready(self) -> None:
        from sunshine.pii import checks, crypto  # noqa: F401  (checks registers the deploy check)

        crypto.keyring()  # a malformed SUNSHINE_PII_KEYS fails at start-up, not at the first save
