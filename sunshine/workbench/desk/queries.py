"""Reads the desk pages need beyond ``sunshine.applications.selectors``: the work queue of each
role, urgency order, the dashboard aggregates and the intake helpers (category proposal,
duplicate look-up, documents to bring). Each runs a fixed number of queries.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.applications import access, selectors
from sunshine.applications.models import OPEN_STATUSES, Application, IdType, StageInstance, StageStatus, Status
from sunshine.applications.services import is_well_formed_number
from sunshine.applications.validation import CAPACITY_RANGE, normalise_phone
from sunshine.calendar import workdays
from sunshine.pii.crypto import id_index, phone_index
from sunshine.processes.models import Category, Owner, StageTemplate

PAGE_SIZE = 50

# --- intake helpers ------------------------------------------------------------------------------


def propose_category(id_type: str | None, capacity: Decimal | None) -> str | None:
    """domain.md §5 (a proposal; the clerk may change it, the supply scheme decides).

    A person (resident ID) up to the low-voltage residential ceiling → low-voltage residential;
    up to the low-voltage ceiling for small and micro enterprises (160 kW) → low-voltage
    non-residential; beyond → 10 kV single supply (dual supply is a customer request, chosen by
    hand). The ceilings are the plausibility table of ``applications.validation``.
    """
    if capacity is None or capacity <= 0:
        return None
    if id_type == IdType.RESIDENT_ID and capacity <= CAPACITY_RANGE[Category.LV_RESIDENTIAL][1]:
        return Category.LV_RESIDENTIAL
    if capacity <= CAPACITY_RANGE[Category.LV_NON_RESIDENTIAL][1]:
        return Category.LV_NON_RESIDENTIAL
    return Category.HV_SINGLE


def _identity(id_number: str) -> Q:
    """Customers with this ID number, through its blind index. Both ID types are named so that
    the (id_type, id_number_index) unique index serves the look-up."""
    return Q(customer__id_type__in=IdType.values, customer__id_number_index=id_index(id_number))


def possible_duplicates(*, id_number: str = "", address: str = "", limit: int = 5) -> list[Application]:
    """Open applications of the same identity number or at the same address (1 query)."""
    cond = Q()
    if id_number:
        cond |= _identity(id_number)
    if address:
        cond |= Q(address=address.strip())
    if not cond:
        return []
    return list(
        Application.objects.filter(cond, status__in=OPEN_STATUSES)
        .select_related("customer_manager")
        .order_by("accepted_at")[:limit]
    )


@dataclass(frozen=True)
class DuplicateNotice:
    """One possible duplicate as the clerk or manager at the counter may see it: the case itself
    when they may open it; otherwise only that it exists and whom to ask (its manager's name and
    work phone), nothing of its content (no number, customer, address or status)."""

    readable: bool
    number: str = ""
    customer_name: str = ""
    address: str = ""
    status_label: str = ""
    manager_name: str = ""
    manager_phone: str = ""


def duplicate_notices(user: User, duplicates: list[Application]) -> list[DuplicateNotice]:
    out = []
    for d in duplicates:
        m = d.customer_manager
        manager = {"manager_name": m.display_name, "manager_phone": m.work_phone} if m is not None else {}
        if access.can_view(user, d):
            out.append(
                DuplicateNotice(
                    True,
                    number=d.number,
                    customer_name=d.customer_name,
                    address=d.address,
                    status_label=d.get_status_display(),
                    **manager,
                )
            )
        else:
            out.append(DuplicateNotice(False, **manager))
    return out


def documents_still_missing(app: Application) -> list[str]:
    """The 一次性告知 list of the documents app."""
    from sunshine.documents.services import missing_documents

    return [str(d) for d in missing_documents(app)]


def already_accepted(scope: str, key: str | None) -> bool:
    """This form (its idempotency key) was accepted before: the intake service replays it."""
    from sunshine.applications.models import IdempotencyRecord

    return bool(key) and IdempotencyRecord.objects.filter(scope=scope, key=key).exists()


# --- stage names ---------------------------------------------------------------------------------


def stage_names() -> dict[str, str]:
    """Stage code → name in the current language (1 query over the templates)."""
    en = (get_language() or "").startswith("en")
    names: dict[str, str] = {}
    for code, zh, en_name in StageTemplate.objects.order_by("process__category", "position").values_list(
        "code", "name_zh", "name_en"
    ):
        names.setdefault(code, en_name if en else zh)
    return names


# --- work queues ---------------------------------------------------------------------------------


def _acting_stages(role: str) -> Q:
    """Applications whose current stage names ``role`` among its actors (1 query over templates)."""
    pairs = [
        (pid, code)
        for pid, code, roles in StageTemplate.objects.values_list("process_id", "code", "actor_roles")
        if role in (roles or [])
    ]
    cond = Q(pk__in=[])
    for pid, code in pairs:
        cond |= Q(process_id=pid, current_stage=code)
    return cond


def queue_scope(user: User) -> QuerySet[Application]:
    """The open applications waiting for ``user``.

    A customer manager: their own. An engineer or a clerk: those whose current stage their role
    acts on (reviews and inspections; acceptance and the customer-side steps). A leader, an
    auditor or an administrator: every one in their scope.
    """
    qs = access.visible_applications(user).filter(status__in=OPEN_STATUSES)
    if user.role in (Role.ENGINEER, Role.CLERK):
        qs = qs.filter(_acting_stages(user.role))
    return qs


def _current_deadline() -> Subquery:
    return Subquery(
        StageInstance.objects.filter(
            application=OuterRef("pk"),
            status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED],
            owner=Owner.UTILITY,
        ).values("deadline")[:1]
    )


def by_urgency(qs: QuerySet[Application]) -> QuerySet[Application]:
    """Overdue first, then by deadline (a paused clock after running ones, customer steps last)."""
    return qs.annotate(
        _deadline=_current_deadline(),
        _paused=Case(When(status=Status.PAUSED, then=Value(1)), default=Value(0), output_field=IntegerField()),
    ).order_by("_paused", F("_deadline").asc(nulls_last=True), "accepted_at", "pk")


class _Fingerprint(Aggregate):
    """A fingerprint of the audit heads of the rows, whatever their order: on PostgreSQL the XOR
    of a 64-bit hash of each (``bit_xor(hashtextextended(…))``), elsewhere the heads themselves
    joined (hashed by ``count_and_fingerprint``)."""

    function = "BIT_XOR"
    template = "BIT_XOR(HASHTEXTEXTENDED(%(expressions)s, 0))"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="GROUP_CONCAT(%(expressions)s, ',')", **extra)


def count_and_fingerprint(qs: QuerySet[Application]) -> tuple[int, str]:
    """How many applications ``qs`` holds and a fingerprint of their audit heads (one query):
    every change of an application moves its audit head, so any change of any of them, one
    leaving or one joining, gives another fingerprint (what a kept queue page is keyed by,
    ``sunshine/workbench/desk/kept.py``)."""
    got = qs.order_by().aggregate(n=Count("pk"), fingerprint=_Fingerprint("audit_head"))
    value = got["fingerprint"]
    if isinstance(value, str):
        value = hashlib.sha256(",".join(sorted(value.split(","))).encode()).hexdigest()[:32]
    return int(got["n"]), str(value)


def queue_scopes(user: User) -> list[str] | None:
    """The stamps (``QueueStamp.scope``) whose changes are all the changes of ``user``'s queue:
    a customer manager's own (``m<id>``), for the other roles their units' (``u<id>``, the subtree
    of their unit: a superset of an engineer's or a clerk's queue, which only some stages list).
    None when the queue has no stamps to name it (no unit, or not a staff role)."""
    if user.role == Role.CUSTOMER_MANAGER:
        return [f"m{user.pk}"]
    if user.unit_id is None or user.role not in access.STAFF_ROLES:
        return None
    ids = units.tree().below(user.unit_id)
    return [f"u{pk}" for pk in ids] if ids else None


def _stamps_sql(n: int) -> str:
    marks = ", ".join(["%s"] * n)
    return f"SELECT COALESCE(SUM(n), 0) FROM applications_queuestamp WHERE scope IN ({marks})"  # noqa: S608 (placeholders)


def queue_version(user: User) -> tuple[Any, ...]:
    """The version of ``user``'s whole queue (``queue_scope``, no filter): every filter and page of
    it lists some of its applications, chosen by their own rows, the day and the calendar, so this
    names the version of each. The sum of the stamps of its scopes, every shard of each
    (``queue_scopes``; one statement over at most ``QueueStamp.SHARDS`` rows per scope by primary
    key, whatever the number of open applications): a trigger bumps one of them with every write
    of an application row, in the writer's transaction (``applications.QueueStamp``), so a change
    of a listed application, one joining or one leaving gives a greater sum as soon as it commits.
    Without stamps to read, the count and fingerprint of the queue's applications
    (``count_and_fingerprint``)."""
    scopes = queue_scopes(user)
    if scopes is None:
        return ("fingerprint", *count_and_fingerprint(queue_scope(user)))
    with connection.cursor() as cursor:
        cursor.execute(_stamps_sql(len(scopes)), scopes)
        row = cursor.fetchone()
    return ("stamps", user.unit_id, int(row[0]) if row else 0)


def due_soon_limit(today: date) -> date:
    """The last deadline that counts as due soon: at most one working day left."""
    return workdays.add_working_days(today, 1)


def due_soon_ids(today: date) -> QuerySet[StageInstance, int]:
    return StageInstance.objects.filter(
        status=StageStatus.IN_PROGRESS,
        owner=Owner.UTILITY,
        deadline__gte=today,
        deadline__lte=due_soon_limit(today),
        application__status=Status.IN_PROGRESS,
    ).values_list("application_id", flat=True)


_ID_RE = re.compile(r"^[0-9A-Z]{18}$")


def search(qs: QuerySet[Application], text: str) -> QuerySet[Application]:
    """By number (exact, or a prefix of at least 8 characters), phone or ID number (exact), or
    the beginning of the customer's name."""
    text = (text or "").strip()
    if not text:
        return qs
    upper = text.upper()
    if is_well_formed_number(upper):
        return qs.filter(number=upper)
    if upper.startswith("YK") and upper[2:].isdigit():
        return qs.filter(number__startswith=upper) if len(upper) >= 8 else qs.none()
    phone = normalise_phone(text)
    if phone:
        return qs.filter(contact_phone_index=phone_index(phone))
    if _ID_RE.match(upper):
        return qs.filter(_identity(upper))
    return qs.filter(customer_name__startswith=text)


