"""Every page of the Django admin reads in Chinese: each registered model's list, its change form
(of a demo row) and its add form, in zh-Hans, show no label that is English words.

A label is what names something on the page: the title, headings, breadcrumbs, column headers,
filter titles, field labels, fieldset headings and the options of a choice. Codes that are written
in Latin letters in Chinese too (kV, ID, API, SMS, …) are allowed.
"""

from __future__ import annotations

import html as htmllib
import re
from io import StringIO

import pytest
import time_machine
from django.contrib import admin
from django.core.management import call_command
from django.test import Client

from sunshine.accounts.models import User
from sunshine.applications.events import EventType

# Words written in Latin letters in Chinese as well: units, acronyms, names of things (Django's
# own "按住 Control 键或 Mac 上的 Command 键"), and the channel codes an administrator types.
ALLOWED = {
    "kV", "kW", "kVA", "ID", "API", "SMS", "PDF", "CSV", "Excel", "IP", "HTTP", "Accept", "GET",
    "POST", "SHA", "Unix", "T", "t", "LDAP", "Control", "Mac", "Command", "inbox", "sms", "email",
}  # fmt: skip

LABEL_PATTERNS = [
    r"<title>(.*?)</title>",
    r"<h1[^>]*>(.*?)</h1>",
    r"<h2[^>]*>(.*?)</h2>",
    r"<h3[^>]*>(.*?)</h3>",
    r"<caption[^>]*>(.*?)</caption>",
    r'<div class="breadcrumbs">(.*?)</div>',
    r'<th scope="col"[^>]*>(.*?)</th>',
    r"<label[^>]*>(.*?)</label>",
    r"<option[^>]*>(.*?)</option>",
    r'<div class="help"[^>]*>(.*?)</div>',
]


def labels(page: str) -> list[str]:
    found = []
    for pattern in LABEL_PATTERNS:
        for raw in re.findall(pattern, page, flags=re.S):
            text = htmllib.unescape(re.sub(r"<[^>]+>", " ", raw))
            found.append(" ".join(text.split()))
    return [t for t in found if t]


def english(label: str, data: set[str]) -> list[str]:
    """The Latin-letter words of a label that are not allowed codes, once the data it shows
    (a row's own name, a username, an application number) is taken out."""
    for value in sorted(data, key=len, reverse=True):
        label = label.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_]*", label) if w not in ALLOWED]


@pytest.fixture
def demo_admin(db) -> Client:
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        call_command("seed_demo", applications=12, stdout=StringIO())
    c = Client()
    c.force_login(User.objects.get(username="admin"))
    return c


def admin_pages() -> list[tuple[str, str]]:
    """(url, the name of the row it shows or "")."""
    pages = [("/admin/", "")]
    for model in admin.site._registry:
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        pages.append((base, ""))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append((f"{base}{first.pk}/change/", str(first)))
        pages.append((f"{base}add/", ""))
    return pages


@pytest.mark.django_db
def test_every_admin_page_names_everything_in_chinese(demo_admin):
    usernames = set(User.objects.values_list("username", flat=True))
    # The event names a webhook subscription picks are the API's identifiers (docs/api-v1.md),
    # sent as they are to the subscriber: codes, like the channel codes.
    usernames |= {t.value for t in EventType}
    english_labels: dict[str, list[str]] = {}
    visited = 0
    for url, row in admin_pages():
        response = demo_admin.get(url)
        if response.status_code == 403 and url.endswith("/add/"):
            continue  # read-only models
        assert response.status_code == 200, url
        visited += 1
        data = usernames | ({row} if row else set())
        bad = [label for label in labels(response.content.decode()) if english(label, data)]
        if bad:
            english_labels[url] = sorted(set(bad))
    assert english_labels == {}
    assert visited > 50  # 21 lists, their change forms and add forms
