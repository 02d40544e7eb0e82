"""One function per state change of an application.

Every function here runs in one transaction, locks the application row first, and writes its
events in the same transaction; the API, staff pages, portal and jobs all call these. They
raise ``DomainError`` subclasses (with a stable ``code``) and never return half-done work.
Permission checks happen in ``sunshine.applications.access`` before these are called.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.applications import events as ev
from sunshine.applications import rules, writes
from sunshine.applications.audit import chain
from sunshine.applications.events import EventType
from sunshine.applications.models import (
    OPEN_STATUSES,
    Application,
    Channel,
    Customer,
    Event,
    IdempotencyRecord,
    ManagerLoad,
    Outcome,
    Pause,
    PauseReason,
    StageInstance,
    StageStatus,
    Status,
)
from sunshine.applications.validation import IntakeData
from sunshine.caching import Recent
from sunshine.calendar import workdays
from sunshine.errors import Conflict, IdempotencyKeyReused, NotFound, ValidationFailed
from sunshine.pii.crypto import id_index
from sunshine.processes.models import Owner, ProcessTemplate, StageTemplate
from sunshine.processes.selectors import process_in_force

# --- helpers ----------------------------------------------------------------------------------


def new_number(on: date) -> str:
    """``YK`` + yymmdd + 6 random digits + a Luhn check digit: readable aloud, not guessable."""
    body = f"{on:%y%m%d}{secrets.randbelow(10**6):06d}"
    return f"YK{body}{luhn.calc_check_digit(body)}"


def is_well_formed_number(number: str) -> bool:
    return len(number) == 15 and number.startswith("YK") and number[2:].isdigit() and luhn.is_valid(number[2:])


# Read on every intake (sunshine/caching.py: this process's edits are seen at once, another
# process's within caching.SECONDS). The cached objects are shared: read-only.
# The areas as (keyword, area) pairs, areas by code and each area's keywords in order: the first
# pair whose keyword the address contains names the area match_area returns (no keyword lists
# split again on every intake).
_areas: Recent[list[tuple[str, ServiceArea]]] = Recent("service areas")
_processes: Recent[ProcessTemplate | None] = Recent("processes in force")
for _model, _cache in (
    (ServiceArea, _areas),
    (ProcessTemplate, _processes),
    (StageTemplate, _processes),
    (StageTemplate, writes.templates),
):
    _uid = f"services_{_model.__name__}_{_cache.name.replace(' ', '_')}"
    post_save.connect(_cache.changed, sender=_model, weak=False, dispatch_uid=f"{_uid}_saved")
    post_delete.connect(_cache.changed, sender=_model, weak=False, dispatch_uid=f"{_uid}_deleted")


def _process_in_force(category: str, on: date) -> ProcessTemplate | None:
    return _processes.get((category, on), lambda: process_in_force(category, on))


def _area_keywords() -> list[tuple[str, ServiceArea]]:
    return [(k, area) for area in ServiceArea.objects.order_by("code") for k in area.keyword_list()]


def match_area(address: str, areas: Iterable[ServiceArea] | None = None) -> ServiceArea | None:
    """The first area (by code) one of whose keywords the address contains."""
    if areas is not None:
        for area in areas:
            if any(k in address for k in area.keyword_list()):
                return area
        return None
    for keyword, area in _areas.get("all", _area_keywords):
        if keyword in address:
            return area
    return None


def unit_for(area: ServiceArea | None, channel: str, actor: User | None) -> int:
    """The unit a new application belongs to: its service area's unit (the top unit when no area
    matches the address); at the counter, the hall of the clerk who accepted it when that hall is
    within the area's unit."""
    tree = units.tree()
    unit_id = area.unit_id if area is not None else tree.top
    if unit_id is None:
        raise ValidationFailed({"address": [_("No company unit is set up to receive applications.")]})
    if channel == Channel.COUNTER and actor is not None and tree.within(actor.unit_id, unit_id):
        return int(actor.unit_id)  # type: ignore[arg-type]
    return unit_id


