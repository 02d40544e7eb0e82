"""The tree of company units: reads every scoped view needs, and the audited edits.

A unit's ``path`` (``/sx/ty/jinyuan/``) names its place; "a unit and everything below it" is the
units whose path starts with its path (``below()``, one range of the path index). Staff see the
applications of their unit's subtree (``sunshine.applications.access``).

The whole tree is small (a province has a few hundred units) and read on every intake and every
access check: ``tree()`` keeps it per process (``sunshine/caching.py``: this process's edits are
seen at once, another's within ``caching.SECONDS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from sunshine.accounts.models import Unit, UnitChange, User
from sunshine.caching import Recent


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    code: str
    name: str
    kind: str
    path: str
    depth: int
    parent_id: int | None
    hotline: str = ""
    address: str = ""


# The kinds a member of the public chooses among (statistics, hotline): the company levels.
PUBLIC_KINDS = ("province", "city", "county")
# The kinds that are places to go to: service halls and supply stations.
PLACE_KINDS = ("hall", "station")


@dataclass(frozen=True, slots=True)
class Tree:
    nodes: dict[int, Node]
    top: int | None  # the first unit without a parent

    def path(self, unit_id: int | None) -> str | None:
        node = self.nodes.get(unit_id) if unit_id is not None else None
        return node.path if node is not None else None

    def within(self, unit_id: int | None, ancestor_id: int | None) -> bool:
        """Whether ``unit_id`` is ``ancestor_id`` or below it."""
        inner, outer = self.path(unit_id), self.path(ancestor_id)
        return inner is not None and outer is not None and inner.startswith(outer)

    def below(self, unit_id: int) -> list[int]:
        """The ids of ``unit_id`` and every unit under it (by path)."""
        prefix = self.path(unit_id)
        if prefix is None:
            return []
        return sorted(n.id for n in self.nodes.values() if n.path.startswith(prefix))

    def ancestors(self, unit_id: int | None) -> list[int]:
        """``unit_id`` and the units above it, nearest first."""
        found: list[int] = []
        node = self.nodes.get(unit_id) if unit_id is not None else None
        while node is not None and node.id not in found:
            found.append(node.id)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return found

    def children(self, unit_id: int | None) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.parent_id == unit_id), key=lambda n: n.path)

    def is_top(self, unit_id: int | None) -> bool:
        node = self.nodes.get(unit_id) if unit_id is not None else None
        return node is not None and node.parent_id is None and len(self.roots()) == 1

    def roots(self) -> list[Node]:
        return self.children(None)

    def by_code(self, code: str) -> Node | None:
        return next((n for n in self.nodes.values() if n.code == code), None)

    def hotline(self, unit_id: int | None) -> str:
        """The hotline of ``unit_id``, or of the nearest unit above it that has one ("" if none)."""
        for ancestor in self.ancestors(unit_id):
            if self.nodes[ancestor].hotline:
                return self.nodes[ancestor].hotline
        return ""

    def public_units(self) -> list[Node]:
        """The company levels (province, city, county) by path: the public pages' unit selector."""
        return sorted((n for n in self.nodes.values() if n.kind in PUBLIC_KINDS), key=lambda n: n.path)

    def places(self, unit_id: int | None) -> list[Node]:
        """The service halls and supply stations of ``unit_id``'s subtree (every one when None), by path."""
        ids = self.below(unit_id) if unit_id is not None else list(self.nodes)
        return sorted((self.nodes[i] for i in ids if self.nodes[i].kind in PLACE_KINDS), key=lambda n: n.path)


_tree: Recent[Tree] = Recent("units")
for _signal in (post_save, post_delete):
    _signal.connect(_tree.changed, sender=Unit, weak=False, dispatch_uid=f"units_tree_{_signal is post_save}")


def _load() -> Tree:
    nodes = {
        row[0]: Node(*row)
        for row in Unit.objects.values_list(
            "id", "code", "name", "kind", "path", "depth", "parent_id", "hotline", "address"
        )
    }
    roots = sorted(n.id for n in nodes.values() if n.parent_id is None)
    return Tree(nodes, roots[0] if roots else None)


def tree() -> Tree:
    return _tree.get("all", _load)


def below(unit: Unit) -> QuerySet[Unit]:
    """``unit`` and every unit under it: ``path LIKE '<path>%'``."""
    return Unit.objects.filter(path__startswith=unit.path)


# --- audited edits ------------------------------------------------------------------------------


def _snapshot(unit: Unit) -> dict[str, Any]:
    parent = unit.parent.code if unit.parent_id is not None and unit.parent is not None else None
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent": parent,
        "path": unit.path,
        "hotline": unit.hotline,
        "address": unit.address,
    }


def save_unit(unit: Unit, actor: User | None) -> Unit:
    """Create or change ``unit`` (its subtree follows a move or a new code) and record who did it."""
    with transaction.atomic():
        before: dict[str, Any] = {}
        if unit.pk is not None:
            old = Unit.objects.select_for_update(of=("self",)).select_related("parent").filter(pk=unit.pk).first()
            if old is not None:
                before = _snapshot(old)
                unit.path = old.path  # save() compares with the stored path to move the subtree
        unit.full_clean()
        unit.save()
        after = _snapshot(unit)
        if before != after:
            UnitChange.objects.create(
                unit=unit,
                code=unit.code,
                action=UnitChange.Action.CHANGED if before else UnitChange.Action.CREATED,
                at=timezone.now(),
                actor=actor,
                before=before,
                after=after,
            )
    return unit


def delete_unit(unit: Unit, actor: User | None) -> None:
    """Delete an unused unit (the database refuses one that still has units, staff, areas or
    applications: PROTECT) and record it."""
    with transaction.atomic():
        UnitChange.objects.create(
            unit=None,
            code=unit.code,
            action=UnitChange.Action.DELETED,
            at=timezone.now(),
            actor=actor,
            before=_snapshot(unit),
            after={},
        )
        unit.delete()
