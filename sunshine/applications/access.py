"""Who may see and do what, and the one way to load an application for a user.

A customer manager sees and acts on their own applications only; every other staff role sees
the applications of its unit and every unit below it (a county leader their county, a city
leader the city, a provincial auditor everything: ``sunshine.accounts.units``); a staff member
without a unit sees none; the auditor only reads. Stage work is limited to the roles the process
template names for that stage. Views call ``access_application`` and never look an application
up by user input themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.applications.models import Application
from sunshine.errors import Forbidden, NotFound

M = TypeVar("M", bound=Model)

STAFF_ROLES = set(Role.values)

INTAKE_ROLES = {Role.ADMIN, Role.CLERK, Role.CUSTOMER_MANAGER, Role.LEADER}
PAUSE_ROLES = {Role.ADMIN, Role.CLERK, Role.CUSTOMER_MANAGER, Role.LEADER}
CANCEL_ROLES = {Role.ADMIN, Role.CUSTOMER_MANAGER, Role.LEADER}
REASSIGN_ROLES = {Role.ADMIN, Role.LEADER}
MOVE_UNIT_ROLES = {Role.ADMIN, Role.LEADER}


def is_staff_user(user: User | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in STAFF_ROLES)


def scope_to_units(qs: QuerySet[M], user: User, field: str = "unit") -> QuerySet[M]:
    """``qs`` (of any model with a unit, or reaching one through ``field``) limited to the
    subtree of ``user``'s unit: unfiltered for the one top unit, empty without a unit."""
    tree = units.tree()
    if user.unit_id is None or tree.path(user.unit_id) is None:
        return qs.none()
    if tree.is_top(user.unit_id):
        return qs
    return qs.filter(**{f"{field}__in": tree.below(user.unit_id)})


def in_scope(user: User, unit_id: int | None) -> bool:
    """Whether the unit ``unit_id`` is in ``user``'s subtree."""
    return units.tree().within(unit_id, user.unit_id)


def require_unit(user: User, unit_id: int | None) -> None:
    """Refuse a unit outside ``user``'s subtree (moving an application there, reading its figures)."""
    if not in_scope(user, unit_id):
        raise Forbidden(_("This unit is outside yours."))


def visible_applications(user: User) -> QuerySet[Application]:
    qs = Application.objects.all()
    if user.role == Role.CUSTOMER_MANAGER:
        return qs.filter(customer_manager=user)
    if user.role in STAFF_ROLES:
        return scope_to_units(qs, user)
    return qs.none()


class Scoped(Protocol):
    """What ``can_view`` reads of an application (the model or its ``Ref``)."""

    @property
    def customer_manager_id(self) -> int | None: ...

    @property
    def unit_id(self) -> int | None: ...


@dataclass(frozen=True)
class Ref:
    """The few columns of an application that say who may see it and name its version (the audit
    head moves with every change, in the change's transaction): what a page kept per version
    needs before it knows whether it must build anything (``access_ref``)."""

    pk: int
    number: str
    status: str
    customer_manager_id: int | None
    unit_id: int | None
    audit_head: str


# One statement, no ORM compilation: read on every view of a kept staff page (docs/bench.md).
_REF_SQL = (
    "SELECT id, number, status, customer_manager_id, unit_id, audit_head FROM applications_application "
    "WHERE number = %s"
)


def can_view(user: User, app: Scoped) -> bool:
    if user.role == Role.CUSTOMER_MANAGER:
        return app.customer_manager_id == user.pk
    return user.role in STAFF_ROLES and in_scope(user, app.unit_id)


def access_application(user: User, number: str) -> Application:
    """Load ``number`` for ``user``: NotFound when it does not exist, Forbidden when not theirs."""
    app = (
        Application.objects.select_related("customer", "customer_manager", "process", "possible_duplicate_of")
        .filter(number=number)
        .first()
    )
    if app is None:
        raise NotFound(_("No application with this number."), "application_not_found")
    if not can_view(user, app):
        raise Forbidden(_("You may not see this application."))
    return app


def access_ref(user: User, number: str) -> Ref:
    """``access_application``'s check on the light row: the same answers (NotFound, Forbidden)
    without loading the customer, manager, process and possible duplicate or decrypting anything."""
    with connection.cursor() as cursor:
        cursor.execute(_REF_SQL, [number])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("No application with this number."), "application_not_found")
    ref = Ref(*row)
    if not can_view(user, ref):
        raise Forbidden(_("You may not see this application."))
    return ref


def require_role(user: User, roles: set[str], app: Application | None = None) -> None:
    if user.role not in roles:
        raise Forbidden(_("Your role may not do this."))
    if app is not None and user.role == Role.CUSTOMER_MANAGER and app.customer_manager_id != user.pk:
        raise Forbidden(_("Only the application's own customer manager may do this."))
    if app is not None and user.role != Role.CUSTOMER_MANAGER and not in_scope(user, app.unit_id):
        raise Forbidden(_("You may not see this application."))


def require_stage_role(user: User, app: Application, code: str) -> None:
    """The roles the process names for stage ``code`` (the admin always)."""
    if user.role == Role.ADMIN:
        return
    template = next((t for t in app.process.stages.all() if t.code == code), None)
    roles = set(template.actor_roles) if template else set()
    if template is None:
        raise NotFound(_("This application has no stage %(code)s.") % {"code": code}, "stage_not_found")
    require_role(user, roles, app)
