"""Translations: API messages are Chinese by default and English with ``Accept-Language: en``;
every message in the zh-Hans catalogue is translated, and the committed .mo matches the .po."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import intake_body

APPS = "/api/v1/applications"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "sunshine" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"

# A bad phone and a resident ID with a wrong check character (the last one should be X).
BAD_INTAKE = intake_body(customer__phone="12345", customer__id_number="110105194912310021")

ZH = {
    "message": "部分字段填写有误，请核对后重新提交。",
    "customer.phone": "请输入以1开头的11位中国大陆手机号码。",
    "customer.id_number": "居民身份证号码有误，请核对各位数字及最后一位校验码。",
}
EN = {
    "message": "Some fields are not valid.",
    "customer.phone": "Enter an 11-digit mainland mobile number starting with 1.",
    "customer.id_number": "This resident ID number is not valid: check the digits and the last character.",
}


# --- the API speaks Chinese by default ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected"), [(None, ZH), ("zh-hans", ZH), ("en", EN)])
def test_intake_validation_messages_follow_the_language(api_as, language, expected):
    r = api_as("clerk", language).post(APPS, BAD_INTAKE)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["message"] == expected["message"]
    assert set(body["fields"]) == {"customer.phone", "customer.id_number"}
    assert body["fields"]["customer.phone"] == [expected["customer.phone"]]
    assert body["fields"]["customer.id_number"] == [expected["customer.id_number"]]


@pytest.mark.django_db
def test_intake_short_id_number_is_chinese_by_default(api_as):
    r = api_as("clerk").post(APPS, intake_body(customer__id_number="1101051949"))
    assert r.status_code == 422, r.content
    assert r.json()["fields"] == {"customer.id_number": ["居民身份证号码应为18位。"]}


@pytest.mark.django_db
def test_unauthorized_body_is_chinese_by_default():
    r = Client().get(APPS)
    assert r.status_code == 401, r.content
    assert r.json() == {"code": "unauthorized", "message": "请先登录：请求须携带有效的 Bearer 令牌。"}


@pytest.mark.django_db
def test_unauthorized_body_is_english_on_request():
    r = Client().get(APPS, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401, r.content
    assert r.json()["message"] == "Sign in first: send a valid bearer token."


# --- the catalogue is complete ------------------------------------------------------------------

_ENTRY_RE = re.compile(
    r"^(?P<comments>(?:#.*\n)*)"
    r"(?:msgctxt (?P<ctx>(?:\".*\"\n)+))?"
    r"msgid (?P<id>(?:\".*\"\n)+)"
    r"(?:msgid_plural (?P<plural>(?:\".*\"\n)+))?"
    r"(?P<strs>(?:msgstr(?:\[\d+\])? (?:\".*\"\n)+)+)",
    re.MULTILINE,
)
_PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sd]")


def _unquote(lines: str) -> str:
    text = "".join(re.findall(r'^"(.*)"$', lines, re.MULTILINE))
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _po_entries(po_path: Path = PO_PATH) -> list[dict]:
    """ctx, id, plural, strs and fuzzy of every entry (the header is the one with id ""); obsolete
    (#~) entries are skipped."""
    text = po_path.read_text(encoding="utf-8") + "\n"
    entries = []
    for m in _ENTRY_RE.finditer(text):
        msgid = _unquote(m.group("id"))
        parts = re.split(r"^msgstr(?:\[\d+\])? ", m.group("strs"), flags=re.MULTILINE)
        strs = [_unquote(s) for s in parts if s]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in m.group("comments").splitlines())
        entries.append(
            {
                "ctx": _unquote(m.group("ctx")) if m.group("ctx") else None,
                "id": msgid,
                "plural": _unquote(m.group("plural")) if m.group("plural") else None,
                "strs": strs,
                "fuzzy": fuzzy,
            }
        )
    return entries


# Every zh-Hans catalogue of the project (the main one and any app's own, e.g. the calendar's).
CATALOGUES = sorted((LOCALE_DIR.parents[2]).rglob("zh_Hans/LC_MESSAGES/django.po"))


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_po_header(po_path):
    header = next(e for e in _po_entries(po_path) if e["id"] == "")
    assert not header["fuzzy"]
    assert "Language: zh_Hans\n" in header["strs"][0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["strs"][0]


def test_the_catalogues_are_found():
    assert PO_PATH in CATALOGUES and len(CATALOGUES) >= 2
    assert len([e for e in _po_entries() if e["id"]]) > 100, "the .po parser found too few entries"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_every_msgid_is_translated(po_path):
    entries = [e for e in _po_entries(po_path) if e["id"]]
    untranslated = [e["id"] for e in entries if not all(s.strip() for s in e["strs"])]
    fuzzy = [e["id"] for e in entries if e["fuzzy"]]
    assert not untranslated and not fuzzy, f"untranslated: {untranslated}; fuzzy: {fuzzy}"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_translations_keep_the_placeholders(po_path):
    wrong = []
    for e in _po_entries(po_path):
        if not e["id"]:
            continue
        needed = set(_PLACEHOLDER_RE.findall(e["id"]))
        allowed = needed | set(_PLACEHOLDER_RE.findall(e["plural"] or ""))
        for s in e["strs"]:
            found = set(_PLACEHOLDER_RE.findall(s))
            if not needed <= found <= allowed:
                wrong.append(e["id"])
    assert not wrong, f"placeholders differ from the msgid: {wrong}"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_committed_mo_matches_the_po(po_path):
    """Machines without gettext use the committed .mo: it must be compiled from this .po."""
    with po_path.with_suffix(".mo").open("rb") as f:
        catalogue = gettext.GNUTranslations(f)
    stale = []
    for e in _po_entries(po_path):
        if not e["id"] or e["plural"] is not None:
            continue
        msgid = f"{e['ctx']}\x04{e['id']}" if e["ctx"] else e["id"]
        got = catalogue.gettext(msgid)
        if got != e["strs"][0]:
            stale.append(e["id"])
    assert not stale, f"django.mo is stale; run compilemessages. Differing: {stale}"
