"""SMS backends, chosen by ``settings.SUNSHINE_SMS_BACKEND``: console, file, locmem, http.

``send_sms(phone, text, key=...)`` returns normally when the message was accepted and raises
``SmsError`` otherwise. ``key`` is the idempotency key of the message: the HTTP gateway receives it,
so a redelivery after a crash can be recognised by the gateway. The portal calls ``send_sms``
directly (one-time codes must arrive now); everything else goes through the outbox.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


class SmsError(Exception):
    """The gateway did not accept the message (worth retrying)."""


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``; shorter values keep their first and last characters."""
    digits = "".join(c for c in phone if c.isdigit()) or phone
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 3:
        return f"{digits[0]}{'*' * (len(digits) - 2)}{digits[-1]}"
    return "*" * len(digits)


@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str
    key: str


# The locmem backend's mailbox (tests read and clear it, like django.core.mail.outbox).
outbox: list[SentSms] = []
_outbox_lock = threading.Lock()


def _line(phone: str, text: str) -> str:
    return f"SMS to {mask_phone(phone)}: {text}"


def _console(phone: str, text: str, key: str) -> None:
    sys.stdout.write(_line(phone, text) + "\n")
    sys.stdout.flush()


def _file(phone: str, text: str, key: str) -> None:
    path = Path(settings.SUNSHINE_SMS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{stamp} [{key}] {_line(phone, text)}\n")


def _locmem(phone: str, text: str, key: str) -> None:
    with _outbox_lock:
        outbox.append(SentSms(phone, text, key))


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Replace ``{phone}``, ``{text}``, ``{key}`` in every string of a JSON template (no format-string
    evaluation: only these three exact placeholders are replaced)."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


def _http(phone: str, text: str, key: str) -> None:
    url = settings.SUNSHINE_SMS_HTTP_URL
    if not url:
        raise ImproperlyConfigured("SUNSHINE_SMS_HTTP_URL must be set for the http SMS backend")
    try:
        template = json.loads(settings.SUNSHINE_SMS_HTTP_TEMPLATE)
    except ValueError as e:
        raise ImproperlyConfigured(f"SUNSHINE_SMS_HTTP_TEMPLATE is not JSON: {e}") from None
    body = json.dumps(_fill(template, {"phone": phone, "text": text, "key": key}), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key}
    if settings.SUNSHINE_SMS_HTTP_AUTH_HEADER:
        headers["Authorization"] = settings.SUNSHINE_SMS_HTTP_AUTH_HEADER
    request = urllib.request.Request(url, data=body, headers=headers, method=settings.SUNSHINE_SMS_HTTP_METHOD)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=settings.SUNSHINE_SMS_HTTP_TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as e:
        raise SmsError(f"SMS gateway answered HTTP {e.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise SmsError(f"SMS gateway unreachable: {e}") from None
    if not 200 <= status < 300:
        raise SmsError(f"SMS gateway answered HTTP {status}")


BACKENDS = {"console": _console, "file": _file, "locmem": _locmem, "http": _http}


def send_sms(phone: str, text: str, *, key: str = "") -> None:
    """Send one SMS now through the configured backend; raises ``SmsError`` when it was refused."""
    name = settings.SUNSHINE_SMS_BACKEND
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise ImproperlyConfigured(f"SUNSHINE_SMS_BACKEND must be one of {sorted(BACKENDS)}, got {name!r}") from None
    backend(phone, text, key)
