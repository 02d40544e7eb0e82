"""Optional second step for staff sign-in: a TOTP authenticator app (RFC 6238, 6 digits, 30 s).

A staff member enrols from the workbench (``start_enrolment`` gives an unconfirmed device whose
secret the page shows as a QR code and as text; ``confirm`` with a right code turns it on).
From then on the sign-in page and the API's token endpoint ask for the current code
(``needs_code``). ``SUNSHINE_TOTP_REQUIRED_ROLES`` names roles that must enrol: their members
sign in with the password once and can do nothing but enrol until they have.

Wrong codes are counted by django-axes with the password failures (the callers send the
``user_login_failed`` signal), so five wrong codes lock the account out like five wrong
passwords. The device's own back-off is off (``OTP_TOTP_THROTTLE_FACTOR = 0``): one lockout rule.
A code is good once (the device remembers the last time step used).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from sunshine.accounts.models import User

DEVICE_NAME = "authenticator"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def is_enrolled(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def required_for(user: User) -> bool:
    """The user's role is one an administrator requires TOTP for."""
    return bool(user.role) and user.role in settings.SUNSHINE_TOTP_REQUIRED_ROLES


def needs_code(user: User) -> bool:
    """Sign-in asks this user for a code (they have a confirmed device)."""
    return is_enrolled(user)


def must_enrol(user: User) -> bool:
    """The role requires TOTP and the user has not enrolled yet."""
    return required_for(user) and not is_enrolled(user)


def start_enrolment(user: User) -> TOTPDevice:
    """The user's unconfirmed device (a new secret the first time; the same one on reloads, so
    a code from the app scanned a minute ago still works)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirm(user: User, code: str) -> bool:
    """Turn the pending device on when ``code`` is its current code; False otherwise."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("id").first()
        if device is None or not _verify(device, code):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    return True


def verify(user: User, code: str) -> bool:
    """``code`` is the current code of the user's confirmed device (and was not used before)."""
    device = confirmed_device(user)
    return device is not None and _verify(device, code)


def turn_off(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()


def _verify(device: TOTPDevice, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    return bool(device.verify_token(code))


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in: base32, in groups of four."""
    from base64 import b32encode

    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code (an ``<svg>`` element with one path; no style
    attribute, so the strict Content-Security-Policy lets it through inline)."""
    import qrcode
    import qrcode.image.svg

    image: Any = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return str(image.to_string(encoding="unicode"))