@dataclass(frozen=True)
class QueueFilters:
    category: str = ""
    stage: str = ""
    overdue: bool = False
    due_soon: bool = False
    key_project: bool = False
    paused: bool = False
    manager: str = ""
    q: str = ""
    unit: str = ""  # a unit's code: it and everything below it (within the viewer's scope)

    @classmethod
    def from_query(cls, params: Any) -> QueueFilters:
        def flag(name: str) -> bool:
            return params.get(name, "") in {"1", "on", "true", "yes"}

        category = params.get("category", "")
        return cls(
            category=category if category in Category.values else "",
            stage=params.get("stage", "")[:40],
            overdue=flag("overdue"),
            due_soon=flag("due_soon"),
            key_project=flag("key_project"),
            paused=flag("paused"),
            manager=params.get("manager", "")[:150],
            q=params.get("q", "")[:100],
            unit=params.get("unit", "")[:40],
        )

    def apply(self, qs: QuerySet[Application], today: date) -> QuerySet[Application]:
        qs = selectors.filter_applications(
            qs,
            category=self.category or None,
            stage=self.stage or None,
            overdue=True if self.overdue else None,
            customer_manager=self.manager or None,
            key_project=True if self.key_project else None,
            today=today,
        )
        if self.due_soon:
            qs = qs.filter(pk__in=due_soon_ids(today))
        if self.paused:
            qs = qs.filter(status=Status.PAUSED)
        if self.unit:
            qs = in_unit(qs, self.unit)
        return search(qs, self.q)

    def active(self) -> bool:
        return any(
            [self.category, self.stage, self.overdue, self.due_soon, self.key_project, self.paused, self.q, self.unit]
        )


