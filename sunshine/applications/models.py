"""Customers, applications, stage instances, pauses and the append-only event log.

State changes happen only through ``sunshine.applications.services``; each one locks the
application row and writes its events in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import ServiceArea, Unit
from sunshine.applications.events import EventType
from sunshine.applications.writes import LazyColumns
from sunshine.pii.fields import BlindIndexField, EncryptedCharField
from sunshine.processes.models import Category, Owner, ProcessTemplate, StageTemplate


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("resident ID card")
    USCC = "uscc", _("unified social credit code")


class BusinessType(models.TextChoices):
    NEW_CONNECTION = "new_connection", _("new connection")
    CAPACITY_INCREASE = "capacity_increase", _("capacity increase")


class Channel(models.TextChoices):
    COUNTER = "counter", _("service hall counter")
    ONLINE = "online", _("online")
    MOBILE_APP = "mobile_app", _("mobile app")
    HOTLINE = "hotline", _("95598 hotline")


class CapacityUnit(models.TextChoices):
    KW = "kW", "kW"
    KVA = "kVA", "kVA"


class Status(models.TextChoices):
    IN_PROGRESS = "in_progress", _("in progress")
    PAUSED = "paused", _("paused")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_STATUSES = (Status.IN_PROGRESS, Status.PAUSED)


class StageStatus(models.TextChoices):
    PENDING = "pending", _("not started")
    IN_PROGRESS = "in_progress", _("in progress")
    PAUSED = "paused", _("paused")
    COMPLETED = "completed", _("completed")
    SKIPPED = "skipped", _("not required")


class Outcome(models.TextChoices):
    PASSED = "passed", _("passed")
    FAILED = "failed", _("failed")


class PauseReason(models.TextChoices):
    MISSING_DOCUMENTS = "missing_documents", _("documents incomplete")
    CUSTOMER_REQUEST = "customer_request", _("customer asked to wait")
    GOVERNMENT_APPROVAL = "government_approval", _("awaiting government approval")
    FORCE_MAJEURE = "force_majeure", _("force majeure")


class Customer(models.Model):
    id_type = models.CharField(_("ID type"), max_length=12, choices=IdType.choices)
    # Encrypted at rest (sunshine.pii); found through id_number_index, never by value.
    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_index = BlindIndexField(_("ID number (search index)"), source="id_number", kind="id")
    name = models.CharField(_("name"), max_length=100)
    phone = EncryptedCharField(_("phone"), max_length=11)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number_index"], name="customer_identity_index_unique")
        ]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name


class Application(LazyColumns, models.Model):
    lazy_columns = ("contact_phone",)  # converted when read (writes.LazyColumns)

    number = models.CharField(_("number"), max_length=20, unique=True)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    business_type = models.CharField(_("business type"), max_length=20, choices=BusinessType.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    # Code of the stage in progress or paused; None when completed or cancelled.
    current_stage = models.CharField(_("current stage"), max_length=40, null=True, blank=True)
    # No index of its own: app_customer_status (customer, status) serves every look-up by customer
    # (one index fewer for each write of the row to maintain: docs/bench.md).
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="applications", db_index=False
    )
    # The name and phone given with this application (what notices and the look-up use).
    customer_name = models.CharField(_("customer name"), max_length=100)
    contact_phone = EncryptedCharField(_("phone"), max_length=11)
    # Serves the desk's search by phone (sunshine.pii blind index).
    contact_phone_index = BlindIndexField(_("phone (search index)"), source="contact_phone", kind="phone")
    address = models.CharField(_("address"), max_length=200)
    area = models.ForeignKey(
        ServiceArea, verbose_name=_("service area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The company unit the application belongs to: chosen at intake (services.unit_for), moved
    # only by services.move_unit (event ``unit_moved``). Who sees it follows the unit tree (access.py).
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("unit"))
    requested_capacity = models.DecimalField(_("requested capacity"), max_digits=10, decimal_places=2)
    capacity_unit = models.CharField(_("unit"), max_length=4, choices=CapacityUnit.choices)
    key_project = models.BooleanField(_("key project"), default=False)
    # No index of its own: app_manager_status (customer_manager, status) serves it.
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        null=True,
        on_delete=models.PROTECT,
        related_name="managed_applications",
        db_index=False,
    )
    process = models.ForeignKey(
        ProcessTemplate, verbose_name=_("process template"), on_delete=models.PROTECT, related_name="+"
    )
    # An open application of the same customer at the same address existed at intake.
    possible_duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("possible duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # Hash of the application's latest event: the head of its audit chain (see audit.py).
    audit_head = models.CharField(_("audit chain head"), max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["customer_manager", "status"], name="app_manager_status"),
            # serves every view scoped to a unit's subtree (unit_id IN (…) and open)
            models.Index(fields=["unit", "status"], name="app_unit_status"),
            models.Index(fields=["status", "category"], name="app_status_category"),
            models.Index(fields=["accepted_at"], name="app_accepted_at"),
            models.Index(fields=["customer", "status"], name="app_customer_status"),
            # serves the reports: applications completed in a period
            models.Index(fields=["completed_at"], name="app_completed_at"),
            # serves the desk's search by phone
            models.Index(fields=["contact_phone_index"], name="app_contact_phone_index"),
            # with app_completed_at, the reports' first relevant day (reports.sections ordinals)
            # without reading the history: the oldest open application, the cancellations since
            models.Index(
                fields=["accepted_at"],
                name="app_open_accepted_at",
                condition=Q(completed_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.Index(fields=["cancelled_at"], name="app_cancelled_at", condition=Q(cancelled_at__isnull=False)),
        ]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class StageInstance(LazyColumns, models.Model):
    """One round of one stage of one application."""

    lazy_columns = ("defects",)  # converted when read (writes.LazyColumns)

    # No index of its own: stage_seq_unique (application, seq) serves every read by application,
    # in timeline order (one index fewer for each stage row written: docs/bench.md).
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="stages", db_index=False
    )
    template = models.ForeignKey(
        StageTemplate, verbose_name=_("stage template"), on_delete=models.PROTECT, related_name="+"
    )
    # Order on the timeline; a failed review inserts its new rounds after itself.
    seq = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=40)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    owner = models.CharField(_("owner"), max_length=10, choices=Owner.choices)
    status = models.CharField(_("status"), max_length=12, choices=StageStatus.choices, default=StageStatus.PENDING)
    # Copied from the template when the stage starts: later template edits do not move it.
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    # Working days covered by finished pauses (a running pause is added on read).
    paused_working_days = models.PositiveSmallIntegerField(_("working days paused"), default=0)
    # Stored for sorting and sweeps: add_working_days(started_on, limit + paused_working_days).
    deadline = models.DateField(_("due date"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("due date provisional"), default=False)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, null=True, blank=True)
    defects = models.JSONField(_("defects"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    # The customer manager who held the work while this utility stage ran: set when it starts; a
    # reassignment moves only the stages not yet completed. Evaluations, reports and statistics
    # count the stage for this person, not for whoever holds the application later.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["application", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["application", "seq"], name="stage_seq_unique"),
            models.UniqueConstraint(fields=["application", "code", "round"], name="stage_round_unique"),
        ]
        indexes = [
            # serves work queues and the overdue filter: open utility stages by deadline
            models.Index(
                fields=["deadline"],
                name="stage_open_deadline",
                condition=Q(status__in=["in_progress", "paused"], owner="utility"),
            ),
            # serves the reports: stages completed in a period (time per node, on time per node)
            models.Index(fields=["completed_on"], name="stage_completed_on", condition=Q(status="completed")),
            # with the two above: the stages open at a past day (running now, or finished after it),
            # the candidates of a report's overdue stages (reports.sections), without a table scan
            models.Index(fields=["completed_on"], name="stage_skipped_on", condition=Q(status="skipped")),
        ]
        verbose_name = _("application stage")
        verbose_name_plural = _("application stages")

    def __str__(self) -> str:
        return f"{self.application_id}:{self.code}#{self.round}"


class Pause(models.Model):
    """A customer-caused pause of one utility stage; it extends that stage's deadline."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="pauses"
    )
    stage = models.ForeignKey(StageInstance, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="pauses")
    reason_code = models.CharField(_("pause reason"), max_length=24, choices=PauseReason.choices)
    reason = models.CharField(_("reason"), max_length=500)
    started_at = models.DateTimeField(_("started at"))
    started_on = models.DateField(_("started on"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(_("working days"), null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("paused by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resumed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(ended_at__isnull=True), name="one_open_pause_per_application"
            )
        ]
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")

    def __str__(self) -> str:
        return f"{self.get_reason_code_display()} {self.started_on}–{self.ended_on or ''}"


class Event(models.Model):
    """Append-only audit trail and timeline; written in the transaction of every change."""

    # No index of its own: event_application_id (application, id) serves it (one index fewer per
    # event written). No foreign-key constraint in the database for it or ``actor`` (migration
    # 0028): the engine writes a change's events in the transaction that holds the application's
    # row lock, for the signed-in actor, and each constraint cost a check at COMMIT per event (a
    # query, a share lock on the user's row that every change by that person takes: docs/bench.md,
    # "the server's part of a transition"). Django's deletion still cascades (application: the
    # table is append-only besides, migration 0004) and protects (actor) as declared
    # (tests/test_events.py).
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    # One of the vocabulary in events.py (also a CHECK constraint: no other type can be stored).
    type = models.CharField(_("type"), max_length=40, choices=[(t.value, t.value) for t in EventType])
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    stage = models.CharField(_("stage"), max_length=40, null=True, blank=True)
    round = models.PositiveSmallIntegerField(_("round"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Tamper evidence (audit.py): the hash of the application's previous event ("" for the first)
    # and of this event's content chained to it.
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True, default="")
    hash = models.CharField(_("hash"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["application", "id"]
        indexes = [models.Index(fields=["application", "id"], name="event_application_id")]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=[t.value for t in EventType]), name="event_type_known")
        ]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.type}@{self.at:%Y-%m-%d %H:%M}"


class AuditDigest(models.Model):
    """The published fingerprint of one day's events, chained to the day before (audit.py)."""

    day = models.DateField(_("day"), unique=True)
    events = models.PositiveIntegerField(_("event count"))
    digest = models.CharField(_("check code"), max_length=64)
    previous = models.CharField(_("previous day's check code"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("daily check code")
        verbose_name_plural = _("daily check codes")

    def __str__(self) -> str:
        return f"{self.day} {self.digest[:12]}"


class IdempotencyRecord(models.Model):
    """The first answer given to an intake carrying ``Idempotency-Key``, per caller."""

    scope = models.CharField(_("scope"), max_length=150)  # "user:<id>" or "public:<blind index of the phone>"
    key = models.CharField(_("idempotency key"), max_length=200)
    request_hash = models.CharField(_("request hash"), max_length=64)
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class QueueStamp(models.Model):
    """How many times the open work of one scope has changed: ``m<user id>`` for a customer
    manager's applications, ``u<unit id>`` for a unit's. Bumped by a database trigger on every
    INSERT, UPDATE and DELETE of an application row, for the row's manager and unit before and
    after (migrations ``0022_queue_stamp``, ``0024_queue_stamp_shards``), in the change's own
    transaction: every change of an application moves its audit head, so any change of a listed
    application, one joining or one leaving a scope moves the scope's stamp when it commits. The
    work queue names its version with the sum of the stamps of its scopes
    (``workbench.desk.queries.queue_version``: a few rows by primary key instead of counting and
    fingerprinting every open application of the scope). The engine's change statement bumps
    them itself and the trigger skips it (``writes.STAMPED``, migration ``0027``).

    A scope has up to ``SHARDS`` rows: a transaction bumps the one of its transaction id modulo
    ``SHARDS`` (PostgreSQL; SQLite, with one writer at a time, has shard 0 only), so concurrent
    changes of one county (or one manager) do not wait for each other's commit on one row; the
    sum of the rows moves with each of them all the same."""

    SHARDS = 32

    pk = models.CompositePrimaryKey("scope", "shard")
    scope = models.CharField(_("scope"), max_length=24)
    shard = models.SmallIntegerField(_("shard"), default=0)
    n = models.BigIntegerField(_("changes"), default=0)

    class Meta:
        verbose_name = _("queue stamp")
        verbose_name_plural = _("queue stamps")

    def __str__(self) -> str:
        return f"{self.scope}/{self.shard}: {self.n}"


class ManagerLoad(models.Model):
    """How many open applications each customer manager has: the sum of the manager's rows.

    Kept by the engine's services in the transaction of every change that opens, closes or moves
    an application (intake, completion, cancellation, reassignment), so that assigning a new one
    to the least-loaded manager reads a few small rows per candidate instead of counting their
    applications. ``services.recount_manager_loads()`` rebuilds it after loads that bypass the
    services (generated data).

    A manager has up to ``SHARDS`` rows: a change adds its delta to the row of its transaction id
    modulo ``SHARDS`` (PostgreSQL; SQLite, with one writer at a time, has shard 0 only), so
    concurrent intakes given the same manager do not wait for each other's commit on one row
    (migration ``0026_manager_load_shards``); the sum moves with each change when it commits, so
    the count is exact as before. One shard may go below zero (an application opened on one shard
    and closed on another); the sum never does."""

    SHARDS = 16

    pk = models.CompositePrimaryKey("user_id", "shard")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.CASCADE,
        related_name="open_loads",
    )
    shard = models.SmallIntegerField(_("shard"), default=0)
    open_count = models.IntegerField(_("open applications"), default=0)

    class Meta:
        verbose_name = _("manager load")
        verbose_name_plural = _("manager loads")

    def __str__(self) -> str:
        return f"{self.user_id}/{self.shard}: {self.open_count}"


class Outbox(models.Model):
    """The reactions still owed to one recorded change (outbox.py): written in the change's
    transaction, deleted in the transaction that ran them all."""

    created_at = models.DateTimeField(_("created at"))
    # The change's events (pks, oldest first) and the stage rows it created or updated.
    events = models.JSONField(_("events"), default=list)
    stages = models.JSONField(_("stages"), default=list)
    # Not before: the creation, or the next attempt after a failure.
    due_at = models.DateTimeField(_("due at"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at", "id"], name="outbox_due")]
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")

    def __str__(self) -> str:
        return f"outbox {self.pk} ({len(self.events)} events)"


class ReactionDone(models.Model):
    """One reaction of an entry that failed in part has run: written with its effects, so a
    retry runs only the others."""

    entry = models.ForeignKey(Outbox, verbose_name=_("outbox entry"), on_delete=models.CASCADE, related_name="+")
    reaction = models.CharField(_("reaction"), max_length=200)
    at = models.DateTimeField(_("at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "reaction"], name="reaction_done_once")]
        verbose_name = _("reaction done")
        verbose_name_plural = _("reactions done")

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.reaction}"
