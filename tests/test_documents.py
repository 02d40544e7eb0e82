"""The documents checklist: what each category needs, uploads (size and content checks, stored on
disk, downloadable only through the access-checked page), paper copies and waivers, each with an
application event."""

from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import quote

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sunshine.applications import services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.documents import services as documents
from sunshine.documents.models import Document
from sunshine.errors import ValidationFailed
from tests.conftest import intake_body

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture(autouse=True)
def chinese():
    """Service-level tests read names in the active language: Chinese, whatever ran before."""
    from django.utils import translation

    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.SUNSHINE_DOCUMENTS_DIR = tmp_path / "docs"
    settings.SUNSHINE_DOCUMENT_MAX_BYTES = 1024
    return tmp_path / "docs"


def new_app(actor, category="lv_residential", **overrides) -> Application:
    if category.startswith("hv"):
        overrides.setdefault("requested_capacity", 800)
        overrides.setdefault("capacity_unit", "kVA")
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        data = validate_intake(intake_body(category=category, **overrides), date(2026, 11, 2))
        return services.intake(data, actor).application


def url(app, action=""):
    return f"/workbench/applications/{app.number}/" + (f"{action}/" if action else "")


def as_(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text_of(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.content.decode()))


def stored(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []


# --- what each application needs -------------------------------------------------------------------


def test_a_residential_person_needs_the_id_card_registered_at_intake_and_proof_of_property(personas):
    app = new_app(personas["clerk"])
    assert [(r.kind.code, r.status) for r in documents.required_documents(app)] == [
        ("id_card", "registered"),
        ("property_proof", "missing"),
    ]
    assert documents.missing_documents(app) == ["房屋或土地产权证明（或租赁协议）"]


def test_an_enterprise_high_voltage_case_needs_its_licence_and_the_later_documents(personas):
    app = new_app(
        personas["clerk"],
        category="hv_single",
        customer__id_type="uscc",
        customer__id_number="91110000600037341L",
        customer__name="某某科技有限公司",
    )
    assert [(r.kind.code, r.status) for r in documents.required_documents(app)] == [
        ("business_licence", "registered"),
        ("property_proof", "missing"),
        ("load_list", "missing"),
        ("project_approval", "missing"),
        ("design_documents", "missing"),
        ("contractor_licence", "missing"),
        ("completion_report", "missing"),
    ]
    assert documents.missing_documents(app)[:3] == [
        "房屋或土地产权证明（或租赁协议）",
        "用电设备清单",
        "项目批准（核准、备案）文件",
    ]


def test_missing_documents_follow_the_language(personas):
    from django.utils import translation

    app = new_app(personas["clerk"])
    with translation.override("en"):
        assert documents.missing_documents(app) == ["Proof of property (or lease)"]


def test_required_documents_take_two_queries(personas, django_assert_num_queries):
    app = new_app(personas["clerk"], category="hv_single")
    app = Application.objects.select_related("customer").get(pk=app.pk)
    with django_assert_num_queries(2):
        documents.required_documents(app)


# --- uploads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "ctype", "ext"),
    [(PDF, "application/pdf", "pdf"), (PNG, "image/png", "png"), (JPEG, "image/jpeg", "jpg")],
)
def test_an_upload_is_stored_on_disk_and_logged(personas, media, content, ctype, ext):
    app = new_app(personas["clerk"])
    with time_machine.travel("2026-11-03 09:00 +0800", tick=False):
        doc = documents.upload_document(
            app.number, "property_proof", io.BytesIO(content), "房产证.x", personas["alice"]
        )
    assert (doc.status, doc.content_type, doc.size, doc.original_name) == ("received", ctype, len(content), "房产证.x")
    assert doc.file.startswith(f"{app.number}/") and doc.file.endswith("." + ext)
    assert (media / doc.file).read_bytes() == content
    e = Event.objects.get(application=app, type="document_uploaded")
    assert e.actor.username == "alice"
    assert e.data["kind"] == "property_proof" and e.data["size"] == len(content)
    assert documents.missing_documents(app) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00 an executable renamed .pdf", "仅接受 PDF、JPEG 和 PNG 文件。"),
        (b"<html><script>alert(1)</script>", "仅接受 PDF、JPEG 和 PNG 文件。"),
        (b"%PDF-" + b"x" * 1100, "文件超过 0.000976562 MB。"),
        (b"", "文件为空。"),
    ],
    ids=["exe", "html", "too-big", "empty"],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(personas, media, content, message):
    app = new_app(personas["clerk"])
    with pytest.raises(ValidationFailed) as exc:
        documents.upload_document(app.number, "property_proof", io.BytesIO(content), "scan.pdf", personas["alice"])
    assert exc.value.fields["file"] == [message]
    assert stored(media) == []
    assert not Document.objects.exists()
    assert not Event.objects.filter(application=app, type__startswith="document_").exists()


