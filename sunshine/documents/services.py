"""The documents checklist of an application: what it needs, what is missing, uploads.

Every change locks the application row and writes an application event in the same
transaction (``document_uploaded``, ``document_received``, ``document_waived``). Permission
checks happen in the caller (``sunshine.applications.access`` plus ``DOCUMENT_ROLES``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import Role, User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event, Status
from sunshine.documents.models import Document, DocumentKind, DocumentStatus
from sunshine.errors import Conflict, NotFound, ValidationFailed

# Who may upload a scan or mark a paper copy received (a customer manager: own cases only).
DOCUMENT_ROLES = {Role.ADMIN, Role.CLERK, Role.CUSTOMER_MANAGER, Role.ENGINEER, Role.LEADER}
# Who may waive a document (the customer need not give it): the case's manager or a leader.
WAIVE_ROLES = {Role.ADMIN, Role.CUSTOMER_MANAGER, Role.LEADER}

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Accepted content, recognised by its first bytes (never by the file name).
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
]


def documents_dir() -> Path:
    return Path(getattr(settings, "SUNSHINE_DOCUMENTS_DIR", Path(settings.MEDIA_ROOT) / "documents"))


def max_bytes() -> int:
    return int(getattr(settings, "SUNSHINE_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class Requirement:
    """One needed document of one application and its state."""

    kind: DocumentKind
    document: Document | None

    @property
    def status(self) -> str:
        """``received``, ``waived``, ``registered`` (identity number given at intake) or ``missing``."""
        if self.document is not None:
            return self.document.status
        if self.kind.identity:
            return "registered"
        return "missing"

    @property
    def missing(self) -> bool:
        return self.status == "missing"


def _kinds_for(app: Application) -> list[DocumentKind]:
    id_type = app.customer.id_type
    return [
        k
        for k in DocumentKind.objects.filter(active=True).order_by("position", "code")
        if app.category in k.categories and (not k.id_type or k.id_type == id_type)
    ]


def required_documents(app: Application) -> list[Requirement]:
    """The documents ``app`` needs, in order, with their state (2 queries)."""
    kinds = _kinds_for(app)
    docs = {d.kind_id: d for d in Document.objects.filter(application=app).select_related("by")}
    return [Requirement(k, docs.get(k.pk)) for k in kinds]


def missing_documents(app: Application) -> list[str]:
    """Names (in the current language) of the documents still missing: the 一次性告知 list."""
    return [r.kind.name for r in required_documents(app) if r.missing]


_UNSAFE_IN_NAME = re.compile(r"[^\w\-.]+")
EXTENSIONS = {content_type: ext for _magic, content_type, ext in SIGNATURES}


def download_name(doc: Document) -> str:
    """The name a stored document is downloaded under: the uploaded name's base, stripped of
    paths, blanks, control and punctuation characters (letters of any script, digits, ``-``,
    ``_`` and ``.`` stay), with the extension of the type its content was recognised as. A PDF
    uploaded as ``../../evil.html`` downloads as ``evil.pdf``, never as HTML."""
    ext = EXTENSIONS.get(doc.content_type, "bin")
    base = (doc.original_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_IN_NAME.sub("_", stem).strip(" ._")[:100]
    return f"{stem or 'document'}.{ext}"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) recognised from the first bytes, or None when not accepted."""
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    return None


def _lock(number: str) -> Application:
    app = Application.objects.select_for_update().select_related("customer").filter(number=number).first()
    if app is None:
        raise NotFound(_("No application with this number."), "application_not_found")
    if app.status == Status.CANCELLED:
        raise Conflict(_("This application has been cancelled."), "application_closed")
    return app


def _kind(app: Application, code: str) -> DocumentKind:
    kind = next((k for k in _kinds_for(app) if k.code == code), None)
    if kind is None:
        raise ValidationFailed({"kind": [_("This application does not need this document.")]})
    return kind


def _event(app: Application, type_: EventType, actor: User | None, **data: Any) -> Event:
    return ev.new(app, type_, timezone.now(), actor, **data)


def _upsert(app: Application, kind: DocumentKind, actor: User | None, **fields: Any) -> Document:
    doc = Document.objects.filter(application=app, kind=kind).first()
    if doc is None:
        doc = Document(application=app, kind=kind)
    for name, value in fields.items():
        setattr(doc, name, value)
    doc.by = actor
    doc.at = timezone.now()
    doc.save()
    return doc


