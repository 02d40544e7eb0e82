"""What the public pages and the public API do the same way: send a code, apply online, look up
progress, complain, contest a pause. Each parses input, throttles, then calls one domain service.

Field problems raise ``ValidationFailed`` (fields keyed like the API body); throttles raise
``Refused`` (429). Nothing is changed when either is raised.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from sunshine.accounts.services import Throttled, client_network, count_attempt, hit_limit, throttle_key
from sunshine.applications import progress, services
from sunshine.applications.models import Application, IdempotencyRecord
from sunshine.applications.validation import IntakeData, normalise_phone, validate_intake
from sunshine.errors import ValidationFailed
from sunshine.notifications import verification
from sunshine.pii.crypto import phone_index
from sunshine.portal.public.messages import code_error_message, locked_message, throttled_message

log = logging.getLogger("sunshine.portal")


class Refused(Exception):
    """Throttled (or the SMS gateway is down): ``message`` for the user, ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int | None = None, status: int = 429) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status  # 429 throttled; 503 when the SMS gateway refused the code


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"


@dataclass(frozen=True)
class CodeSent:
    masked_phone: str
    expires_in: int
    resend_after: int


def send_code(phone_raw: str, *, client_ip: str, purpose: str, field: str = "phone") -> CodeSent:
    phone = normalise_phone(phone_raw or "")
    if not phone:
        raise ValidationFailed({field: [_("Enter an 11-digit mainland mobile number starting with 1.")]})
    try:
        sent = verification.request_code(phone, client=client_network(client_ip), purpose=purpose)
    except verification.CodeError as exc:
        if exc.code == "sms_failed":
            raise Refused(code_error_message(exc), 60, status=503) from None
        raise Refused(code_error_message(exc), exc.retry_after) from None
    return CodeSent(mask_phone(phone), sent.expires_in, sent.resend_after)


def _submission(client_ip: str) -> None:
    try:
        key = throttle_key("public-submit", client_network(client_ip))
        hit_limit(key, settings.SUNSHINE_PUBLIC_SUBMISSIONS_PER_HOUR, 3600)
    except Throttled as exc:
        log.warning("public submissions throttled for client %s", verification.client_key(client_ip))
        raise Refused(throttled_message(), exc.retry_after) from None


def _check_code(phone: str, code: Any, purpose: str, field: str) -> None:
    try:
        verification.check_code(phone, code if isinstance(code, str) else "", purpose=purpose)
    except verification.CodeError as exc:
        raise ValidationFailed({field: [code_error_message(exc)]}) from None


def _online_body(
    raw: dict[str, Any], today: date
) -> tuple[dict[str, Any], IntakeData | None, Any, dict[str, list[str]]]:
    """The intake body of an online application (channel ``online``, never a key project), its
    checked data, the code sent with it and every field that is wrong."""
    body = dict(raw)
    code = body.pop("verification_code", None)
    errors: dict[str, list[str]] = {}
    if body.get("channel") not in (None, "", "online"):
        errors["channel"] = [_("An online application always comes through the channel 'online'.")]
    if body.get("key_project") not in (None, False):
        errors["key_project"] = [_("Only staff can mark a key project.")]
    body["channel"] = "online"
    body["key_project"] = False
    data = None
    try:
        data = validate_intake(body, today)
    except ValidationFailed as exc:
        errors = {**exc.fields, **errors}
    if not isinstance(code, str) or not code.strip():
        errors.setdefault("verification_code", []).append(_("Enter the 6-digit code we sent by SMS."))
    return body, data, code, errors


def online_errors(raw: dict[str, Any], today: date) -> dict[str, list[str]]:
    """Every field of an online application body that is wrong (nothing counted, nothing sent)."""
    return _online_body(raw, today)[3]


