"""Process template versions: a version in use is never edited; a change is a new version.

An application keeps the version in force on the day it was accepted (its stage instances
copied the limits). So once any application uses a version, that version is read-only, and a
change of the limits or stages is made by copying it into a new version with an effective date
(the administrator edits the copy before that date).
"""

from __future__ import annotations

import operator
from datetime import date
from functools import reduce

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import PROTECT, Exists, ForeignObjectRel, Max, Model, OuterRef, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.processes.models import ProcessTemplate, StageTemplate


def _referrers() -> list[tuple[type[Model], str]]:
    """The models whose rows keep a version alive (a PROTECT foreign key to it: the applications
    accepted under it), read from the model registry so this app imports none of them."""
    return [
        (rel.related_model, rel.field.name)
        for rel in ProcessTemplate._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel) and rel.on_delete is PROTECT and isinstance(rel.related_model, type)
    ]


def in_use(template: ProcessTemplate) -> bool:
    """True once any application was accepted under this version."""
    return any(model._default_manager.filter(**{field: template}).exists() for model, field in _referrers())


def with_in_use(qs: QuerySet[ProcessTemplate]) -> QuerySet[ProcessTemplate]:
    """Annotate ``_in_use`` (for lists: no query per row)."""
    used = [Exists(model._default_manager.filter(**{field: OuterRef("pk")})) for model, field in _referrers()]
    return qs.annotate(_in_use=reduce(operator.or_, used) if used else Value(False))


def new_version(source: ProcessTemplate, *, effective_from: date, source_note: str) -> ProcessTemplate:
    """Copy ``source`` with its stages into the next version of its category, in force from
    ``effective_from`` (today or later: accepted applications keep their version anyway)."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if effective_from < today:
        errors["effective_from"] = [
            _("A new version cannot take effect in the past (today is %(today)s).") % {"today": today.isoformat()}
        ]
    note = (source_note or "").strip()
    if not note:
        errors["source_note"] = [_("Name the source of the new limits (the notice or rule).")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock the category's versions so two administrators do not take the same number.
        list(ProcessTemplate.objects.select_for_update().filter(category=source.category).values_list("pk"))
        top = ProcessTemplate.objects.filter(category=source.category).aggregate(v=Max("version"))["v"] or 0
        copy = ProcessTemplate.objects.create(
            category=source.category,
            version=top + 1,
            effective_from=effective_from,
            source_note=note[:300],
            end_to_end_limit_days=source.end_to_end_limit_days,
        )
        StageTemplate.objects.bulk_create(
            StageTemplate(
                process=copy,
                position=s.position,
                code=s.code,
                name_zh=s.name_zh,
                name_en=s.name_en,
                owner=s.owner,
                time_limit_days=s.time_limit_days,
                optional=s.optional,
                has_outcome=s.has_outcome,
                actor_roles=list(s.actor_roles),
            )
            for s in source.stages.order_by("position")
        )
    return copy
