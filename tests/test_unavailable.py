"""A database outage (restart, failover, dropped connection) answers 503 with Retry-After — the
API with the contract's error body, pages with a short page in the user's language — never a 500.
The real outage, with PostgreSQL restarted under load, is in tests/test_faults_pg.py."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory

from sunshine.ops.unavailable import server_error
from tests.conftest import intake_body

APPS = "/api/v1/applications"
DOWN = OperationalError("server closed the connection unexpectedly")


def _down(*args, **kwargs):
    raise DOWN


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [(None, "服务暂时不可用，请稍后重试。"), ("en", None)])
def test_an_intake_while_the_database_is_down_is_503_with_the_error_body(api_as, monkeypatch, language, message):
    client = api_as("clerk", language)
    monkeypatch.setattr("sunshine.applications.services.intake", _down)
    r = client.post(APPS, intake_body(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert r.status_code == 503
    assert r["Retry-After"] == "3"
    assert r["Content-Type"] == "application/json"
    assert r.json() == {
        "code": "unavailable",
        "message": message or "The service is briefly unavailable; please try again.",
    }


@pytest.mark.django_db
def test_a_closed_connection_is_503_too(api_as, monkeypatch):
    client = api_as("clerk")
    monkeypatch.setattr(
        "sunshine.applications.services.intake", lambda *a, **k: (_ for _ in ()).throw(InterfaceError("closed"))
    )
    r = client.post(APPS, intake_body())
    assert (r.status_code, r.json()["code"]) == (503, "unavailable")


@pytest.mark.django_db
def test_a_page_while_the_database_is_down_is_a_chinese_503_page(monkeypatch):
    monkeypatch.setattr("sunshine.portal.public.views.processes_in_force", _down)
    r = Client().get("/")
    assert r.status_code == 503
    assert r["Retry-After"] == "3"
    assert r["Content-Type"] == "text/html; charset=utf-8"
    page = r.content.decode()
    assert "<h1>服务暂时不可用</h1>" in page
    assert "服务暂时不可用，请稍等几秒后重试。" in page
    r = Client().get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "<h1>Briefly unavailable</h1>" in r.content.decode()


def test_an_outage_raised_outside_a_view_is_503_and_other_errors_stay_500():
    """``handler500``: an outage raised in a middleware (session, user, lockout) is still a 503."""
    factory = RequestFactory()
    try:
        raise DOWN
    except OperationalError:
        page = server_error(factory.get("/workbench/"))
        api = server_error(factory.get("/api/v1/applications"))
    assert (page.status_code, page["Retry-After"]) == (503, "3")
    assert "服务暂时不可用" in page.content.decode()
    assert (api.status_code, api["Retry-After"]) == (503, "3")
    assert api["Content-Type"] == "application/json"
    try:
        raise ValueError("a bug")
    except ValueError:
        other = server_error(factory.get("/workbench/"))
    assert other.status_code == 500