def apply_online(raw: dict[str, Any], *, client_ip: str, idempotency_key: str | None, today: date) -> Application:
    """网上办电: the API intake body plus ``verification_code``; channel ``online``, never a key
    project (a leader marks those). A retry with the same ``idempotency_key`` and body returns
    the first application, even though its code is spent."""
    _submission(client_ip)
    body, data, code, errors = _online_body(raw, today)
    if errors or data is None:
        raise ValidationFailed(errors)
    scope = f"public:{phone_index(data.phone)}"  # the phone itself is not stored in clear
    fingerprint = services.request_fingerprint(body)
    if not (idempotency_key and IdempotencyRecord.objects.filter(scope=scope, key=idempotency_key).exists()):
        _check_code(data.phone, code, verification.APPLY, "verification_code")
    result = services.intake(
        data, None, idempotency_scope=scope, idempotency_key=idempotency_key, fingerprint=fingerprint
    )
    return Application.objects.select_related("customer_manager", "process").get(pk=result.application.pk)


def lookup(number: str, phone_tail: str, *, client_ip: str) -> progress.Found | None:
    """The application matching ``number`` and the last 4 digits of its phone, or None (the
    same for an unknown number and a wrong pair). Two budgets, shared by the progress page and
    the public API: every attempt counts against the client's (an IPv6 client by its /64), and
    every wrong phone ending counts against the number's, whoever sends it; once a number has
    had too many, it is locked for a while (``Refused``, even with the right ending) and its
    customer manager is told. An unknown number is counted and locked the same way, so the lock
    tells nobody whether a number exists."""
    network = client_network(client_ip)
    number = (number or "").strip().upper()[:40].replace("\x00", "")
    locked_key = throttle_key("public-lookup-locked", number)
    # The number's lock and the client's budget in one cache round trip (sunshine/rediscache.py):
    # a locked number counts nothing against the client.
    window = settings.SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS
    count = count_attempt(throttle_key("public-lookup", network), window, unless=locked_key)
    if count is None:
        who = verification.client_key(network)
        log.warning("public progress look-up of a locked number: client %s number %r", who, number)
        raise Refused(locked_message(), settings.SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS)
    if count > settings.SUNSHINE_PUBLIC_LOOKUPS:
        log.warning("public progress look-up throttled: client %s number %r", verification.client_key(network), number)
        raise Refused(throttled_message(), window)
    found = progress.find(number)  # one row; the answer itself is kept per version (progress.py)
    if found is None or not found.phone_ends_with((phone_tail or "").strip()):
        log.info("public progress look-up missed: client %s number %r", verification.client_key(network), number)
        _count_miss(number, found, locked_key)
        return None
    return found


def _count_miss(number: str, found: progress.Found | None, locked_key: str) -> None:
    try:
        hit_limit(
            throttle_key("public-lookup-misses", number),
            settings.SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER - 1,
            settings.SUNSHINE_PUBLIC_LOOKUP_NUMBER_WINDOW_SECONDS,
        )
        return
    except Throttled:
        pass
    if not cache.add(locked_key, 1, settings.SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS):
        return  # locked already by a concurrent miss; its manager was told then
    cache.delete(throttle_key("public-lookup-misses", number))
    log.warning("public progress look-up: number %r locked after too many wrong phone endings", number)
    app = progress.application(found) if found is not None else None
    if app is not None and app.customer_manager is not None:
        from sunshine.notifications.services import notify_staff

        with transaction.atomic():
            notify_staff(
                [app.customer_manager],
                "lookup_locked",
                {
                    "misses": settings.SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER,
                    "minutes": settings.SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS // 60,
                },
                application=app,
                key=f"lookup-locked:{app.pk}:{uuid.uuid4().hex}",
            )