def pick_manager(area: ServiceArea | None, unit_id: int | None) -> User | None:
    """The active customer manager serving ``area`` with the fewest open applications, chosen
    within the application's unit ``unit_id``: among the managers placed in that unit; when it
    has none, in the nearest unit above it that has one (issue 19: a unit with managers of its
    own never gets another unit's manager).

    Ties go to the lowest username, so assignment is deterministic. None when nobody serves
    the area in the unit or above it (the application is then left for a leader to assign).
    ``writes.intake_rows`` is the same choice in SQL (PostgreSQL), tested to agree.
    """
    ancestors = units.tree().ancestors(unit_id)
    if not ancestors:
        return None
    serving = Q(serves_all_areas=True)
    if area is not None:
        serving |= Q(pk__in=User.areas.through.objects.filter(servicearea=area).values("user_id"))
    # The counts are kept in ManagerLoad by the services (a few small rows per candidate, summed):
    # no count over the applications per intake. The nearest unit first, then the load.
    nearness = Case(*(When(unit_id=u, then=Value(i)) for i, u in enumerate(ancestors)), output_field=IntegerField())
    load = ManagerLoad.objects.filter(user=OuterRef("pk")).values("user").annotate(n=Sum("open_count")).values("n")
    return (
        User.objects.filter(
            serving, role=Role.CUSTOMER_MANAGER, is_active=True, accepts_assignments=True, unit_id__in=ancestors
        )
        .annotate(nearness=nearness, open_count=Coalesce(Subquery(load), 0))
        .order_by("nearness", "open_count", "username")
        .first()
    )


