"""The per-process caches of rarely edited rows (sunshine/caching.py): an edit made in this process
is used at once; one made elsewhere (here: an UPDATE that sends no signal) within caching.SECONDS."""

from __future__ import annotations

import pytest

from sunshine import caching
from sunshine.notifications.models import Message, Template
from sunshine.notifications.services import notify_staff


def latest_body(user) -> str:
    return Message.objects.filter(user=user).order_by("-pk").values_list("body", flat=True)[0]


@pytest.mark.django_db
def test_a_template_edited_here_is_used_by_the_next_message(personas):
    alice = personas["alice"]
    notify_staff([alice], "message", {"text": "第一条"}, key="k1")
    template = Template.objects.get(code="message")
    template.body = "新模板：{{ text }}"
    template.save()
    notify_staff([alice], "message", {"text": "第二条"}, key="k2")
    assert latest_body(alice) == "新模板：第二条"


@pytest.mark.django_db
def test_an_edit_made_elsewhere_is_seen_once_the_cached_copy_is_older_than_seconds(personas, monkeypatch):
    alice = personas["alice"]
    notify_staff([alice], "message", {"text": "第一条"}, key="k1")
    Template.objects.filter(code="message").update(body="别处改的：{{ text }}")  # no signal: another process
    notify_staff([alice], "message", {"text": "第二条"}, key="k2")
    assert latest_body(alice) != "别处改的：第二条"  # still the cached copy
    monkeypatch.setattr(caching, "SECONDS", 0.0)
    notify_staff([alice], "message", {"text": "第三条"}, key="k3")
    assert latest_body(alice) == "别处改的：第三条"