def contest_pause(number: str, phone_tail: str, text: str, *, client_ip: str) -> Any:
    """申诉: the customer says a pause was not their doing; a supervision case for auditors."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"text": [_("Tell us why the pause was not caused by you.")]})
    if len(text) > 1000:
        raise ValidationFailed({"text": [_("Too long: %(n)s characters at most.") % {"n": 1000}]})
    if lookup(number, phone_tail, client_ip=client_ip) is None:
        raise ValidationFailed({"number": [_("No application matches this number and phone number ending.")]})
    from sunshine.feedback.services import contest_pause as contest

    return contest((number or "").strip().upper(), (phone_tail or "").strip(), text)


COMPLAINT_KINDS = ("complaint", "steering", "overcharge", "other")


def complaint_kind_label(kind: str) -> str:
    return {
        "complaint": _("Complaint about the service"),
        "steering": _("Report of steering to a designer, builder or supplier (三不指定)"),
        "overcharge": _("Charged a fee that is not in the catalogue"),
        "other": _("Other"),
    }[kind]


def open_complaint(raw: dict[str, Any], *, client_ip: str) -> Any:
    """A complaint or report: the phone is proven by an SMS code; returns the supervision case
    (``tracking_number``, ``due_on``)."""
    errors: dict[str, list[str]] = {}
    name = str(raw.get("name") or "").strip()
    if len(name) > 100:
        errors["name"] = [_("The name is too long (100 characters at most).")]
    phone = normalise_phone(str(raw.get("phone") or ""))
    if not phone:
        errors["phone"] = [_("Enter an 11-digit mainland mobile number starting with 1.")]
    kind = str(raw.get("kind") or "")
    if kind not in COMPLAINT_KINDS:
        errors["kind"] = [_("Choose what this is about.")]
    number = str(raw.get("number") or "").strip().upper()
    if len(number) > 20:
        errors["number"] = [_("An application number has 15 characters, e.g. YK2611270000001.")]
    text = str(raw.get("text") or "").strip()
    if not text:
        errors["text"] = [_("Tell us what happened.")]
    elif len(text) > 2000:
        errors["text"] = [_("Too long: %(n)s characters at most.") % {"n": 2000}]
    code = raw.get("verification_code")
    if not isinstance(code, str) or not code.strip():
        errors["verification_code"] = [_("Enter the 6-digit code we sent by SMS.")]
    if errors:
        raise ValidationFailed(errors)
    _submission(client_ip)
    assert phone is not None
    _check_code(phone, code, verification.COMPLAINT, "verification_code")
    # An unknown number is kept in the text, not refused: the form must not tell anyone which
    # numbers exist.
    app = Application.objects.filter(number=number).first() if number else None
    details = text
    if number and app is None:
        details = f"{text}\n\n" + _("Application number given: %(number)s (not found)") % {"number": number}
    from sunshine.feedback.services import open_case

    return open_case(
        source="complaint",
        kind="complaint" if kind == "other" else kind,  # steering/overcharge count in evaluations
        subject=complaint_kind_label(kind),
        details=details,
        application=app,
        manager=app.customer_manager if app else None,
        reporter_name=name,
        reporter_phone=phone,
        actor=None,
    )


# --- contractor choices (三不指定) ---------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    kind: str
    contractor: str  # the unit's id as posted ("" when this kind is not chosen yet)
    answer: str  # "self", "staff" or ""


class Unproven(ValidationFailed):
    """The number and phone ending do not match an application (nothing recorded)."""


def record_choices(number: str, phone_tail: str, picks: list[Pick], *, client_ip: str) -> list[Any]:
    """The customer, proven by the progress look-up (number and phone ending, throttled the
    same way), records whom they chose for design, construction and supply and answers "chosen
    by myself / suggested by staff" for each (``feedback.services.record_choices``: a
    ``contractor_chosen`` event each; "suggested by staff" opens a steering case). Returns what
    was recorded (``ChoiceRecorded``), in the order of ``picks``; all or nothing."""
    from sunshine.feedback.services import record_choices as record

    if lookup(number, phone_tail, client_ip=client_ip) is None:
        raise Unproven({"form": [_("No application matches this number and phone number ending.")]})
    number = (number or "").strip().upper()
    return record(number, [(p.kind, p.contractor, p.answer) for p in picks], None, channel="portal")
