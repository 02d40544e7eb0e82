"""Model fields for personal data: encrypted on the way to the database, decrypted on the way
back, and a blind-index column computed from its source field when the row is saved.

``EncryptedCharField(max_length=N)``: ``N`` is the plaintext limit (forms and validation see it);
the column is as wide as the ciphertext of N characters. Only ``isnull`` and exact comparison
with "" work on it: every other look-up (``=value``, ``__in``, ``__endswith``, ``icontains``)
would compare ciphertexts and silently find nothing, so Django refuses it with a FieldError —
search through the blind index instead (``filter(id_number_index=id_index(value))``).

``BlindIndexField(source="id_number", kind="id")`` fills itself in ``pre_save`` from the source
attribute (``save()``, ``create()``, ``bulk_create()``); a queryset ``update()`` or
``save(update_fields=...)`` that changes the source must set or name it as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.lookups import Exact, IsNull
from django.utils.datastructures import DictWrapper

from sunshine.pii import crypto

# The stubs make fields generic in their set and get types; Django's classes are not
# subscriptable at run time.
if TYPE_CHECKING:
    _CharField = models.CharField[Any, Any]
else:
    _CharField = models.CharField


class EncryptedCharField(_CharField):
    description = "Text encrypted at rest (AES-GCM)"

    def db_type_parameters(self, connection: Any) -> DictWrapper[Any]:
        # The column holds the ciphertext: wider than the plaintext limit forms validate.
        params = {**self.__dict__, "max_length": crypto.stored_length(self.max_length or 0)}
        return DictWrapper(params, connection.ops.quote_name, "qn_")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return crypto.decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return crypto.encrypt(value) if isinstance(value, str) and value else value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return None


class EmptyOnlyExact(Exact):
    """``field=""`` (and ``None``) only: any other value must be searched by its blind index."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            from django.core.exceptions import FieldError

            raise FieldError(
                f"{self.lhs.target.name} is encrypted: compare its blind index, not the value"
                if hasattr(self.lhs, "target")
                else "an encrypted field can only be compared through its blind index"
            )
        return self.rhs


class BlindIndexField(_CharField):
    """The keyed hash of another field of the same row (see ``crypto.blind_index``)."""

    description = "Keyed hash of a personal-data field, for look-ups"

    def __init__(self, *args: Any, source: str = "", kind: str = "id", **kwargs: Any) -> None:
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", crypto.INDEX_HEX)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"], kwargs["kind"] = self.source, self.kind
        for key, default in (("max_length", crypto.INDEX_HEX), ("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = crypto.blind_index(self.kind, getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value