def upload_document(number: str, kind_code: str, upload: IO[bytes], name: str, actor: User | None) -> Document:
    """Store a scan of one document and mark it received.

    Refused with a field error (nothing stored) when larger than the limit or not a PDF, JPEG
    or PNG by content. The file goes to ``<dir>/<number>/<random>.<ext>``; a replaced scan's
    file stays on disk (its event names its checksum) and is no longer downloadable. A failure
    inside this transaction removes the new file; the rollback of an outer transaction would
    leave it orphaned (never served: no row names it).
    """
    limit = max_bytes()
    head = upload.read(16)
    data = head + upload.read(limit + 1 - len(head))
    if len(data) > limit:
        raise ValidationFailed({"file": [_("The file is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"}]})
    if not data:
        raise ValidationFailed({"file": [_("The file is empty.")]})
    sniffed = sniff(head)
    if sniffed is None:
        raise ValidationFailed({"file": [_("Only PDF, JPEG and PNG files are accepted.")]})
    content_type, ext = sniffed
    digest = hashlib.sha256(data).hexdigest()
    original = Path(name or "").name[:200] or f"document.{ext}"
    with transaction.atomic():
        app = _lock(number)
        kind = _kind(app, kind_code)
        relative = f"{app.number}/{secrets.token_hex(16)}.{ext}"
        path = documents_dir() / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            doc = _upsert(
                app,
                kind,
                actor,
                status=DocumentStatus.RECEIVED,
                note="",
                file=relative,
                original_name=original,
                content_type=content_type,
                size=len(data),
                sha256=digest,
            )
            ev.record(
                [
                    _event(
                        app,
                        EventType.DOCUMENT_UPLOADED,
                        actor,
                        kind=kind.code,
                        name=kind.name_zh,
                        file=original,
                        size=len(data),
                        sha256=digest,
                    )
                ]
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return doc


def mark_received(number: str, kind_code: str, actor: User | None, *, note: str = "") -> Document:
    """A paper copy was seen (no scan)."""
    with transaction.atomic():
        app = _lock(number)
        kind = _kind(app, kind_code)
        doc = _upsert(app, kind, actor, status=DocumentStatus.RECEIVED, note=note.strip()[:500])
        ev.record([_event(app, EventType.DOCUMENT_RECEIVED, actor, kind=kind.code, name=kind.name_zh)])
    return doc


def brought_at_intake_choices() -> list[tuple[str, str, list[str]]]:
    """(code, name, categories) of the documents a customer may bring to the counter, for the
    intake form's checklist: every active kind but the identity document (registered by its
    number)."""
    kinds = DocumentKind.objects.filter(active=True, identity=False).order_by("position", "code")
    return [(k.code, k.name, list(k.categories)) for k in kinds]


def received_at_intake(app: Application, kind_codes: list[str], actor: User | None) -> list[Document]:
    """The documents ticked at the counter as brought: received, one event each. Call it inside
    the intake's transaction; codes this application does not need are ignored (the checklist
    shows them all before the category is settled)."""
    wanted = set(kind_codes)
    kinds = [k for k in _kinds_for(app) if k.code in wanted and not k.identity]
    docs = []
    events = []
    for kind in kinds:
        docs.append(_upsert(app, kind, actor, status=DocumentStatus.RECEIVED, note=""))
        events.append(_event(app, EventType.DOCUMENT_RECEIVED, actor, kind=kind.code, name=kind.name_zh))
    if events:
        ev.record(events)
    return docs


def waive(number: str, kind_code: str, actor: User | None, *, reason: str) -> Document:
    """The customer need not give this document (e.g. not applicable); the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Give the reason for waiving this document.")]})
    with transaction.atomic():
        app = _lock(number)
        kind = _kind(app, kind_code)
        doc = _upsert(app, kind, actor, status=DocumentStatus.WAIVED, note=reason[:500])
        ev.record([_event(app, EventType.DOCUMENT_WAIVED, actor, kind=kind.code, name=kind.name_zh, reason=reason)])
    return doc


def stored_file(app: Application, document_id: int) -> tuple[Path, Document]:
    """The file of one document of ``app`` (already access-checked by the caller)."""
    doc = Document.objects.filter(application=app, pk=document_id).exclude(file="").select_related("kind").first()
    if doc is None:
        raise NotFound(_("No such document."), "document_not_found")
    root = documents_dir().resolve()
    path = (root / doc.file).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(_("No such document."), "document_not_found")
    return path, doc
