"""One-time SMS codes that prove a member of the public holds a phone (online application,
complaints).

Codes are 6 random digits, kept only as a keyed hash in the cache (never the digits), expire
after ``SUNSHINE_CODE_TTL_SECONDS``, die after ``SUNSHINE_CODE_MAX_ATTEMPTS`` wrong tries and are
used once. Sending is throttled per phone (a pause between sends and a cap per hour) and per
client (the caller's IP address), so the service cannot be used to flood a stranger's phone or
to burn the SMS budget.

Errors carry a stable ``code``; the delivery apps (portal pages and the public API) turn codes
into messages in the user's language.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from sunshine.notifications.sms import SmsError, send_sms

log = logging.getLogger(__name__)

# Purposes keep a code for one form from being spent on another.
APPLY = "apply"
COMPLAINT = "complaint"
PURPOSES = (APPLY, COMPLAINT)


class CodeError(Exception):
    """``code``: ``throttled_phone`` | ``throttled_client`` | ``sms_failed`` | ``code_missing`` |
    ``code_wrong`` | ``code_expired`` | ``too_many_attempts``. ``retry_after`` (seconds) for throttles."""

    def __init__(self, code: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    expires_in: int  # seconds the code stays valid
    resend_after: int  # seconds until the same phone may ask again


def _digest(phone: str, purpose: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _keyed(*parts: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY): phone numbers are few enough (10^11) that a
    plain hash of one in a cache key could be reversed by trying them all."""
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def _key(phone: str, purpose: str) -> str:
    # The cache key names a keyed hash of the phone, so a cache dump lists no phone numbers.
    return "vcode:" + _keyed("code", purpose, phone)


def client_key(ip: str) -> str:
    """A keyed hash of the client address: what throttles and log lines name instead of the IP."""
    return _keyed("client", ip)[:12]


def _count(key: str, window: int) -> int:
    cache.add(key, 0, window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def request_code(phone: str, *, client: str, purpose: str = APPLY) -> Sent:
    """Send a new code to ``phone`` (already normalised to 11 digits); a new code replaces the
    previous one. ``client`` is the caller's IP address. Raises ``CodeError`` when throttled
    (nothing is sent then)."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    gap = settings.SUNSHINE_CODE_RESEND_SECONDS
    phone_hash = _keyed("phone", phone)
    ckey = client_key(client)
    if _count(f"vcode-client:{ckey}", 3600) > settings.SUNSHINE_CODES_PER_CLIENT_HOUR:
        log.warning("verification codes throttled for client %s", ckey)
        raise CodeError("throttled_client", 3600)
    # The pause between two sends to one phone: an atomic add is the lock.
    if not cache.add(f"vcode-gap:{phone_hash}", 1, gap):
        raise CodeError("throttled_phone", gap)
    if _count(f"vcode-phone:{phone_hash}", 3600) > settings.SUNSHINE_CODES_PER_PHONE_HOUR:
        log.warning("verification codes throttled for a phone (client %s)", ckey)
        raise CodeError("throttled_phone", 3600)
    code = f"{secrets.randbelow(10**6):06d}"
    ttl = settings.SUNSHINE_CODE_TTL_SECONDS
    entry = {"digest": _digest(phone, purpose, code), "expires": time.time() + ttl}
    cache.set(_key(phone, purpose), entry, ttl)
    minutes = max(1, ttl // 60)
    text = settings.SUNSHINE_CODE_SMS_TEXT.format(code=code, minutes=minutes)
    _send(phone, text, key=f"vcode:{_digest(phone, purpose, code)[:16]}")
    return Sent(expires_in=ttl, resend_after=gap)


def check_code(phone: str, code: str, *, purpose: str = APPLY, consume: bool = True) -> None:
    """Return when ``code`` is the live code of ``phone``; otherwise raise ``CodeError``.

    A right code is used up (``consume``); each wrong one counts, and after
    ``SUNSHINE_CODE_MAX_ATTEMPTS`` wrong ones the code is dead (the user asks for a new one).
    """
    code = (code or "").strip()
    if not code:
        raise CodeError("code_missing")
    key = _key(phone, purpose)
    entry = cache.get(key)
    now = time.time()
    if entry is None or entry["expires"] <= now:
        raise CodeError("code_expired")
    # An atomic counter per code (not a field of the entry), so parallel guesses each count.
    tries = _count(f"{key}:tries:{entry['digest'][:12]}", max(1, int(entry["expires"] - now) + 1))
    if tries > settings.SUNSHINE_CODE_MAX_ATTEMPTS:
        raise CodeError("too_many_attempts")
    if not (len(code) == 6 and code.isdigit() and hmac.compare_digest(entry["digest"], _digest(phone, purpose, code))):
        if tries >= settings.SUNSHINE_CODE_MAX_ATTEMPTS:
            cache.delete(key)
            raise CodeError("too_many_attempts")
        raise CodeError("code_wrong")
    if consume and not cache.delete(key):
        # Someone spent it a moment ago (a double submit): a code is good once.
        raise CodeError("code_expired")


def _send(phone: str, text: str, key: str) -> None:
    """Send now through the SMS backend (a code must arrive now, not after a queue): console/file
    by default, the HTTP gateway by settings, locmem in tests."""
    try:
        send_sms(phone, text, key=key)
    except SmsError:
        log.warning("verification code SMS refused by the gateway", exc_info=True)
        raise CodeError("sms_failed") from None