def test_a_document_the_application_does_not_need_is_refused(personas, media):
    app = new_app(personas["clerk"])
    with pytest.raises(ValidationFailed) as exc:
        documents.upload_document(app.number, "design_documents", io.BytesIO(PDF), "d.pdf", personas["alice"])
    assert exc.value.fields == {"kind": ["此申请不需要该资料。"]}
    assert stored(media) == []


def test_paper_copy_and_waiver_write_events(personas):
    app = new_app(personas["clerk"], category="hv_single")
    documents.mark_received(app.number, "property_proof", personas["alice"])
    with pytest.raises(ValidationFailed):
        documents.waive(app.number, "load_list", personas["alice"], reason=" ")
    documents.waive(app.number, "load_list", personas["alice"], reason="无新增设备")
    assert list(Event.objects.filter(application=app, type__startswith="document_").values_list("type", "data")) == [
        ("document_received", {"kind": "property_proof", "name": "房屋或土地产权证明（或租赁协议）"}),
        ("document_waived", {"kind": "load_list", "name": "用电设备清单", "reason": "无新增设备"}),
    ]
    assert [r.status for r in documents.required_documents(app)][:3] == ["registered", "received", "waived"]


# --- through the page -----------------------------------------------------------------------------


def test_upload_through_the_page_then_download_with_access_checks(personas, media):
    app = new_app(personas["clerk"])
    c = as_(personas["alice"])
    f = SimpleUploadedFile("产权证明.pdf", PDF, content_type="application/pdf")
    r = c.post(url(app, "documents/upload"), {"upload-kind": "property_proof", "upload-file": f})
    assert r.status_code == 302
    doc = Document.objects.get(application=app)
    page = c.get(url(app)).content.decode()
    assert "资料已保存。" in page
    assert "资料已齐全。" in page
    link = f"/workbench/applications/{app.number}/documents/{doc.pk}/"
    assert link in page
    r = c.get(link)
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == PDF
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith("attachment;")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert as_(personas["auditor"]).get(link).status_code == 200
    assert as_(personas["bob"]).get(link).status_code == 403
    assert Client().get(link).status_code == 302
    # not served under /media/
    assert Client().get(f"/media/documents/{doc.file}").status_code == 404


@pytest.mark.parametrize(
    ("uploaded", "downloaded"),
    [
        ("../../evil.html", "evil.pdf"),
        ("..\\..\\evil.html", "evil.pdf"),
        ("产权证明.pdf", "产权证明.pdf"),
        ('a"b;c\r\nSet-Cookie: x=1.html', "a_b_c_Set-Cookie_x_1.pdf"),
        (".htaccess", "document.pdf"),
        ("", "document.pdf"),
        ("房产证.x", "房产证.pdf"),
    ],
)
def test_a_download_is_named_by_a_safe_base_name_and_the_stored_type(personas, media, uploaded, downloaded):
    app = new_app(personas["clerk"])
    documents.upload_document(app.number, "property_proof", io.BytesIO(PDF), uploaded, personas["alice"])
    doc = Document.objects.get(application=app)
    r = as_(personas["alice"]).get(f"/workbench/applications/{app.number}/documents/{doc.pk}/")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert documents.download_name(doc) == downloaded
    if downloaded.isascii():
        assert r["Content-Disposition"] == f'attachment; filename="{downloaded}"'
    else:
        assert r["Content-Disposition"] == "attachment; filename*=utf-8''" + quote(downloaded)