def in_unit(qs: QuerySet[Application], code: str) -> QuerySet[Application]:
    """``qs`` narrowed to the unit ``code`` and everything below it (none for an unknown code);
    it only narrows: the caller's scope is applied before."""
    tree = units.tree()
    node = tree.by_code(code)
    if node is None:
        return qs.none()
    if tree.is_top(node.id):
        return qs
    return qs.filter(unit__in=tree.below(node.id))


# --- dashboard -----------------------------------------------------------------------------------


def dashboard_units(user: User, code: str) -> tuple[units.Node | None, list[units.Node]]:
    """The unit a dashboard shows (``code`` when it is within ``user``'s unit, else theirs) and the
    units its selector offers (the user's unit and everything below it, by path)."""
    tree = units.tree()
    own = tree.nodes.get(user.unit_id) if user.unit_id is not None else None
    if own is None:
        return None, []
    chosen = tree.by_code(code) if code else None
    if chosen is None or not tree.within(chosen.id, own.id):
        chosen = own
    choices = sorted((tree.nodes[i] for i in tree.below(own.id)), key=lambda n: n.path)
    return chosen, choices


def dashboard(user: User, today: date, unit: units.Node | None = None) -> dict[str, Any]:
    """Open, due-soon and overdue counts in total, by stage, by customer manager, by category and
    by the units directly below ``unit`` (each with everything below it), of ``unit``'s subtree
    within what ``user`` sees (one aggregate query each)."""
    base = access.visible_applications(user).filter(status__in=OPEN_STATUSES)
    if unit is not None:
        base = in_unit(base, unit.code)
    overdue_ids = selectors.overdue_application_ids(today)
    soon_ids = due_soon_ids(today)
    counts = {
        "open": Count("pk"),
        "due_soon": Count("pk", filter=Q(pk__in=soon_ids)),
        "overdue": Count("pk", filter=Q(pk__in=overdue_ids)),
        "paused": Count("pk", filter=Q(status=Status.PAUSED)),
        "key": Count("pk", filter=Q(key_project=True)),
    }
    totals = base.aggregate(**counts)
    grouped: Any = base  # values() rows are plain dicts here (the labels are added below)
    by_stage: list[dict[str, Any]] = list(grouped.values("current_stage").annotate(**counts).order_by("current_stage"))
    by_manager: list[dict[str, Any]] = list(
        grouped.values("customer_manager__username", "customer_manager__last_name", "customer_manager__first_name")
        .annotate(**counts)
        .order_by("-overdue", "-open", "customer_manager__username")
    )
    by_category: list[dict[str, Any]] = list(grouped.values("category").annotate(**counts).order_by("category"))
    names = stage_names()
    labels = dict(Category.choices)
    for row in by_stage:
        row["label"] = names.get(row["current_stage"] or "", row["current_stage"] or "-")
    for row in by_manager:
        full = (row["customer_manager__last_name"] or "") + (row["customer_manager__first_name"] or "")
        row["label"] = full or row["customer_manager__username"] or _("Not assigned")
        row["username"] = row["customer_manager__username"] or ""
    for row in by_category:
        row["label"] = str(labels.get(row["category"], row["category"]))
    key_projects = selectors.list_rows(by_urgency(base.filter(key_project=True))[:20], today)
    by_unit = _by_child_unit(grouped, counts, unit) if unit is not None else []
    return {
        "totals": totals,
        "by_unit": by_unit,
        "by_stage": by_stage,
        "by_manager": by_manager,
        "by_category": by_category,
        "key_projects": key_projects,
        "stage_names": names,
    }


