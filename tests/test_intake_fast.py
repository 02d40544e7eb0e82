"""The staff intake's POST answered before URL resolution and ninja (sunshine/api/fast.py): the
same status, headers and body as through ninja, for every kind of answer; what ninja refuses
before the view (no accepted token, a body that does not parse or match its schema) is left to
ninja."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings

from sunshine import caching
from sunshine.applications import services
from sunshine.observe import metrics
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

APPS = "/api/v1/applications"


def _without_ids(value: Any) -> Any:
    """The body with its database ids left out (a rolled-back series keeps PostgreSQL's sequences
    moving, so the second series' ids differ; everything else must be equal)."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id" and not k.endswith("_id")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def answers(api_as, monkeypatch) -> list[tuple[int, dict[str, str], Any]]:
    """Every kind of answer of the intake's POST, in one transaction rolled back afterwards."""
    caching.clear_all()
    digits = itertools.count(100001)
    monkeypatch.setattr(services.secrets, "randbelow", lambda n: next(digits) % n)
    out = []
    with transaction.atomic(), time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        clerk, clerk_en, engineer = api_as("clerk"), api_as("clerk", "en"), api_as("engineer")
        raw = clerk.client
        auth = clerk.headers
        requests: list[tuple[Any, Any, dict[str, str]]] = [
            (clerk, intake_body(), {}),  # 201
            (clerk_en, intake_body(channel="online"), {}),  # 201, in English
            (clerk, intake_body(customer__name="李四"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),  # 201
            (clerk, intake_body(customer__name="李四"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),  # replay
            (clerk, intake_body(customer__name="王五"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),  # other body: 409
            (clerk, intake_body(), {"HTTP_IDEMPOTENCY_KEY": "k" * 201}),  # key too long: 422
            (clerk, intake_body(requested_capacity="8"), {}),  # schema: 422
            (clerk, intake_body(customer__id_number="110105194912310021"), {}),  # check character: 422
            (clerk, intake_body(requested_capacity=500), {}),  # beyond the category: 422
            (clerk, intake_body(address="太原市晋源区\x00路1号"), {}),  # NUL: 422
            (clerk, intake_body(extra=1), {}),  # an unknown field is ignored: 201
            (clerk, [intake_body()], {}),  # not an object: 400
            (engineer, intake_body(), {}),  # no intake role: 403
            (api_as(None), intake_body(), {}),  # no token: 401
        ]
        for who, body, headers in requests:
            r = who.post(APPS, body, **headers)
            out.append((r.status_code, r, _without_ids(r.json())))
        for text in ("{not json", "", "null"):  # malformed, empty, not an object
            r = raw.post(APPS, text, content_type="application/json", **auth)
            out.append((r.status_code, r, r.content))
        r = raw.post(APPS + "/", json.dumps(intake_body()), content_type="application/json", **auth)
        out.append((r.status_code, r, r.content))  # another path: not the intake's
        transaction.set_rollback(True)
    return [(s, {k: v for k, v in r.headers.items() if k != "X-Request-ID"}, b) for s, r, b in out]


def test_the_fast_path_answers_what_ninja_answers(api_as, monkeypatch):
    from sunshine.api import fast as module

    served = []
    real = module.staff_intake

    def spy(request):  # type: ignore[no-untyped-def]
        response = real(request)
        if request.path_info.startswith(APPS):
            served.append(response is not None)
        return response

    monkeypatch.setattr(module, "staff_intake", spy)
    fast = answers(api_as, monkeypatch)
    with override_settings(SUNSHINE_LEAN_FAST=None):
        slow = answers(api_as, monkeypatch)
    statuses = [a[0] for a in fast]
    assert statuses == [201, 201, 201, 201, 409, 422, 422, 422, 422, 422, 201, 400, 403, 401, 400, 422, 400, 404]
    # By the fast path: every intake of a caller the gateway accepted whose body matches the schema
    # (the engineer's token is a staff token: the view's role check answers 403); the anonymous
    # call never reaches the lean stack.
    assert served == [True] * 6 + [False, True, True, False, True, False, True] + [False] * 4
    assert [a[0] for a in slow] == statuses
    for a, b in zip(fast, slow, strict=True):
        assert a == b


def test_the_fast_path_still_names_its_route_in_the_metrics(api_as):
    def count() -> float:
        return float(metrics.HTTP_REQUESTS.labels("api/v1/applications", "POST", "201")._value.get())

    before = count()
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        assert api_as("clerk").post(APPS, intake_body()).status_code == 201
    assert count() == before + 1
