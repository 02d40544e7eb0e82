"""Edges of the kept application-page frame and day names (a second session of one user, a clock
stepped back) and of the staff intake's fast path (odd and hostile requests answered as ninja does)."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.test import override_settings

from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

APPS = "/api/v1/applications"


def _big(api_as, fast: bool):  # type: ignore[no-untyped-def]
    clerk = api_as("clerk")
    body = json.dumps(intake_body(address="x" * 5000))
    settings = {"DATA_UPLOAD_MAX_MEMORY_SIZE": 1000, **({} if fast else {"SUNSHINE_LEAN_FAST": None})}
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False), override_settings(**settings):
        r = clerk.client.post(APPS, body, content_type="application/json", **clerk.headers)
    return r.status_code, r.get("Content-Type"), r.content


def test_a_body_over_the_upload_limit_gets_the_same_answer_on_the_fast_path(api_as):
    slow = _big(api_as, fast=False)
    fast = _big(api_as, fast=True)
    assert fast == slow


def _variety(api_as, fast: bool):  # type: ignore[no-untyped-def]
    from django.db import transaction

    from sunshine import caching

    caching.clear_all()
    out = []
    settings = {} if fast else {"SUNSHINE_LEAN_FAST": None}
    with transaction.atomic(), time_machine.travel("2026-11-27 10:00 +0800", tick=False), override_settings(**settings):
        clerk = api_as("clerk")
        c, h = clerk.client, clerk.headers
        body = json.dumps(intake_body(customer__name="甲"))
        for ct in ("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8"):
            r = c.post(APPS, body, content_type=ct, **h)
            out.append(
                (
                    ct,
                    r.status_code,
                    sorted((k, v) for k, v in r.headers.items() if k not in ("X-Request-ID", "Content-Length")),
                    len(r.content),
                )
            )
        for method in ("put", "patch", "options", "delete"):
            r = getattr(c, method)(APPS, body, content_type="application/json", **h)
            out.append((method, r.status_code, r.content))
        r = c.post(APPS, json.dumps(intake_body(address="a" * 100000)), content_type="application/json", **h)
        out.append(("long", r.status_code, r.content))
        r = c.post(APPS, "[" * 100000 + "]" * 100000, content_type="application/json", **h)
        out.append(("deep", r.status_code, r.content))
        r = c.post(
            APPS,
            json.dumps({**intake_body(), "extra": [[[[1]]]] * 10}),
            content_type="application/json",
            HTTP_AUTHORIZATION=h["HTTP_AUTHORIZATION"].replace("Bearer", "bearer"),
        )
        out.append(("lower bearer", r.status_code))
        transaction.set_rollback(True)
    return out


def test_hostile_and_odd_intakes_get_the_same_answers_on_the_fast_path(api_as):
    slow = _variety(api_as, fast=False)
    fast = _variety(api_as, fast=True)
    for a, b in zip(fast, slow, strict=True):
        assert a == b


def test_day_names_kept_on_a_clock_that_stepped_back_are_not_served_for_ever(personas):
    """case/page.py day_names keeps each year's names "at most caching.SECONDS on the kept pages'
    clock", but its age test (now - built >= SECONDS) never expires an entry built "in the
    future": after the wall clock steps back (NTP), an edited name stays unseen until the clock
    catches up. kept._fresh refuses such an entry (0 <= age < SECONDS)."""
    from sunshine import caching
    from sunshine.calendar import explain, workdays
    from sunshine.calendar.models import CalendarDay
    from sunshine.workbench.case import page
    from sunshine.workbench.desk import kept

    caching.clear_all()
    day = CalendarDay.objects.filter(date__year=2026).exclude(name="").order_by("date").first()
    with time_machine.travel("2026-11-04 10:00 +0800", tick=False):
        cal = workdays.current()
        assert page.day_names(cal, day.date, day.date) == {day.date: day.name}
    CalendarDay.objects.filter(pk=day.pk).update(name="元旦节（改）")
    with time_machine.travel("2026-11-04 09:00 +0800", tick=False):  # the clock stepped back an hour
        # a kept page's entry built at 10:00 is not fresh at 09:00 ...
        assert not kept._fresh((kept._now() + 3600.0, ""), kept._now())
        # ... but the day names built at 10:00 are still served (the edit unseen for an hour)
        assert explain.day_names(day.date, day.date) == {day.date: "元旦节（改）"}
        assert page.day_names(cal, day.date, day.date) == {day.date: "元旦节（改）"}


def test_a_frame_kept_for_one_session_is_what_another_session_of_the_same_user_renders_afresh(personas):
    """(passing) the kept frame against a fresh rendering for two sessions of one staff member in
    different states: languages, an HTMX request (a renamed staff member is the whole kept page's
    documented 30 s bound, kept.py, not the frame's)."""
    import re

    from django.conf import settings as django_settings

    from sunshine import caching
    from tests.test_workbench_case import at, client_for, new_app, url

    token = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')
    alice = personas["alice"]
    x, y = new_app(personas["clerk"]), new_app(personas["clerk"])
    type(x).objects.filter(pk__in=[x.pk, y.pk]).update(customer_manager=alice)

    def page(c, app, **h):  # type: ignore[no-untyped-def]
        r = c.get(url(app), **h)
        assert r.status_code == 200
        return token.sub(r"\1T", r.content.decode())

    with at("2026-11-04"):
        caching.clear_all()
        a, b = client_for(alice), client_for(alice)
        b.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
        for _ in (1, 2):
            for hdr in ({}, {"HTTP_HX_REQUEST": "true"}):
                page(a, x)
                page(b, x)
                kept_a, kept_b = page(a, y, **hdr), page(b, y, **hdr)
                caching.clear_all()
                assert kept_a == page(a, y, **hdr)
                assert kept_b == page(b, y, **hdr)
