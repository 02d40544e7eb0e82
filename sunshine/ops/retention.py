"""Retention: personal data of applications closed long ago is anonymised; the statistics stay.

An application is past retention when it was completed or cancelled more than
``SUNSHINE_RETENTION_DAYS`` days ago. Its customer's name, phone and the address are replaced,
uploaded scans are deleted from disk, and the customer's identity number is replaced by a
placeholder once none of that customer's applications is still within retention. Stage dates,
deadlines, outcomes and events are kept, so statistics, reports, evaluations and the audit chain
(which never contained the customer's identity) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sunshine.applications.models import Application, Customer, Status
from sunshine.pii.crypto import id_index

ANON_NAME = "（已匿名）"
ANON_ADDRESS = "（已匿名）"


@dataclass(frozen=True)
class Anonymised:
    applications: int
    customers: int
    files: int


def past_retention(days: int | None = None):
    days = settings.SUNSHINE_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    return Application.objects.filter(
        Q(status=Status.COMPLETED, completed_at__lt=cutoff) | Q(status=Status.CANCELLED, cancelled_at__lt=cutoff)
    ).exclude(customer_name=ANON_NAME)


def anonymise(days: int | None = None, batch_size: int = 1000) -> Anonymised:
    """Anonymise what is past retention, in batches; returns what was changed. Idempotent."""
    from sunshine.documents.models import Document

    apps_done = customers_done = files_done = 0
    documents_dir = settings.SUNSHINE_DOCUMENTS_DIR
    while True:
        with transaction.atomic():
            batch = list(past_retention(days).select_for_update().values_list("pk", "customer_id")[:batch_size])
            if not batch:
                break
            app_ids = [pk for pk, _c in batch]
            customer_ids = {c for _p, c in batch}
            for path in (
                Document.objects.filter(application_id__in=app_ids).exclude(file="").values_list("file", flat=True)
            ):
                target = documents_dir / path
                if target.exists():
                    target.unlink()
                    files_done += 1
            Document.objects.filter(application_id__in=app_ids).update(file="", original_name="")
            apps_done += Application.objects.filter(pk__in=app_ids).update(
                customer_name=ANON_NAME, contact_phone="", contact_phone_index="", address=ANON_ADDRESS
            )
            # A customer keeps their identity while any of their applications is within retention.
            still_needed = set(
                Application.objects.filter(customer_id__in=customer_ids)
                .exclude(customer_name=ANON_NAME)
                .values_list("customer_id", flat=True)
            )
            for customer_id in sorted(customer_ids - still_needed):
                customers_done += (
                    Customer.objects.filter(pk=customer_id)
                    .exclude(name=ANON_NAME)
                    .update(
                        name=ANON_NAME,
                        phone="",
                        id_number=(placeholder := f"X{customer_id:017d}"[-18:]),
                        id_number_index=id_index(placeholder),
                    )
                )
    return Anonymised(apps_done, customers_done, files_done)
