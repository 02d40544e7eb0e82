from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sunshine.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from sunshine.accounts import units  # noqa: F401  (connects the tree's cache to unit edits)
        from sunshine.accounts.models import ApiToken, User
        from sunshine.accounts.services import forget_tokens

        # A token deleted, a user deactivated or changed here: no cached token look-up survives it.
        for model in (ApiToken, User):
            post_save.connect(forget_tokens, sender=model, dispatch_uid=f"forget_tokens_save_{model.__name__}")
            post_delete.connect(forget_tokens, sender=model, dispatch_uid=f"forget_tokens_delete_{model.__name__}")