def test_a_document_of_another_application_is_not_found_through_this_one(personas, media):
    a = new_app(personas["clerk"])
    b = new_app(personas["clerk"], customer__id_number="360426199101010071", address="太原市晋源区二号")
    doc = documents.upload_document(a.number, "property_proof", io.BytesIO(PDF), "a.pdf", personas["leader"])
    assert as_(personas["leader"]).get(f"/workbench/applications/{b.number}/documents/{doc.pk}/").status_code == 404


def test_a_bad_upload_through_the_page_shows_the_chinese_message_in_place(personas, media):
    app = new_app(personas["clerk"])
    f = SimpleUploadedFile("fake.pdf", b"GIF89a not accepted", content_type="application/pdf")
    r = as_(personas["alice"]).post(url(app, "documents/upload"), {"upload-kind": "property_proof", "upload-file": f})
    assert r.status_code == 200
    assert "仅接受 PDF、JPEG 和 PNG 文件。" in r.content.decode()
    assert stored(media) == []
    assert not Document.objects.exists()


def test_too_large_through_the_page(personas, media, settings):
    settings.SUNSHINE_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
    app = new_app(personas["clerk"])
    f = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    r = as_(personas["alice"]).post(url(app, "documents/upload"), {"upload-kind": "property_proof", "upload-file": f})
    assert r.status_code == 200
    assert "文件超过 10 MB。" in r.content.decode()
    assert stored(media) == []


@pytest.mark.parametrize("who", ["auditor", "bob"])
def test_auditor_and_another_manager_cannot_upload(personas, media, who):
    app = new_app(personas["clerk"])
    f = SimpleUploadedFile("a.pdf", PDF)
    r = as_(personas[who]).post(url(app, "documents/upload"), {"upload-kind": "property_proof", "upload-file": f})
    assert r.status_code == 403
    assert stored(media) == [] and not Document.objects.exists()


def test_the_engineer_may_upload_but_not_waive(personas, media):
    app = new_app(personas["clerk"])
    page = as_(personas["engineer"]).get(url(app)).content.decode()
    assert 'id="upload-form"' in page and "waive-reason-property_proof" not in page
    r = as_(personas["engineer"]).post(
        url(app, "documents/waive"), {"waive-kind": "property_proof", "waive-reason": "x"}
    )
    assert r.status_code == 403
    assert not Document.objects.exists()


def test_paper_copy_and_waiver_through_the_page(personas, media):
    app = new_app(personas["clerk"], category="hv_single")
    c = as_(personas["alice"])
    r = c.post(url(app, "documents/received"), {"received-kind": "property_proof"})
    assert r.status_code == 302
    r = c.post(url(app, "documents/waive"), {"waive-kind": "load_list", "waive-reason": " "})
    assert r.status_code == 200
    assert "此项为必填项。" in text_of(r)
    assert not Document.objects.filter(kind__code="load_list").exists()
    r = c.post(url(app, "documents/waive"), {"waive-kind": "load_list", "waive-reason": "无新增用电设备"})
    assert r.status_code == 302
    assert [(d.kind.code, d.status, d.note, d.by.username) for d in Document.objects.order_by("kind__position")] == [
        ("property_proof", "received", "", "alice"),
        ("load_list", "waived", "无新增用电设备", "alice"),
    ]
    page = c.get(url(app)).content.decode()
    assert "资料已标记为免交。" in page
    assert '<li class="doc doc-waived" id="doc-load_list">' in page
    assert documents.missing_documents(app) == [
        "项目批准（核准、备案）文件",
        "设计文件及图纸",
        "施工单位承装（修、试）电力设施许可证",
        "竣工报告及试验报告",
    ]