def _adjust_loads(deltas: dict[int, int], batch: writes.Batch | None = None) -> None:
    """Add ``deltas`` (manager pk -> change) to the managers' open counts: one upsert into the
    rows of this transaction's shard (``ManagerLoad``: its id modulo ``SHARDS`` on PostgreSQL, 0
    on SQLite), rows in pk order (two transactions of the same shard touching the same managers
    lock them in the same order); with ``batch``, as a part of the change's statement."""
    rows = sorted((pk, d) for pk, d in deltas.items() if d)
    if not rows:
        return
    table = connection.ops.quote_name(ManagerLoad._meta.db_table)
    shard = f"mod(txid_current(), {ManagerLoad.SHARDS})::smallint" if connection.vendor == "postgresql" else "0"
    values = ", ".join([f"(%s, {shard}, %s)"] * len(rows))
    sql = (
        f"INSERT INTO {table} AS ml (user_id, shard, open_count) VALUES {values} "  # noqa: S608
        "ON CONFLICT (user_id, shard) DO UPDATE SET open_count = ml.open_count + excluded.open_count"
    )
    params = [v for row in rows for v in row]
    if batch is not None:
        batch.raw(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _load_change(app: Application) -> dict[int, int]:
    """What a change of ``app`` since it was locked does to the managers' open counts."""
    before_status, before_manager = getattr(app, "_locked_as", (app.status, app.customer_manager_id))
    deltas: dict[int, int] = {}
    if before_status in OPEN_STATUSES and before_manager:
        deltas[before_manager] = deltas.get(before_manager, 0) - 1
    if app.status in OPEN_STATUSES and app.customer_manager_id:
        deltas[app.customer_manager_id] = deltas.get(app.customer_manager_id, 0) + 1
    return deltas


def recount_manager_loads() -> int:
    """Rebuild every manager's open count from the applications (after data loaded without the
    services); returns the number of managers with open applications."""
    rows = (
        Application.objects.filter(status__in=OPEN_STATUSES, customer_manager__isnull=False)
        .values_list("customer_manager")
        .annotate(n=Count("id"))
        .order_by()
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A change committing meanwhile may write its delta to a shard row the DELETE below
            # would not see (new, uncommitted) while the count already includes the change:
            # counted twice. The lock waits for such changes and holds off new ones until the
            # recount commits (they then add their deltas to the recounted rows).
            table = connection.ops.quote_name(ManagerLoad._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        ManagerLoad.objects.all().delete()
        ManagerLoad.objects.bulk_create([ManagerLoad(user_id=pk, shard=0, open_count=n) for pk, n in rows])
    return len(rows)


# The rules themselves are in rules.py (shared with the synthetic data generator); the
# calendar is the process-wide one, widened on demand.
def _start(stage: StageInstance, at: datetime, today: date, app: Application) -> None:
    rules.start(stage, at, today, workdays)
    if stage.owner == Owner.UTILITY:  # who holds the work while it runs (models.StageInstance.manager)
        stage.manager_id = app.customer_manager_id


def _project(stage: StageInstance) -> None:
    rules.project(stage, workdays)


def _advance(
    app: Application,
    stages: list[StageInstance],
    done: StageInstance,
    at: datetime,
    today: date,
    actor: User | None,
    events: list[Event],
    changed: list[StageInstance],
) -> None:
    """Start the next pending stage after ``done``, or complete the application."""
    nxt = rules.next_pending(stages, done)
    if nxt is not None:
        _start(nxt, at, today, app)
        changed.append(nxt)
        app.current_stage = nxt.code
        events.append(ev.new(app, EventType.STAGE_STARTED, at, actor, nxt, deadline=_iso(nxt.deadline)))
    else:
        app.current_stage = None
        app.status = Status.COMPLETED
        app.completed_at = at
        events.append(ev.new(app, EventType.COMPLETED, at, actor))


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _lock(number: str) -> Application:
    if writes.combined():  # raw SQL, no ORM compilation (writes.lock)
        found = writes.lock(number, stages=False)
        if found is None:
            raise NotFound(_("No application with this number."), "application_not_found")
        app = found[0]
    else:
        try:
            # The manager comes along (notifications address them) without locking their row.
            app = (
                Application.objects.select_for_update(of=("self",))
                .select_related("customer_manager")
                .get(number=number)
            )
        except Application.DoesNotExist:
            raise NotFound(_("No application with this number."), "application_not_found") from None
    app._locked_as = (app.status, app.customer_manager_id)  # type: ignore[attr-defined]  # see _load_change
    return app


def _lock_with_stages(number: str) -> tuple[Application, list[StageInstance]]:
    """The locked application (``_lock``), then its stages with their templates, in timeline order.

    Two statements, not one joined ``SELECT … FOR UPDATE OF`` the application: PostgreSQL takes a
    statement's snapshot before it waits for the lock, so a joined read would hand a second
    concurrent transition the stages as they were before the first one committed."""
    if writes.combined():  # both in one round trip with BEGIN (writes.lock)
        found = writes.lock(number, stages=True)
        if found is None:
            raise NotFound(_("No application with this number."), "application_not_found")
        app, stages = found
        app._locked_as = (app.status, app.customer_manager_id)  # type: ignore[attr-defined]
        return app, stages
    app = _lock(number)
    stages = list(StageInstance.objects.filter(application=app).select_related("template").order_by("seq"))
    for stage in stages:
        stage.application = app
    return app, stages


def _current(app: Application, stages: list[StageInstance]) -> StageInstance | None:
    for s in stages:
        if s.status in (StageStatus.IN_PROGRESS, StageStatus.PAUSED):
            return s
    return None


def _require_open(app: Application) -> None:
    if app.status == Status.COMPLETED:
        raise Conflict(_("This application is already completed."), "application_closed")
    if app.status == Status.CANCELLED:
        raise Conflict(_("This application has been cancelled."), "application_closed")


_STAGE_FIELDS = [
    "status",
    "started_at",
    "started_on",
    "completed_at",
    "completed_on",
    "time_limit_days",
    "paused_working_days",
    "deadline",
    "deadline_provisional",
    "outcome",
    "defects",
    "note",
    "manager_id",  # the column: reading ``manager`` would load the user
]
_APP_FIELDS = ["status", "current_stage", "completed_at", "cancelled_at", "customer_manager"]
_APP_ROW = (*_APP_FIELDS, "audit_head")


def _save(
    app: Application, changed: list[StageInstance], events: list[Event], fields: tuple[str, ...] = _APP_ROW
) -> None:
    """Write a change planned on the locked ``app``: its stages, the application row's ``fields``
    (with the new head of its audit chain, so the chain costs no query of its own), its events,
    reactions. The row is written here only: the change's statement bumps the queue stamps from
    the row as the lock read it (``writes.Batch``)."""
    chain(events, locked=[app])
    if writes.enabled():
        # One UPDATE … FROM (VALUES …) for the changed stages, one for the application, the
        # managers' counts, the events and the outbox entry: one statement on PostgreSQL.
        rows = writes.Batch()
        rows.update(StageInstance, changed, _STAGE_FIELDS)
        rows.update(Application, [app], fields)
        _adjust_loads(_load_change(app), rows)
        # last: every caller returns right after _save (COMMIT may go with the statement)
        ev.record(events, changed, chained=True, rows=rows, last=True)
        return
    # The ORM path (the fast one's reference, tests/test_fast_writes.py): one UPDATE per stage.
    for stage in changed:
        StageInstance.objects.filter(pk=stage.pk).update(**{f: getattr(stage, f) for f in _STAGE_FIELDS})
    app.save(update_fields=list(fields))
    ev.record(events, changed, chained=True)
    _adjust_loads(_load_change(app))  # last: the managers' rows stay locked only until commit


# --- intake -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    application: Application
    replayed: bool  # True when an Idempotency-Key returned an earlier application
    # A new application's stage rows, with their templates (its API body needs no re-read).
    stages: list[StageInstance] | None = None


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def intake(
    data: IntakeData,
    actor: User | None,
    *,
    idempotency_scope: str | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> IntakeResult:
    """Accept an application from any channel; assign a customer manager.

    Through the counter the clerk has accepted in person, so ``acceptance`` completes at once;
    through any other channel it starts now and a clerk completes it after checking.
    """
    if idempotency_key and idempotency_scope:
        earlier = _replay(idempotency_scope, idempotency_key, fingerprint)
        if earlier:
            return IntakeResult(earlier, True)
    for attempt in range(4):
        try:
            app, stages = _intake_once(data, actor, idempotency_scope, idempotency_key, fingerprint)
            return IntakeResult(app, False, stages)
        except IntegrityError:
            # A number collision, a concurrent first intake of the same customer, or a concurrent
            # request with the same Idempotency-Key: look again, then retry with a new number.
            if idempotency_key and idempotency_scope:
                earlier = _replay(idempotency_scope, idempotency_key, fingerprint)
                if earlier:
                    return IntakeResult(earlier, True)
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def _replay(scope: str, key: str, fingerprint: str) -> Application | None:
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).select_related("application").first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(_("This Idempotency-Key was already used with a different request body."))
    return record.application


def _intake_once(
    data: IntakeData, actor: User | None, scope: str | None, key: str | None, fingerprint: str
) -> tuple[Application, list[StageInstance]]:
    now = timezone.now()
    today = timezone.localdate(now)
    process = _process_in_force(data.category, today)
    if process is None:
        raise ValidationFailed({"category": [_("No process is in force for this category.")]})
    templates: list[StageTemplate] = list(process.stages.all())
    area = match_area(data.address)
    unit_id = unit_for(area, data.channel, actor)
    combined = writes.combined()
    number = new_number(today)
    with transaction.atomic():
        duplicate: Application | None = None
        reserved: int | None = None
        if combined:
            # One round trip (writes.intake_rows): the customer inserted unless it exists, the
            # duplicate check, the application's key and the manager.
            customer = writes.make(
                Customer,
                {"id_type": data.id_type, "id_number": data.id_number, "name": data.customer_name, "phone": data.phone},
            )
            found = writes.intake_rows(
                customer,
                data.address,
                OPEN_STATUSES,
                area.pk if area else None,
                Role.CUSTOMER_MANAGER,
                units.tree().ancestors(unit_id),
                number,
            )
            if found is None:  # a concurrent first intake of this customer: retried by intake()
                raise IntegrityError("customer inserted concurrently")
            if not found.number_free:  # drawn again before anything fails (rare: 1 in 10⁶ per number of the day)
                for _attempt in range(3):
                    number = new_number(today)
                    if writes.number_is_free(number):
                        break
            if found.created:
                customer.pk = found.customer_pk
                customer._state.adding, customer._state.db = False, connection.alias
            else:
                # The stored customer, its contact left alone (read only if someone asks for it).
                customer = Customer.from_db(
                    connection.alias,
                    ["id", "id_type", "id_number_index"],
                    [found.customer_pk, customer.id_type, customer.id_number_index],
                )
                customer.id_number = data.id_number  # the same identity: its blind index matched
            if found.duplicate is not None:
                duplicate = Application.from_db(connection.alias, ["id", "number"], list(found.duplicate))
            manager = found.manager
            reserved = found.application_pk
        else:
            # The ID number is encrypted: the customer is found through its blind index.
            customer, created = Customer.objects.get_or_create(
                id_type=data.id_type,
                id_number_index=id_index(data.id_number),
                defaults={"id_number": data.id_number, "name": data.customer_name, "phone": data.phone},
            )
            # A later intake never rewrites an existing customer's name or phone: anyone (an
            # anonymous online applicant too) can name an ID number. The application keeps the
            # contact it was submitted with (customer_name, contact_phone below); the customer
            # record is left alone.
            if not created:
                duplicate = (
                    Application.objects.filter(customer=customer, address=data.address, status__in=OPEN_STATUSES)
                    .order_by("accepted_at")
                    .first()
                )
            manager = pick_manager(area, unit_id)
        # Built without Model.__init__'s per-field work (writes.make: the same attributes and state).
        app = writes.make(
            Application,
            {
                "id": reserved,
                "number": number,
                "category": data.category,
                "business_type": data.business_type,
                "channel": data.channel,
                "status": Status.IN_PROGRESS,
                "customer_name": data.customer_name,
                "contact_phone": data.phone,
                "address": data.address,
                "unit_id": unit_id,
                "requested_capacity": data.requested_capacity,
                "capacity_unit": data.capacity_unit,
                "key_project": data.key_project,
                "accepted_at": now,
            },
            {
                "customer": customer,
                "area": area,
                "customer_manager": manager,
                "process": process,
                "possible_duplicate_of": duplicate,
            },
        )
        stages = [
            writes.make(
                StageInstance,
                {
                    "seq": new.seq,
                    "code": new.code,
                    "round": new.round,
                    "owner": new.owner,
                    "time_limit_days": new.time_limit_days,
                },
                {"application": app, "template": new.template},
            )
            for new in rules.initial_stages(templates)
        ]
        events = [
            ev.new(
                app,
                EventType.INTAKE,
                now,
                actor,
                channel=data.channel,
                category=data.category,
                process_version=process.version,
                customer_manager=manager.username if manager else None,
                possible_duplicate_of=duplicate.number if duplicate else None,
            ),
        ]
        first = stages[0]
        _start(first, now, today, app)
        app.current_stage = first.code
        events.append(ev.new(app, EventType.STAGE_STARTED, now, actor, first, deadline=_iso(first.deadline)))
        if data.channel == Channel.COUNTER:
            first.status = StageStatus.COMPLETED
            first.completed_at, first.completed_on = now, today
            events.append(ev.new(app, EventType.STAGE_COMPLETED, now, actor, first, outcome=None))
            _advance(app, stages, first, now, today, actor, events, [])
        record = None
        if key and scope:
            record = IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint, application=app)
        opened = {manager.pk: 1} if manager is not None and app.status in OPEN_STATUSES else {}
        if combined:
            # The key is reserved, so the chain's head goes in with the row: the application, its
            # stages, the Idempotency-Key record, the manager's count, the events and the outbox
            # entry are one statement (writes.Batch).
            chain(events, locked=[app])
            rows = writes.Batch()
            rows.insert(Application, [app], with_pk=True)
            rows.insert(StageInstance, stages)
            if record is not None:
                rows.insert(IdempotencyRecord, [record])
            _adjust_loads(opened, rows)
            ev.record(events, stages, chained=True, rows=rows, last=True)
            return app, stages
        # Everything was planned on unsaved objects: one INSERT each for the application, its
        # stages and its events.
        if writes.enabled():
            writes.insert_rows(Application, [app])
            writes.insert_rows(StageInstance, stages)
        else:
            app.save(force_insert=True)
            StageInstance.objects.bulk_create(stages)
        # A new application's chain starts empty: no need to lock and read its head.
        chain(events, locked=[app])
        if writes.enabled():
            writes.update_rows(Application, [app], ("audit_head",))
        else:
            Application.objects.filter(pk=app.pk).update(audit_head=app.audit_head)
        ev.record(events, stages, chained=True)
        if record is not None:
            record.save(force_insert=True)
        _adjust_loads(opened)  # last: the manager's row stays locked only until commit
    return app, stages


# --- stage transitions --------------------------------------------------------------------------


def _current_for(app: Application, stages: list[StageInstance], code: str) -> StageInstance:
    _require_open(app)
    current = _current(app, stages)
    if current is None or current.code != code:
        raise Conflict(
            _("Stage %(code)s is not the current stage (current: %(current)s).")
            % {"code": code, "current": app.current_stage or "-"},
            "stage_conflict",
        )
    if current.status == StageStatus.PAUSED:
        raise Conflict(_("The application is paused; resume it first."), "application_paused")
    return current


def complete_stage(
    number: str,
    code: str,
    actor: User | None,
    *,
    outcome: str | None = None,
    note: str = "",
    defects: list[str] | None = None,
) -> Application:
    """Complete the current stage. A failed review or inspection sends the case back to the
    preceding customer stage (a new round) and queues a new round of itself."""
    defects = [d.strip() for d in (defects or []) if d and d.strip()]
    with transaction.atomic():
        app, stages = _lock_with_stages(number)
        if code not in {s.code for s in stages}:
            raise NotFound(_("This application has no stage %(code)s.") % {"code": code}, "stage_not_found")
        stage = _current_for(app, stages, code)
        errors: dict[str, list[str]] = {}
        if stage.template.has_outcome:
            if outcome not in Outcome.values:
                errors["outcome"] = [_("A review or inspection needs an outcome: passed or failed.")]
            elif outcome == Outcome.FAILED and not defects:
                errors["defects"] = [_("List every defect found (at least one) when the outcome is failed.")]
        elif outcome not in (None, Outcome.PASSED):
            errors["outcome"] = [_("Only review and inspection stages can fail.")]
        elif defects:
            errors["defects"] = [_("Defects apply only to review and inspection stages.")]
        if errors:
            raise ValidationFailed(errors)
        now = timezone.now()
        today = timezone.localdate(now)
        rules.complete(stage, now, today, outcome=outcome, defects=defects, note=note)
        changed = [stage]
        events = [
            ev.new(
                app,
                EventType.STAGE_COMPLETED,
                now,
                actor,
                stage,
                outcome=stage.outcome,
                defects=defects,
                note=note,
                deadline=_iso(stage.deadline),
            )
        ]
        if rules.sends_back(stage):
            _send_back(app, stages, stage, now, today, actor, events, changed)
        else:
            _advance(app, stages, stage, now, today, actor, events, changed)
        _save(app, changed, events)
    return app


def _send_back(
    app: Application,
    stages: list[StageInstance],
    failed: StageInstance,
    at: datetime,
    today: date,
    actor: User | None,
    events: list[Event],
    changed: list[StageInstance],
) -> None:
    rounds = rules.send_back(list(app.process.stages.all()), stages, failed)
    if rounds is None:
        raise Conflict(
            _("The process has no customer stage before %(code)s to return to.") % {"code": failed.code},
            "process_misconfigured",
        )
    # Make room on the timeline after the failed round for the two new rounds.
    StageInstance.objects.filter(application=app, seq__gt=failed.seq).update(seq=F("seq") + 1000)
    StageInstance.objects.filter(application=app, seq__gt=failed.seq + 1000).update(seq=F("seq") - 998)
    back, again = (StageInstance(application=app, **vars(new)) for new in rounds)
    _start(back, at, today, app)
    StageInstance.objects.bulk_create([back, again])
    app.current_stage = back.code
    events.append(
        ev.new(app, EventType.STAGE_STARTED, at, actor, back, returned_from=failed.code, defects=failed.defects)
    )


def skip_stage(number: str, code: str, actor: User | None, *, reason: str) -> Application:
    """Skip an optional stage that is current or not yet started (e.g. review not required)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Give the reason for skipping this stage.")]})
    with transaction.atomic():
        app, stages = _lock_with_stages(number)
        _require_open(app)
        # A paused current stage is a candidate too, so the answer is "application_paused".
        candidates = [
            s
            for s in stages
            if s.code == code and s.status in (StageStatus.PENDING, StageStatus.IN_PROGRESS, StageStatus.PAUSED)
        ]
        if not [s for s in stages if s.code == code]:
            raise NotFound(_("This application has no stage %(code)s.") % {"code": code}, "stage_not_found")
        if not candidates:
            raise Conflict(_("Stage %(code)s is already finished.") % {"code": code}, "stage_conflict")
        stage = candidates[0]
        if not stage.template.optional:
            raise Conflict(
                _("Stage %(code)s is not optional and cannot be skipped.") % {"code": code},
                "stage_not_optional",
            )
        if app.status == Status.PAUSED:
            raise Conflict(_("The application is paused; resume it first."), "application_paused")
        now = timezone.now()
        today = timezone.localdate(now)
        was_current = rules.skip(stage, now, today, reason)
        changed = [stage]
        events = [ev.new(app, EventType.STAGE_SKIPPED, now, actor, stage, reason=reason)]
        if was_current:
            _advance(app, stages, stage, now, today, actor, events, changed)
        _save(app, changed, events)
    return app


def pause(number: str, actor: User | None, *, reason_code: str, reason: str) -> Application:
    errors: dict[str, list[str]] = {}
    if reason_code not in PauseReason.values:
        errors["reason_code"] = [_("Choose one of: %(allowed)s.") % {"allowed": ", ".join(PauseReason.values)}]
    if not (reason or "").strip():
        errors["reason"] = [_("Describe the reason: the customer will see it.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        app, stages = _lock_with_stages(number)
        _require_open(app)
        if app.status == Status.PAUSED:
            raise Conflict(_("The application is already paused."), "already_paused")
        stage = _current(app, stages)
        if stage is None or stage.owner != Owner.UTILITY:
            raise Conflict(
                _("Only a utility stage in progress can be paused; the customer is acting now."),
                "stage_conflict",
            )
        now = timezone.now()
        today = timezone.localdate(now)
        Pause.objects.create(
            application=app,
            stage=stage,
            reason_code=reason_code,
            reason=reason.strip(),
            started_at=now,
            started_on=today,
            paused_by=actor,
        )
        stage.status = StageStatus.PAUSED
        app.status = Status.PAUSED
        _save(
            app,
            [stage],
            [ev.new(app, EventType.PAUSED, now, actor, stage, reason_code=reason_code, reason=reason.strip())],
        )
    return app


def resume(number: str, actor: User | None) -> Application:
    with transaction.atomic():
        app = _lock(number)
        _require_open(app)
        if app.status != Status.PAUSED:
            raise Conflict(_("The application is not paused."), "not_paused")
        pause_row = Pause.objects.select_related("stage").get(application=app, ended_at__isnull=True)
        stage = pause_row.stage
        now = timezone.now()
        today = timezone.localdate(now)
        days = rules.pause_days(workdays, pause_row.started_on, today)
        pause_row.ended_at, pause_row.ended_on, pause_row.working_days = now, today, days
        pause_row.resumed_by = actor
        pause_row.save(update_fields=["ended_at", "ended_on", "working_days", "resumed_by"])
        rules.resume(stage, days, workdays)
        app.status = Status.IN_PROGRESS
        _save(
            app,
            [stage],
            [
                ev.new(
                    app, EventType.RESUMED, now, actor, stage, paused_working_days=days, deadline=_iso(stage.deadline)
                )
            ],
        )
    return app


def cancel(number: str, actor: User | None, *, reason: str) -> Application:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Give the reason for cancelling.")]})
    with transaction.atomic():
        app = _lock(number)
        _require_open(app)
        now = timezone.now()
        today = timezone.localdate(now)
        changed: list[StageInstance] = []
        open_pause = Pause.objects.filter(application=app, ended_at__isnull=True).select_related("stage").first()
        if open_pause:
            days = rules.pause_days(workdays, open_pause.started_on, today)
            open_pause.ended_at, open_pause.ended_on, open_pause.working_days = now, today, days
            open_pause.resumed_by = actor
            open_pause.save(update_fields=["ended_at", "ended_on", "working_days", "resumed_by"])
            stage = open_pause.stage
            rules.resume(stage, days, workdays)
            changed.append(stage)
        stage_code = app.current_stage
        app.status = Status.CANCELLED
        app.cancelled_at = now
        app.current_stage = None
        _save(app, changed, [ev.new(app, EventType.CANCELLED, now, actor, reason=reason, stage_code=stage_code)])
    return app


def reassign(number: str, actor: User | None, *, username: str, reason: str) -> Application:
    """Give an open application to another customer manager, one of its unit or of a unit above
    it (event ``reassigned``; the running stage moves with it)."""
    reason = (reason or "").strip()
    target = User.objects.filter(username=username, role=Role.CUSTOMER_MANAGER, is_active=True).first()
    errors: dict[str, list[str]] = {}
    if target is None:
        errors["customer_manager"] = [_("No active customer manager with this username.")]
    if not reason:
        errors["reason"] = [_("Give the reason for the reassignment.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        app = _lock(number)
        _require_open(app)
        previous = app.customer_manager.username if app.customer_manager_id and app.customer_manager else None
        if app.customer_manager_id == target.pk:  # type: ignore[union-attr]
            raise Conflict(_("The application is already assigned to this customer manager."), "no_change")
        # Within the unit (issue 19): a manager takes only applications of their unit's subtree.
        if not units.tree().within(app.unit_id, target.unit_id):  # type: ignore[union-attr]
            raise ValidationFailed(
                {
                    "customer_manager": [
                        _(
                            "This customer manager works in another unit: an application goes only to "
                            "a manager of its unit or of a unit above it."
                        )
                    ]
                }
            )
        app.customer_manager = target
        now = timezone.now()
        data: dict[str, Any] = {"from": previous, "to": username, "reason": reason}
        # The running stage moves to the new manager; completed ones stay with whoever did them.
        held = StageInstance.objects.filter(
            application=app, owner=Owner.UTILITY, status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED]
        )
        moved = list(held.order_by("seq").values_list("pk", "code"))
        if moved:
            held.filter(pk__in=[pk for pk, _code in moved]).update(manager=target)
        data["stages_moved"] = [code for _pk, code in moved]
        _save(app, [], [ev.new(app, EventType.REASSIGNED, now, actor, **data)])
    return app


def move_unit(number: str, actor: User | None, *, unit_code: str, reason: str) -> Application:
    """Move an application to another unit (a staff action; event ``unit_moved``). The caller
    checks that both units are within the actor's scope (access.require_unit)."""
    reason = (reason or "").strip()
    target = units.tree().by_code(unit_code)
    errors: dict[str, list[str]] = {}
    if target is None:
        errors["unit"] = [_("No unit with this code.")]
    if not reason:
        errors["reason"] = [_("Give the reason for the move.")]
    if errors:
        raise ValidationFailed(errors)
    assert target is not None
    with transaction.atomic():
        app = _lock(number)
        _require_open(app)
        if app.unit_id == target.id:
            raise Conflict(_("The application already belongs to this unit."), "no_change")
        before = units.tree().nodes.get(app.unit_id)
        app.unit_id = target.id
        now = timezone.now()
        data: dict[str, Any] = {"from": before.code if before else "", "to": target.code, "reason": reason}
        moved = ev.new(app, EventType.UNIT_MOVED, now, actor, **data)
        _save(app, [], [moved], (*_APP_ROW, "unit"))  # the unit with the rest: one write of the row
    return app


# --- calendar edits -----------------------------------------------------------------------------


def reproject_deadlines(reason: str, actor: User | None, batch_size: int = 2000) -> int:
    """Recompute pause lengths and deadlines of every stage not yet completed after the
    calendar changed; log ``calendar_reprojected`` on each application whose deadline moved.

    Returns the number of stages whose deadline moved. Call after ``workdays.invalidate()``.
    """
    workdays.invalidate()
    moved = 0
    open_stages = (
        StageInstance.objects.filter(
            status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED],
            owner=Owner.UTILITY,
            application__status__in=OPEN_STATUSES,  # a cancelled application's clocks stay frozen
        )
        .exclude(started_on=None)
        .order_by("pk")
    )
    last_pk = 0
    while True:
        ids = list(open_stages.filter(pk__gt=last_pk).values_list("pk", "application_id")[:batch_size])
        if not ids:
            return moved
        last_pk = ids[-1][0]
        with transaction.atomic():
            # Lock the applications like every other state change, then read their stages and
            # pauses again: a resume or completion committed meanwhile is not overwritten.
            app_ids = sorted({a for _, a in ids})
            list(Application.objects.select_for_update().filter(pk__in=app_ids).order_by("pk").values_list("pk"))
            batch = list(open_stages.filter(pk__in=[pk for pk, _ in ids]))
            finished: dict[int, list[tuple[date, date]]] = {}
            for stage_id, a, b in Pause.objects.filter(stage__in=batch, ended_on__isnull=False).values_list(
                "stage_id", "started_on", "ended_on"
            ):
                if b is not None:
                    finished.setdefault(stage_id, []).append((a, b))
            now = timezone.now()
            changed: list[StageInstance] = []
            events: list[Event] = []
            for stage in batch:
                old = stage.deadline
                stage.paused_working_days = sum(rules.pause_days(workdays, a, b) for a, b in finished.get(stage.pk, []))
                _project(stage)
                if stage.deadline != old:
                    moved += 1
                    data = {"from": _iso(old), "to": _iso(stage.deadline), "reason": reason}
                    events.append(
                        ev.new_for(
                            stage.application_id,
                            EventType.CALENDAR_REPROJECTED,
                            now,
                            actor,
                            at_stage=(stage.code, stage.round),
                            **data,
                        )
                    )
                changed.append(stage)
            StageInstance.objects.bulk_update(changed, ["paused_working_days", "deadline", "deadline_provisional"])
            ev.record(events, changed)
