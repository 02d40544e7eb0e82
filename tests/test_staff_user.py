"""The staff pages' signed-in user (sunshine/workbench/desk/middleware.py, StaffUserMiddleware):
the same user as Django's get_user, read in one raw statement, and the same refusals."""

from __future__ import annotations

import pytest
from django.contrib import auth
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from sunshine.workbench.desk import middleware

pytestmark = pytest.mark.django_db


def _request(c: Client):
    from importlib import import_module

    from django.conf import settings

    engine = import_module(settings.SESSION_ENGINE)
    request = RequestFactory().get("/workbench/")
    request.session = engine.SessionStore(c.session.session_key)
    return request


def test_the_staff_user_is_the_one_django_reads_with_every_field(personas):
    alice = personas["alice"]
    c = Client()
    c.force_login(alice)
    ours = middleware.staff_user(_request(c))
    theirs = auth.get_user(_request(c))
    assert ours.pk == theirs.pk == alice.pk
    for f in type(alice)._meta.concrete_fields:
        assert getattr(ours, f.attname) == getattr(theirs, f.attname), f.attname
    assert ours._state.adding is False and ours._state.db == "default"
    request = _request(c)
    assert request.session[auth.SESSION_KEY]  # the session read before counting
    with CaptureQueriesContext(connection) as ctx:
        middleware.staff_user(request)
    assert [q for q in ctx.captured_queries if "accounts_user" in q["sql"]] == ctx.captured_queries
    assert len(ctx.captured_queries) == 1


def test_the_staff_user_carries_their_unread_inbox_count(personas):
    from sunshine.notifications.models import Message
    from sunshine.notifications.selectors import unread_count
    from sunshine.notifications.services import notify_staff

    alice = personas["alice"]
    c = Client()
    c.force_login(alice)
    Message.objects.filter(user=alice).update(read_at="2026-11-02T10:00:00+08:00")
    assert middleware.staff_user(_request(c)).inbox_unread_read == unread_count(alice) == 0
    notify_staff([alice], "message", {"text": "请核对"}, key="k1")
    notify_staff([personas["bob"]], "message", {"text": "开会"}, key="k2")
    assert middleware.staff_user(_request(c)).inbox_unread_read == unread_count(alice) == 1


def test_a_changed_password_or_a_deactivated_account_signs_out_as_before(personas):
    alice, bob = personas["alice"], personas["bob"]
    c, d = Client(), Client()
    c.force_login(alice)
    d.force_login(bob)
    assert c.get("/workbench/").status_code == 200
    alice.set_password("another-password-9")
    alice.save()
    r = c.get("/workbench/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    bob.is_active = False
    bob.save()
    r = d.get("/workbench/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert Client().get("/workbench/").status_code == 302
