"""Authenticated encryption of personal data and the keyed hashes that let us search it.

Stored form of an encrypted value: ``$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>`` with
AES-256-GCM and a random 96-bit nonce. The key id names the key that encrypted it, so keys can
rotate: ``SUNSHINE_PII_KEYS`` is ``id:base64key,id:base64key,...``; the first key encrypts, every
listed key decrypts. Empty values stay empty (nothing to hide, and ``blank`` fields stay simple).

Searching: equal plaintexts give different ciphertexts, so each searchable column has a companion
*blind index*, HMAC-SHA256 under a separate key (``SUNSHINE_PII_INDEX_KEY``) of the normalised
value (ID upper-cased, phone as its 11 digits), truncated to 128 bits (32 hex digits). Rotating
the index key means recomputing every index (``manage.py reindex_pii``); rotating an encryption
key needs nothing but adding the new key first (``manage.py reencrypt_pii`` rewrites old rows).

Without the two settings (a trial, the tests) both keys are derived from ``SECRET_KEY``: fine for
a trial, not for production (``manage.py check --deploy`` warns), since whoever has the secret
key then has the data, and a database restored elsewhere needs the same ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "$"
NONCE_BYTES = 12
TAG_BYTES = 16
INDEX_HEX = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,8}$")
DEV_KEY_ID = "dev"


class PiiError(Exception):
    """A stored value cannot be decrypted: its key is not configured, or the key is wrong, or
    the value was altered. The message names the key id, never the value."""


@dataclass(frozen=True)
class Keyring:
    encrypt_id: str
    ciphers: dict[str, AESGCM]
    index_key: bytes
    derived: bool  # keys derived from SECRET_KEY (a trial), not given explicitly


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"sunshine-pii:{purpose}".encode(), hashlib.sha256).digest()


def _b64key(text: str, what: str) -> bytes:
    """A 32-byte key from standard or URL-safe base64 (padding optional)."""
    text = text.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{what}: the key is not valid base64") from None
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{what}: the key must be 32 bytes (256 bits), got {len(raw)}")
    return raw


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``id:base64key,...`` → [(id, 32-byte key)]; a bad entry raises ImproperlyConfigured."""
    keys: list[tuple[str, bytes]] = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        kid, sep, b64 = entry.partition(":")
        if not sep or not KEY_ID_RE.match(kid):
            raise ImproperlyConfigured(
                "SUNSHINE_PII_KEYS entries are id:base64key with an id of 1-8 letters, digits, - or _"
            )
        if any(k == kid for k, _ in keys):
            raise ImproperlyConfigured(f"SUNSHINE_PII_KEYS names key id {kid!r} twice")
        keys.append((kid, _b64key(b64, f"SUNSHINE_PII_KEYS key {kid!r}")))
    return keys


@lru_cache(maxsize=8)
def _keyring(keys_spec: str, index_spec: str, secret: str) -> Keyring:
    keys = parse_keys(keys_spec) if keys_spec.strip() else [(DEV_KEY_ID, _derive(secret, "encryption"))]
    index_key = _b64key(index_spec, "SUNSHINE_PII_INDEX_KEY") if index_spec.strip() else _derive(secret, "index")
    return Keyring(
        encrypt_id=keys[0][0],
        ciphers={kid: AESGCM(key) for kid, key in keys},
        index_key=index_key,
        derived=not keys_spec.strip() or not index_spec.strip(),
    )


def keyring() -> Keyring:
    """The keys in force (cached per settings, so ``override_settings`` in tests works)."""
    return _keyring(
        getattr(settings, "SUNSHINE_PII_KEYS", ""), getattr(settings, "SUNSHINE_PII_INDEX_KEY", ""), settings.SECRET_KEY
    )


def is_encrypted(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)  # type: ignore[union-attr]


def encrypt(plain: str) -> str:
    """The stored form of ``plain`` under the first key; "" stays "". Already encrypted values
    are returned unchanged (so saving a value read raw, or migrating twice, is harmless)."""
    if not plain or plain.startswith(PREFIX):
        return plain
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.ciphers[ring.encrypt_id].encrypt(nonce, plain.encode(), ring.encrypt_id.encode())
    return f"{PREFIX}{ring.encrypt_id}{PREFIX}{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def encrypt_many(values: Iterable[str]) -> list[str]:
    """``encrypt`` over many values with one key look-up (bulk writers: synthetic load)."""
    ring = keyring()
    kid = ring.encrypt_id
    aead, aad, head = ring.ciphers[kid].encrypt, kid.encode(), f"{PREFIX}{kid}{PREFIX}"
    b64 = base64.urlsafe_b64encode
    out = []
    for plain in values:
        if not plain or plain.startswith(PREFIX):
            out.append(plain)
            continue
        nonce = os.urandom(NONCE_BYTES)
        out.append(head + b64(nonce + aead(nonce, plain.encode(), aad)).decode().rstrip("="))
    return out


def decrypt(stored: str) -> str:
    """The plaintext of a stored value; a value not in the encrypted form (empty, or a row
    written before encryption and not migrated yet) is returned as it is.

    Raises ``PiiError`` when the key id is unknown or the key does not open the value."""
    if not stored or not stored.startswith(PREFIX):
        return stored
    kid, sep, body = stored[1:].partition(PREFIX)
    if not sep:
        raise PiiError("an encrypted personal-data value is malformed")
    cipher = keyring().ciphers.get(kid)
    if cipher is None:
        raise PiiError(
            f"personal data was encrypted with key {kid!r}, which SUNSHINE_PII_KEYS does not list: "
            "add that key (after the current one) to read it"
        )
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise PiiError(
            f"personal data encrypted with key {kid!r} cannot be decrypted: the key configured under "
            "that id is not the one that encrypted it, or the stored value was altered"
        ) from None


def stored_length(plain_max: int) -> int:
    """Column width for ``plain_max`` characters of plaintext (4 UTF-8 bytes each at worst)."""
    sealed = NONCE_BYTES + 4 * plain_max + TAG_BYTES
    return 2 + 8 + (sealed * 4 + 2) // 3


# --- blind index -----------------------------------------------------------------------------------


def normalise_id(value: str) -> str:
    return (value or "").strip().upper()


def normalise_phone(value: str) -> str:
    """The digits of a mainland mobile number, without a +86 / 0086 prefix."""
    value = value or ""
    if len(value) == 11 and value.isdigit():  # the stored form: no work
        return value
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    return digits


NORMALISERS = {"id": normalise_id, "phone": normalise_phone}


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 of the normalised ``value`` under the index key, 32 hex digits; "" for an
    empty value. ``kind`` (``id`` or ``phone``) is part of the input, so an ID and a phone with
    the same characters do not share an index."""
    norm = NORMALISERS[kind](value)
    if not norm:
        return ""
    return hmac.digest(keyring().index_key, f"{kind}:{norm}".encode(), "sha256")[: INDEX_HEX // 2].hex()


def id_index(value: str) -> str:
    return blind_index("id", value)


def phone_index(value: str) -> str:
    return blind_index("phone", value)
