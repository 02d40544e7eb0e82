"""The staff side navigation: one list, filtered by the signed-in user's role.

Role sets are those the pages themselves enforce (each page still checks; the navigation only
leaves out what the role could not open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import Role

A, C, M, E, L, U = Role.ADMIN, Role.CLERK, Role.CUSTOMER_MANAGER, Role.ENGINEER, Role.LEADER, Role.AUDITOR
EVERYONE = frozenset({A, C, M, E, L, U})


@dataclass(frozen=True)
class Item:
    href: str
    label: str | Promise
    icon: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Group:
    label: str | Promise
    items: tuple[Item, ...]


NAVIGATION: tuple[Group, ...] = (
    Group(
        _("Daily work"),
        (
            Item("/workbench/", _("My work"), "home", EVERYONE),
            Item("/workbench/intake/", _("Counter intake"), "intake", frozenset({A, C, M, L})),
            Item("/workbench/inbox/", _("Inbox"), "inbox", EVERYONE),
            Item("/workbench/followups/", _("Follow-up calls"), "phone", frozenset({C, A})),
            Item("/workbench/visits/", _("Customer visits"), "pin", frozenset({M, L, A, C})),
        ),
    ),
    Group(
        _("Management"),
        (
            Item("/workbench/dashboard/", _("Dashboard"), "chart", frozenset({L, U, A})),
            Item("/workbench/supervision/", _("Leader supervision"), "flag", frozenset({L, A, U})),
            Item("/workbench/supervision/deadlines/", _("Deadline supervision"), "clock", frozenset({M, L, A, U})),
            Item("/workbench/reassign/", _("Reassign"), "swap", frozenset({A, L})),
            Item("/workbench/evaluations/", _("Evaluation"), "star", frozenset({M, L, U, A})),
            Item("/workbench/reports/", _("Reports"), "report", frozenset({L, U, A})),
        ),
    ),
    Group(
        _("Oversight"),
        (
            Item("/workbench/cases/", _("Supervision cases"), "shield", frozenset({U, L, A})),
            Item("/workbench/concentration/", _("Contractor concentration"), "users", frozenset({U, L, A})),
        ),
    ),
    Group(
        _("System"),
        (
            Item("/workbench/jobs/", _("Background jobs"), "settings", frozenset({A})),
            Item("/admin/", _("Reference data"), "database", frozenset({A})),
            Item("/workbench/security/", _("Two-step sign-in"), "lock", EVERYONE),
        ),
    ),
)


def navigation_for(role: str, path: str) -> list[dict[str, Any]]:
    """The groups and links ``role`` may open, the one matching ``path`` marked current (the
    longest matching prefix, so /workbench/supervision/deadlines/ is not also "supervision")."""
    visible = [(g, [i for i in g.items if role in i.roles]) for g in NAVIGATION]
    matches = [i for _, items in visible for i in items if path.startswith(i.href)]
    current = max(matches, key=lambda i: len(i.href)) if matches else None
    return [
        {"label": g.label, "items": [{"item": i, "current": i is current} for i in items]}
        for g, items in visible
        if items
    ]
