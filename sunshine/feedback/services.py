"""State changes of supervision cases (稽查), follow-up calls (回访) and visits (走访).

Each function runs in one transaction, locks the row it changes, and writes an Event on the
application's timeline (through ``events.record``) when the change concerns an application.
Bad input raises ``ValidationFailed`` (field → messages) or a ``DomainError`` subclass and
changes nothing. Role checks are here too (``require_*``), so the API and the pages agree.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.accounts.models import Role, User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Pause
from sunshine.calendar import workdays
from sunshine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sunshine.feedback.models import (
    AttemptResult,
    CaseKind,
    CaseNote,
    CaseSource,
    CaseStatus,
    Finding,
    FollowUp,
    FollowUpAttempt,
    FollowUpOutcome,
    FollowUpStatus,
    SupervisionCase,
    Visit,
    VisitAction,
    VisitStatus,
)

CASE_ROLES: set[str] = {Role.AUDITOR, Role.ADMIN}  # investigate and decide cases
CASE_READ_ROLES: set[str] = {Role.AUDITOR, Role.ADMIN, Role.LEADER}
FOLLOWUP_ROLES: set[str] = {Role.CLERK, Role.ADMIN}
VISIT_ROLES: set[str] = {Role.CUSTOMER_MANAGER, Role.LEADER, Role.ADMIN, Role.CLERK}

UNKNOWN_STAFF = gettext_lazy("No such staff member.")

# The kind of case each source opens when the caller does not say.
DEFAULT_KIND = {
    CaseSource.COMPLAINT: CaseKind.COMPLAINT,
    CaseSource.STAFF: CaseKind.COMPLAINT,
    CaseSource.PAUSE_CONTEST: CaseKind.PAUSE_CONTEST,
    CaseSource.CONCENTRATION: CaseKind.STEERING,
    CaseSource.FOLLOWUP: CaseKind.STEERING,
    CaseSource.CHOICE: CaseKind.STEERING,
}


# --- helpers ----------------------------------------------------------------------------------


def _notify_staff(
    users: Sequence[User], template: str, context: dict[str, Any], *, application: Application | None = None, key: str
) -> int:
    from sunshine.notifications.services import notify_staff

    if not users:
        return 0
    return int(notify_staff(list(users), template, context, application=application, key=key))


def _notify_customer(application: Application, template: str, context: dict[str, Any], *, key: str) -> int:
    from sunshine.notifications.services import notify_customer

    return int(notify_customer(application, template, context, key=key))


def _require(user: User | None, roles: set[str]) -> None:
    if user is None or not user.is_active or user.role not in roles:
        raise Forbidden(_("Your role may not do this."))


def _text(value: str | None) -> str:
    return (value or "").strip()


def record_language() -> translation.override:
    """Texts stored on records (case subjects, reminders) are in the installation's language,
    whatever language the person whose action wrote them reads the pages in."""
    return translation.override(settings.LANGUAGE_CODE)


def new_tracking_number(on: date) -> str:
    """``JC`` + yyyymmdd + 6 random digits (unguessable: complainants look their case up by it)."""
    while True:
        number = f"JC{on:%Y%m%d}{secrets.randbelow(10**6):06d}"
        if not SupervisionCase.objects.filter(tracking_number=number).exists():
            return number


# --- supervision cases ------------------------------------------------------------------------


def open_case(
    *,
    source: str,
    subject: str,
    details: str,
    application: Application | None = None,
    manager: User | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    actor: User | None = None,
    kind: str | None = None,
    pause: Pause | None = None,
    dedupe_key: str | None = None,
) -> SupervisionCase:
    """Open a supervision case for the auditors; its time limit is
    ``SUNSHINE_CASE_TIME_LIMIT_DAYS`` working days from today. The application's manager is the
    default ``manager``. With ``dedupe_key``, a second call returns the first case unchanged."""
    errors: dict[str, list[str]] = {}
    if source not in CaseSource.values:
        errors["source"] = [_("Choose one of: %(allowed)s.") % {"allowed": ", ".join(CaseSource.values)}]
    kind = kind or DEFAULT_KIND.get(source)  # type: ignore[call-overload]
    if kind not in CaseKind.values:
        errors["kind"] = [_("Choose one of: %(allowed)s.") % {"allowed": ", ".join(CaseKind.values)}]
    subject = _text(subject)
    if not subject:
        errors["subject"] = [_("Give the case a subject.")]
    elif len(subject) > 200:
        errors["subject"] = [_("At most 200 characters.")]
    if len(details or "") > 5000:
        errors["details"] = [_("At most 5000 characters.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if application is not None:
            application = Application.objects.select_for_update().get(pk=application.pk)
        if dedupe_key:
            existing = SupervisionCase.objects.filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        if manager is None and application is not None:
            manager = application.customer_manager
        now = timezone.now()
        today = timezone.localdate(now)
        limit = settings.SUNSHINE_CASE_TIME_LIMIT_DAYS
        case = SupervisionCase.objects.create(
            tracking_number=new_tracking_number(today),
            source=source,
            kind=kind,
            subject=subject,
            details=_text(details),
            application=application,
            manager=manager,
            pause=pause,
            reporter_name=_text(reporter_name)[:100],
            reporter_phone=_text(reporter_phone)[:20],
            opened_at=now,
            opened_on=today,
            opened_by=actor,
            time_limit_days=limit,
            due_on=workdays.add_working_days(today, limit),
            dedupe_key=dedupe_key,
        )
        if application is not None:
            ev.record(
                [
                    ev.new(
                        application,
                        EventType.CASE_OPENED,
                        now,
                        actor,
                        tracking_number=case.tracking_number,
                        source=source,
                        kind=kind,
                        due_on=case.due_on.isoformat(),
                    )
                ]
            )
        auditors = list(User.objects.filter(role=Role.AUDITOR, is_active=True).order_by("username"))
        _notify_staff(
            auditors,
            "case_opened",
            {
                "tracking_number": case.tracking_number,
                "subject": case.subject,
                "source": case.get_source_display(),
                "number": application.number if application else "",
                "due_on": case.due_on.isoformat(),
            },
            application=application,
            key=f"case_opened:{case.tracking_number}",
        )
    return case


def contest_pause(number: str, phone_tail: str, text: str) -> SupervisionCase:
    """申诉: the customer says the current (or last) pause of ``number`` is not their fault.

    The number and the last four digits of the contact phone must match (``NotFound`` otherwise,
    the same answer as an unknown number); a pause can be contested once while its case is open.
    """
    text = _text(text)
    if not text:
        raise ValidationFailed({"text": [_("Say why the pause is not your fault.")]})
    if len(text) > 2000:
        raise ValidationFailed({"text": [_("At most 2000 characters.")]})
    tail = _text(phone_tail)
    with transaction.atomic(), record_language():
        app = (
            Application.objects.select_for_update(of=("self",))
            .select_related("customer_manager")
            .filter(number=_text(number).upper())
            .first()
        )
        if app is None or len(tail) != 4 or not tail.isdigit() or not app.contact_phone.endswith(tail):
            raise NotFound(_("No application matches this number and phone number ending."), "application_not_found")
        pause = Pause.objects.filter(application=app).order_by("-started_at", "-id").first()
        if pause is None:
            raise Conflict(_("This application has never been paused."), "no_pause")
        if SupervisionCase.objects.filter(pause=pause, status=CaseStatus.OPEN).exists():
            raise Conflict(_("This pause is already contested; the auditors are looking into it."), "already_contested")
        return open_case(
            source=CaseSource.PAUSE_CONTEST,
            kind=CaseKind.PAUSE_CONTEST,
            subject=_("The customer contests the pause of %(date)s (%(reason)s)")
            % {"date": pause.started_on.isoformat(), "reason": pause.get_reason_code_display()},
            details=text,
            application=app,
            reporter_name=app.customer_name,
            reporter_phone=app.contact_phone,
            pause=pause,
        )


def _lock_case(case_id: int) -> SupervisionCase:
    case = SupervisionCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such case."), "case_not_found")
    return case


def add_case_note(case_id: int, actor: User, text: str) -> CaseNote:
    """Append an investigation note (notes are never edited or removed)."""
    _require(actor, CASE_ROLES)
    text = _text(text)
    if not text:
        raise ValidationFailed({"text": [_("Write the note.")]})
    with transaction.atomic():
        case = _lock_case(case_id)
        if not case.is_open:
            raise Conflict(_("This case is closed."), "case_closed")
        return CaseNote.objects.create(case=case, at=timezone.now(), author=actor, text=text)


def decide_case(case_id: int, actor: User, *, finding: str, action_taken: str) -> SupervisionCase:
    """Close a case with its finding; only an upheld finding counts in the evaluation."""
    _require(actor, CASE_ROLES)
    errors: dict[str, list[str]] = {}
    if finding not in Finding.values:
        errors["finding"] = [_("Choose upheld or not upheld.")]
    action_taken = _text(action_taken)
    if not action_taken:
        errors["action_taken"] = [_("Say what was done (or why nothing needs to be done).")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        case = _lock_case(case_id)
        if not case.is_open:
            raise Conflict(_("This case is closed."), "case_closed")
        now = timezone.now()
        case.status = CaseStatus.CLOSED
        case.finding = finding
        case.action_taken = action_taken
        case.closed_at = now
        case.closed_on = timezone.localdate(now)
        case.closed_by = actor
        case.save(update_fields=["status", "finding", "action_taken", "closed_at", "closed_on", "closed_by"])
        if case.application_id is not None:
            app = Application.objects.select_for_update().get(pk=case.application_id)
            data: dict[str, Any] = {"tracking_number": case.tracking_number, "finding": finding}
            events = [ev.new(app, EventType.CASE_DECIDED, now, actor, kind=case.kind, **data)]
            if case.source == CaseSource.PAUSE_CONTEST:
                events.append(
                    ev.new(
                        app,
                        EventType.PAUSE_CONTEST_DECIDED,
                        now,
                        actor,
                        pause_started_on=case.pause.started_on.isoformat() if case.pause else None,
                        action_taken=action_taken,
                        **data,
                    )
                )
            ev.record(events)
    return case


# --- follow-up calls ---------------------------------------------------------------------------


def _open_followup_load() -> dict[int, int]:
    return dict(
        FollowUp.objects.filter(status=FollowUpStatus.OPEN, assigned_to__isnull=False)
        .values_list("assigned_to")
        .annotate(n=Count("id"))
        .values_list("assigned_to", "n")
    )


def schedule_followups(
    application_ids: Iterable[int], at: datetime | None = None, *, at_of: dict[int, datetime] | None = None
) -> list[FollowUp]:
    """Create the follow-up calls of newly connected applications (set-based; idempotent).

    Each goes to the active clerk with the fewest open calls (ties: lowest username) who is not
    the application's customer manager; it is due ``SUNSHINE_FOLLOWUP_DUE_DAYS`` working days
    after connection (``at``, or per application ``at_of``: each one's moment of connection).
    The clerk and the customer are notified.
    """
    ids = sorted(set(application_ids))
    if not ids:
        return []
    at = at or timezone.now()
    at_of = at_of or {}
    taken = set(FollowUp.objects.filter(application_id__in=ids).values_list("application_id", flat=True))
    apps = list(
        Application.objects.filter(pk__in=[i for i in ids if i not in taken]).select_related("customer_manager")
    )
    if not apps:
        return []
    clerks = list(User.objects.filter(role=Role.CLERK, is_active=True).order_by("username"))
    load = _open_followup_load()
    made: list[FollowUp] = []
    for app in apps:
        eligible = [c for c in clerks if c.pk != app.customer_manager_id]
        clerk = min(eligible, key=lambda c: (load.get(c.pk, 0), c.username)) if eligible else None
        if clerk is not None:
            load[clerk.pk] = load.get(clerk.pk, 0) + 1
        connected = at_of.get(app.pk, at)
        due_on = workdays.add_working_days(timezone.localdate(connected), settings.SUNSHINE_FOLLOWUP_DUE_DAYS)
        made.append(
            FollowUp(
                application=app, manager=app.customer_manager, assigned_to=clerk, created_at=connected, due_on=due_on
            )
        )
    FollowUp.objects.bulk_create(made)
    for f in made:
        app = f.application
        due = f.due_on
        if f.assigned_to is not None:
            _notify_staff(
                [f.assigned_to],
                "followup_assigned",
                {"number": app.number, "customer_name": app.customer_name, "due_on": due.isoformat()},
                application=app,
                key=f"followup_assigned:{app.number}",
            )
        _notify_customer(
            app,
            "followup_coming",
            {"number": app.number, "customer_name": app.customer_name},
            key=f"followup_coming:{app.number}",
        )
    return made


def can_work_followup(user: User, followup: FollowUp) -> bool:
    if not user.is_active or user.role not in FOLLOWUP_ROLES:
        return False
    if followup.manager_id is not None and followup.manager_id == user.pk:
        return False  # never the application's own manager
    if user.role == Role.ADMIN:
        return True
    return followup.assigned_to_id in (None, user.pk)


def _lock_followup(followup_id: int, actor: User) -> FollowUp:
    followup = FollowUp.objects.select_for_update().filter(pk=followup_id).first()
    if followup is None:
        raise NotFound(_("No such follow-up call."), "followup_not_found")
    if not can_work_followup(actor, followup):
        raise Forbidden(_("This follow-up call is assigned to someone else."))
    if followup.status != FollowUpStatus.OPEN:
        raise Conflict(_("This follow-up call is already closed."), "followup_closed")
    return followup


def record_attempt(followup_id: int, actor: User, *, result: str, note: str = "") -> FollowUp:
    """An unanswered call. After ``SUNSHINE_FOLLOWUP_MAX_ATTEMPTS`` of them the call is closed as
    unreachable; before that it stays in the queue for a retry."""
    if result not in AttemptResult.values:
        raise ValidationFailed(
            {"result": [_("Choose one of: %(allowed)s.") % {"allowed": ", ".join(AttemptResult.values)}]}
        )
    with transaction.atomic():
        followup = _lock_followup(followup_id, actor)
        now = timezone.now()
        FollowUpAttempt.objects.create(followup=followup, at=now, by=actor, result=result, note=_text(note)[:300])
        followup.attempts += 1
        fields = ["attempts"]
        if followup.assigned_to_id is None:
            followup.assigned_to = actor
            fields.append("assigned_to")
        app = Application.objects.select_for_update().get(pk=followup.application_id)
        events = [ev.new(app, EventType.FOLLOWUP_ATTEMPT, now, actor, result=result, attempt=followup.attempts)]
        if followup.attempts >= settings.SUNSHINE_FOLLOWUP_MAX_ATTEMPTS:
            followup.status = FollowUpStatus.DONE
            followup.outcome = FollowUpOutcome.UNREACHABLE
            followup.completed_at = now
            followup.completed_on = timezone.localdate(now)
            followup.completed_by = actor
            fields += ["status", "outcome", "completed_at", "completed_on", "completed_by"]
            events.append(ev.new(app, EventType.FOLLOWUP_COMPLETED, now, actor, outcome=FollowUpOutcome.UNREACHABLE))
        followup.save(update_fields=fields)
        ev.record(events)
    return followup


@dataclass(frozen=True)
class Answers:
    """What the customer said on the call (every field required when the survey is completed)."""

    sat_overall: int | None = None
    sat_manager: int | None = None
    sat_timeliness: int | None = None
    steered_design: bool | None = None
    steered_construction: bool | None = None
    steered_supply: bool | None = None
    extra_charge: bool | None = None
    extra_charge_amount: Decimal | None = None
    extra_charge_what: str = ""
    told_once: bool | None = None
    comments: str = ""


def _check_answers(a: Answers) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("sat_overall", "sat_manager", "sat_timeliness"):
        value = getattr(a, name)
        if value is None or not 1 <= value <= 5:
            errors[name] = [_("Give a score from 1 to 5.")]
    for name in ("steered_design", "steered_construction", "steered_supply", "extra_charge", "told_once"):
        if getattr(a, name) is None:
            errors[name] = [_("Answer yes or no.")]
    if a.extra_charge:
        if a.extra_charge_amount is None or a.extra_charge_amount <= 0:
            errors["extra_charge_amount"] = [_("Give the amount charged, in yuan.")]
        if not _text(a.extra_charge_what):
            errors["extra_charge_what"] = [_("Say what the charge was for.")]
    if len(a.comments or "") > 2000:
        errors["comments"] = [_("At most 2000 characters.")]
    return errors


def complete_followup(followup_id: int, actor: User, *, outcome: str, answers: Answers | None = None) -> FollowUp:
    """Close the call with its outcome. A completed survey answering "steered" opens a steering
    case and one answering "charged extra" an overcharge case, both linked to the application
    and its manager."""
    answers = answers or Answers()
    if outcome not in (FollowUpOutcome.COMPLETED, FollowUpOutcome.REFUSED, FollowUpOutcome.WRONG_NUMBER):
        raise ValidationFailed({"outcome": [_("Choose completed, declined or wrong number.")]})
    if outcome == FollowUpOutcome.COMPLETED:
        errors = _check_answers(answers)
        if errors:
            raise ValidationFailed(errors)
    with transaction.atomic(), record_language():
        followup = _lock_followup(followup_id, actor)
        app = (
            Application.objects.select_for_update(of=("self",))
            .select_related("customer_manager")
            .get(pk=followup.application_id)
        )
        now = timezone.now()
        followup.status = FollowUpStatus.DONE
        followup.outcome = outcome
        followup.completed_at = now
        followup.completed_on = timezone.localdate(now)
        followup.completed_by = actor
        if followup.assigned_to_id is None:
            followup.assigned_to = actor
        if outcome == FollowUpOutcome.COMPLETED:
            for name in Answers.__dataclass_fields__:
                setattr(followup, name, getattr(answers, name))
            if not answers.extra_charge:
                followup.extra_charge_amount = None
                followup.extra_charge_what = ""
            followup.extra_charge_what = _text(followup.extra_charge_what)
            followup.comments = _text(followup.comments)
        followup.save()
        cases: list[SupervisionCase] = []
        if outcome == FollowUpOutcome.COMPLETED and followup.steered:
            which = [
                label
                for flag, label in (
                    (followup.steered_design, _("design unit")),
                    (followup.steered_construction, _("construction unit")),
                    (followup.steered_supply, _("equipment supplier")),
                )
                if flag
            ]
            cases.append(
                open_case(
                    source=CaseSource.FOLLOWUP,
                    kind=CaseKind.STEERING,
                    subject=_("Follow-up call of %(number)s: customer says they were steered to a %(which)s")
                    % {"number": app.number, "which": "、".join(which)},
                    details=followup.comments,
                    application=app,
                    reporter_name=app.customer_name,
                    reporter_phone=app.contact_phone,
                    actor=actor,
                    dedupe_key=f"followup:{followup.pk}:steering",
                )
            )
        if outcome == FollowUpOutcome.COMPLETED and followup.extra_charge:
            cases.append(
                open_case(
                    source=CaseSource.FOLLOWUP,
                    kind=CaseKind.OVERCHARGE,
                    subject=_("Follow-up call of %(number)s: customer was charged %(amount)s yuan for %(what)s")
                    % {
                        "number": app.number,
                        "amount": followup.extra_charge_amount,
                        "what": followup.extra_charge_what,
                    },
                    details=followup.comments,
                    application=app,
                    reporter_name=app.customer_name,
                    reporter_phone=app.contact_phone,
                    actor=actor,
                    dedupe_key=f"followup:{followup.pk}:overcharge",
                )
            )
        data: dict[str, Any] = {"outcome": outcome, "cases": [c.tracking_number for c in cases]}
        if outcome == FollowUpOutcome.COMPLETED:
            data.update(
                sat_overall=followup.sat_overall,
                sat_manager=followup.sat_manager,
                sat_timeliness=followup.sat_timeliness,
                steered=followup.steered,
                extra_charge=followup.extra_charge,
                told_once=followup.told_once,
            )
        ev.record([ev.new(app, EventType.FOLLOWUP_COMPLETED, now, actor, **data)])
    return followup


# --- contractor choices (三不指定) ----------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceRecorded:
    choice: Any  # sunshine.directory.models.ContractorChoice
    case: SupervisionCase | None  # the steering case a "suggested by staff" answer opened
    changed: bool = True  # False: the same unit with the same answer was recorded already


def steering_case_for(choice: Any, actor: User | None) -> SupervisionCase:
    """The steering case of a choice the customer says staff suggested (opened once)."""
    from sunshine.directory.models import ContractorKind

    app = choice.application
    with record_language():
        which = {
            ContractorKind.DESIGN: _("design unit"),
            ContractorKind.CONSTRUCTION: _("construction unit"),
            ContractorKind.SUPPLY: _("equipment supplier"),
        }[ContractorKind(choice.kind)]
        return open_case(
            source=CaseSource.CHOICE,
            kind=CaseKind.STEERING,
            subject=_("Contractor choice of %(number)s: the customer says staff suggested the %(which)s")
            % {"number": app.number, "which": which},
            details=_("%(which)s chosen: %(unit)s (unified social credit code %(code)s).")
            % {"which": which, "unit": choice.contractor.name, "code": choice.contractor.credit_code},
            application=app,
            manager=choice.manager,
            reporter_name=app.customer_name,
            reporter_phone=app.contact_phone,
            actor=actor,
            dedupe_key=f"choice:{app.pk}:{choice.kind}:{choice.contractor_id}",
        )


def record_choice(
    number: str,
    kind: str,
    contractor_id: int,
    actor: User | None,
    *,
    suggested_by_staff: bool,
    channel: str,
) -> ChoiceRecorded:
    """Record the unit the customer chose for ``kind`` of work with their answer to "chosen by
    myself or suggested by staff" (``sunshine.directory.services.record_contractor_choice``:
    the ``contractor_chosen`` event). "Suggested by staff" opens a steering case (稽查) about the
    manager holding the case, exactly as a follow-up call answering "steered" does; one case per
    application, kind and unit, however often it is recorded again."""
    from sunshine.directory.models import ContractorChoice
    from sunshine.directory.services import record_contractor_choice

    with transaction.atomic():
        before = ContractorChoice.objects.filter(application__number=number, kind=kind).first()
        choice = record_contractor_choice(
            number, kind, contractor_id, actor, suggested_by_staff=suggested_by_staff, channel=channel
        )
        unchanged = (
            before is not None
            and before.contractor_id == choice.contractor_id
            and before.suggested_by_staff == suggested_by_staff
        )
        case = steering_case_for(choice, actor) if suggested_by_staff and not unchanged else None
    return ChoiceRecorded(choice, case, changed=not unchanged)


#: The customer's answer to "who chose it": 我自己选择的 / 工作人员推荐的.
CHOICE_ANSWERS = {"self": False, "staff": True}


def record_choices(
    number: str, picks: Sequence[tuple[str, str, str]], actor: User | None, *, channel: str
) -> list[ChoiceRecorded]:
    """Several choices as a form posts them (the portal's and the case page's): ``picks`` are
    (kind, the unit's id as text or "", the answer "self" / "staff" / ""). A kind left empty is
    skipped; a unit needs an answer. Every problem is reported at once (fields keyed by the kind,
    ``<kind>_answer`` and ``form``) and nothing is recorded unless all are fine."""
    from sunshine.directory.services import NotQualified

    errors: dict[str, list[str]] = {}
    chosen: list[tuple[str, int, bool]] = []
    for kind, unit_text, answer in picks:
        if not unit_text:
            if answer:
                errors[kind] = [_("Choose the unit, or leave both empty.")]
            continue
        try:
            unit = int(unit_text)
        except ValueError:
            errors[kind] = [_("Choose a unit from the list.")]
            continue
        if answer not in CHOICE_ANSWERS:
            errors[f"{kind}_answer"] = [_('Answer "who chose it".')]
            continue
        chosen.append((kind, unit, CHOICE_ANSWERS[answer]))
    if not chosen and not errors:
        errors["form"] = [_("Choose at least one unit.")]
    if errors:
        raise ValidationFailed(errors)
    out = []
    with transaction.atomic():
        for kind, unit, suggested in chosen:
            try:
                out.append(record_choice(number, kind, unit, actor, suggested_by_staff=suggested, channel=channel))
            except NotQualified as exc:
                raise ValidationFailed({kind: [exc.message]}) from None
    return out


# --- customer visits ---------------------------------------------------------------------------


def plan_visit(
    actor: User,
    *,
    customer_name: str,
    visitor: User,
    planned_on: date,
    topics: str,
    contact: str = "",
    key_customer: bool = False,
    application: Application | None = None,
) -> Visit:
    _require(actor, VISIT_ROLES)
    errors: dict[str, list[str]] = {}
    if not _text(customer_name):
        errors["customer_name"] = [_("Name the customer.")]
    if not _text(topics):
        errors["topics"] = [_("List the topics of the visit.")]
    if visitor is None or not visitor.is_active or visitor.role not in VISIT_ROLES:
        errors["visitor"] = [_("Choose an active staff member.")]
    if errors:
        raise ValidationFailed(errors)
    if application is not None and application.key_project:
        key_customer = True
    return Visit.objects.create(
        customer_name=_text(customer_name)[:100],
        contact=_text(contact)[:100],
        application=application,
        key_customer=key_customer,
        visitor=visitor,
        planned_on=planned_on,
        topics=_text(topics)[:300],
        created_at=timezone.now(),
        created_by=actor,
    )


def _lock_visit(visit_id: int) -> Visit:
    visit = Visit.objects.select_for_update().filter(pk=visit_id).first()
    if visit is None:
        raise NotFound(_("No such visit."), "visit_not_found")
    return visit


def log_visit(visit_id: int, actor: User, *, visited_on: date, raised: str) -> Visit:
    """Record that the visit took place and what the customer raised."""
    _require(actor, VISIT_ROLES)
    with transaction.atomic():
        visit = _lock_visit(visit_id)
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(_("This visit is already logged or cancelled."), "visit_closed")
        if visited_on > timezone.localdate():
            raise ValidationFailed({"visited_on": [_("A visit cannot be logged before it happens.")]})
        visit.status = VisitStatus.DONE
        visit.visited_on = visited_on
        visit.raised = _text(raised)
        visit.save(update_fields=["status", "visited_on", "raised"])
        if visit.application_id is not None:
            app = Application.objects.get(pk=visit.application_id)
            ev.record([ev.new(app, EventType.VISIT_LOGGED, timezone.now(), actor, visited_on=visited_on.isoformat())])
    return visit


def add_visit_action(visit_id: int, actor: User, *, description: str, owner: User, due_on: date) -> VisitAction:
    _require(actor, VISIT_ROLES)
    errors: dict[str, list[str]] = {}
    if not _text(description):
        errors["description"] = [_("Describe the action.")]
    if owner is None or not owner.is_active or not owner.role:
        errors["owner"] = [_("Choose an active staff member.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        visit = _lock_visit(visit_id)
        if visit.status == VisitStatus.CANCELLED:
            raise Conflict(_("This visit was cancelled."), "visit_closed")
        return VisitAction.objects.create(visit=visit, description=_text(description)[:300], owner=owner, due_on=due_on)


def close_visit_action(action_id: int, actor: User, *, resolution: str) -> VisitAction:
    """Close an action: its owner, a leader or an administrator."""
    if not _text(resolution):
        raise ValidationFailed({"resolution": [_("Say how it was resolved.")]})
    with transaction.atomic():
        action = VisitAction.objects.select_for_update().filter(pk=action_id).first()
        if action is None:
            raise NotFound(_("No such action."), "visit_action_not_found")
        if actor.pk != action.owner_id and actor.role not in (Role.LEADER, Role.ADMIN):
            raise Forbidden(_("Only the action's owner may close it."))
        if action.closed_at is not None:
            raise Conflict(_("This action is already closed."), "visit_action_closed")
        action.closed_at = timezone.now()
        action.closed_by = actor
        action.resolution = _text(resolution)[:300]
        action.save(update_fields=["closed_at", "closed_by", "resolution"])
    return action


def cancel_visit(visit_id: int, actor: User) -> Visit:
    _require(actor, VISIT_ROLES)
    with transaction.atomic():
        visit = _lock_visit(visit_id)
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(_("This visit is already logged or cancelled."), "visit_closed")
        visit.status = VisitStatus.CANCELLED
        visit.save(update_fields=["status"])
    return visit
