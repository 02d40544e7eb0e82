"""The documents an application needs, per category, and what the customer handed in.

``DocumentKind`` is configuration (seeded by a data migration from domain.md, editable in the
admin): which documents each category needs and when. 一证受理: the identity document (ID card
for a person, business licence for an enterprise) is registered at intake by its number; every
other document may follow later (容缺受理) and what is still missing is told once, all together
(一次性告知, ``services.missing_documents``).

``Document`` is one kind's state for one application: received (a paper copy seen, or an
uploaded scan) or waived; no row means missing. Uploaded files live on disk under
``settings.SUNSHINE_DOCUMENTS_DIR`` and are served only through an access-checked view.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sunshine.applications.models import Application, IdType


class DocumentKind(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80)
    # Category codes (sunshine.processes.models.Category) that need this document.
    categories = models.JSONField(_("categories"), default=list)
    # Only for customers with this ID type (the identity document); blank for everyone.
    id_type = models.CharField(_("ID type"), max_length=12, choices=IdType.choices, blank=True)
    # The identity document of 一证受理: its number is registered at intake.
    identity = models.BooleanField(_("identity document (registered at intake)"), default=False)
    # The stage by which it is needed (shown to staff and in the notice); blank: at any time.
    needed_by_stage = models.CharField(_("needed by stage"), max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("document kind")
        verbose_name_plural = _("document kinds")

    def __str__(self) -> str:
        return self.name_zh

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class DocumentStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    WAIVED = "waived", _("waived")


class Document(models.Model):
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.ForeignKey(DocumentKind, verbose_name=_("document kind"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=DocumentStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The latest uploaded scan: a path relative to SUNSHINE_DOCUMENTS_DIR (blank: paper only).
    file = models.CharField(_("stored file"), max_length=300, blank=True)
    original_name = models.CharField(_("original file name"), max_length=200, blank=True)
    content_type = models.CharField(_("file type"), max_length=40, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["application", "kind__position"]
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="document_kind_unique")]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"{self.application_id}:{self.kind_id} {self.status}"
