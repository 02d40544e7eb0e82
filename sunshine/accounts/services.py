"""Sign-in for the API: issue and check bearer tokens, throttle repeated failures."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db.models.base import ModelState
from django.http import HttpRequest
from django.utils import timezone

from sunshine import caching
from sunshine.accounts.models import ApiToken, User, hash_token


class Throttled(Exception):
    """Too many attempts; ``retry_after`` seconds until the window passes."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


USERNAME_MAX = User._meta.get_field("username").max_length or 150


class SecondStep(Exception):
    """The password was right but the code is missing (``otp_required``), wrong
    (``invalid_otp``), or the role requires a code and the user has not enrolled
    (``otp_enrolment_required``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def throttle_key(scope: str, *parts: str) -> str:
    """The cache key of a throttle counter: ``scope`` (a fixed name such as ``login-fail``), then
    a keyed hash (HMAC-SHA256 with SECRET_KEY) of ``parts``. What callers pass — a username, an
    IP address, a phone number — never appears in a cache key: a cache dump names no one, and
    the key has a fixed length and only characters every cache backend (memcached) accepts,
    whatever the input."""
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    digest = hmac.new(settings.SECRET_KEY.encode(), scope.encode() + b"\x1e" + message, hashlib.sha256)
    return f"throttle:{scope}:{digest.hexdigest()[:40]}"


def client_network(ip: str) -> str:
    """The unit a per-client throttle counts: an IPv4 address as it is, an IPv6 address by its
    /64 network (one subscriber usually holds a whole /64, so counting single addresses would
    give each of them an unlimited budget). Anything else (``unknown``) as it is."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def count_attempt(key: str, window: int, *, unless: str | None = None) -> int | None:
    """Count one attempt under ``key`` (from ``throttle_key``; the count lives ``window``
    seconds from the first) and return the count so far; ``None``, counting nothing, while the
    key ``unless`` is set (a lock). One round trip on Redis (``sunshine.rediscache``), a few
    cache operations on another backend."""
    count = getattr(cache, "count", None)
    if count is not None:
        n = count(key, window, unless)
        return None if n is None else int(n)
    if unless is not None and cache.get(unless):
        return None
    cache.add(key, 0, window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def hit_limit(key: str, limit: int, window: int) -> None:
    """Count one attempt under ``key`` (from ``throttle_key``); raise ``Throttled`` once
    ``limit`` attempts were made."""
    if (count_attempt(key, window) or 0) > limit:
        raise Throttled(window)


def is_limited(key: str, limit: int) -> bool:
    return int(cache.get(key, 0)) >= limit


def issue_token(
    username: str, password: str, client: str, request: HttpRequest | None = None, otp: str | None = None
) -> tuple[str, datetime] | None:
    """Returns (raw token, expiry), or None for bad credentials. Raises Throttled, and
    SecondStep when the user enrolled a TOTP device and ``otp`` is not its current code (a
    wrong code counts as a failed sign-in, here and in django-axes). ``request`` lets
    django-axes count the failure against the same lockout as the sign-in page."""
    key = throttle_key("login-fail", client, username.lower())
    if is_limited(key, settings.SUNSHINE_LOGIN_FAILURES):
        raise Throttled(settings.SUNSHINE_LOGIN_WINDOW_SECONDS)
    if len(username) > USERNAME_MAX:
        # No account has such a name; django-axes could not even record it (its column holds 255
        # characters, and PostgreSQL refuses longer values). Counted here all the same.
        hit_limit(key, settings.SUNSHINE_LOGIN_FAILURES, settings.SUNSHINE_LOGIN_WINDOW_SECONDS)
        return None
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        hit_limit(key, settings.SUNSHINE_LOGIN_FAILURES, settings.SUNSHINE_LOGIN_WINDOW_SECONDS)
        return None
    from sunshine.accounts import totp

    if totp.must_enrol(user):
        raise SecondStep("otp_enrolment_required")
    if totp.needs_code(user):
        if not otp:
            raise SecondStep("otp_required")
        if not totp.verify(user, otp):
            hit_limit(key, settings.SUNSHINE_LOGIN_FAILURES, settings.SUNSHINE_LOGIN_WINDOW_SECONDS)
            if request is not None:
                from django.contrib.auth.signals import user_login_failed

                user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
            raise SecondStep("invalid_otp")
    cache.delete(key)
    if request is not None:
        # A successful sign-in clears the django-axes failures too, as the sign-in page does.
        from axes.utils import reset as axes_reset

        axes_reset(ip=getattr(request, "axes_ip_address", client), username=username)
    raw = ApiToken.new_raw()
    expires = timezone.now() + timedelta(hours=settings.SUNSHINE_TOKEN_TTL_HOURS)
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), expires_at=expires)
    return raw, expires


# Token look-ups of this process: key hash -> (read at, token's expiry, its user). A hit skips the
# query for settings.SUNSHINE_TOKEN_CACHE_SECONDS; the token's own expiry is still checked on
# every request. Deleting a token, deactivating or changing a user or a token in this process
# forgets the entries at once (``forget_tokens``, connected in accounts/apps.py); a change made
# by another process (or by a bulk UPDATE, which sends no signal) is seen here within those
# seconds: the revocation delay documented in docs/security.md.
_tokens: dict[str, tuple[float, datetime, User]] = {}
_TOKENS_MAX = 10_000
_tokens_lock = threading.Lock()


def forget_tokens(*args: object, **kwargs: object) -> None:
    """Signal receiver: forget every cached token look-up of this process."""
    with _tokens_lock:
        _tokens.clear()


caching.register(forget_tokens)


def _copy(user: User) -> User:
    """What ``copy.copy(user)`` makes (``Model.__getstate__``'s state: the fields, its own
    ``_state`` and related-objects cache), without the pickling detour through ``__reduce__``,
    ``apps.get_model`` and ``__setstate__`` (≈ 5 µs per API request)."""
    new = user.__class__.__new__(user.__class__)
    state = user.__dict__.copy()
    model_state = ModelState()
    model_state.__dict__.update(user._state.__dict__)
    model_state.fields_cache = user._state.fields_cache.copy()
    state["_state"] = model_state
    new.__dict__.update(state)
    return new


def user_for_token(raw: str) -> User | None:
    """The active user of an unexpired token, or None."""
    key = hash_token(raw)
    now = timezone.now()
    ttl = settings.SUNSHINE_TOKEN_CACHE_SECONDS
    hit = _tokens.get(key)
    if hit is not None and 0 <= time.time() - hit[0] < ttl:  # a clock stepped back: not fresh
        # A copy per request: views may set attributes on request.user.
        return _copy(hit[2]) if hit[1] > now else None
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=key, expires_at__gt=now, user__is_active=True).first()
    )
    if token is None:
        with _tokens_lock:
            _tokens.pop(key, None)
        return None
    if ttl > 0:
        with _tokens_lock:
            if len(_tokens) >= _TOKENS_MAX:
                _tokens.clear()
            _tokens[key] = (time.time(), token.expires_at, token.user)
    return _copy(token.user)