def _by_child_unit(base: Any, counts: dict[str, Any], unit: units.Node) -> list[dict[str, Any]]:
    """The counts of ``base`` per unit directly below ``unit``, each summing its subtree (one
    grouped query; empty when ``unit`` has none below it)."""
    tree = units.tree()
    children = tree.children(unit.id)
    if not children:
        return []
    rows = {r["unit"]: r for r in base.values("unit").annotate(**counts).order_by("unit")}
    out = []
    for child in children:
        below = tree.below(child.id)
        out.append(
            {
                "code": child.code,
                "label": child.name,
                **{k: sum(rows[i][k] for i in below if i in rows) for k in ("open", "due_soon", "overdue")},
            }
        )
    return out


def dashboard_rows_by_manager(base: QuerySet[Application], today: date) -> list[dict[str, Any]]:
    overdue_ids = selectors.overdue_application_ids(today)
    soon_ids = due_soon_ids(today)
    managers: Any = User.objects.filter(role=Role.CUSTOMER_MANAGER)
    rows: list[dict[str, Any]] = list(
        managers.annotate(
            open=Count("managed_applications", filter=Q(managed_applications__in=base)),
            due_soon=Count(
                "managed_applications",
                filter=Q(managed_applications__in=base, managed_applications__pk__in=soon_ids),
            ),
            overdue=Count(
                "managed_applications",
                filter=Q(managed_applications__in=base, managed_applications__pk__in=overdue_ids),
            ),
        )
        .order_by("-overdue", "-open", "username")
        .values(
            "username", "last_name", "first_name", "is_active", "accepts_assignments", "open", "due_soon", "overdue"
        )
    )
    for row in rows:
        row["label"] = (row["last_name"] + row["first_name"]).strip() or row["username"]
    return rows


def active_managers() -> list[User]:
    return list(User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True).order_by("username"))
