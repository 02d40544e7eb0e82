"""The public look-up's GET answered before URL resolution and ninja (sunshine/api/fast.py): the
same status, headers and bytes as through ninja, for every kind of answer."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings

from sunshine import caching
from sunshine.observe import metrics
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/public/applications"


@pytest.fixture
def number(api_as) -> str:
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        return str(r.json()["number"])


def answers(number: str) -> list[tuple[int, dict[str, str], bytes]]:
    """Every kind of answer of the look-up's GET, asked by a fresh client and process state."""
    caching.clear_all()
    cache.clear()
    c = Client()
    out = []
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        first = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
        etag = first["ETag"]
        requests: list[tuple[str, dict[str, Any]]] = [
            (f"{PUBLIC}/{number}?phone_tail=8000", {}),  # kept now
            (f"{PUBLIC}/{number}?phone_tail=8000", {"HTTP_IF_NONE_MATCH": etag}),  # 304
            (f"{PUBLIC}/{number}?phone_tail=8000", {"HTTP_ACCEPT_LANGUAGE": "en"}),
            (f"{PUBLIC}/{number}?phone_tail=0000", {}),  # wrong ending: 404
            (f"{PUBLIC}/{number}", {}),  # no ending: 404
            (f"{PUBLIC}/{number}?phone_tail=8000&phone_tail=8000", {}),  # repeated: 422
            (f"{PUBLIC}/{number}?phone_tail=8000&other=1", {}),  # an unknown parameter is ignored
            (f"{PUBLIC}/YK0000000000000?phone_tail=8000", {}),  # unknown number
            (f"{PUBLIC}/{'9' * 41}?phone_tail=8000", {}),  # too long to be one
            (f"{PUBLIC}/YK%00?phone_tail=8000", {}),  # NUL
            (f"{PUBLIC}/{number}/?phone_tail=8000", {}),  # another path: the router's 404
            (f"{PUBLIC}/%E9%98%B3%E5%85%89?phone_tail=8000", {}),  # not ASCII
        ]
        for path, headers in [(f"{PUBLIC}/{number}?phone_tail=8000", {}), *requests]:
            r = c.get(path, **headers)
            out.append((r.status_code, {k: v for k, v in r.headers.items() if k != "X-Request-ID"}, r.content))
        head = c.head(f"{PUBLIC}/{number}?phone_tail=8000")  # not the fast path (GET only): ninja's 405
        out.append((head.status_code, {k: v for k, v in head.headers.items() if k != "X-Request-ID"}, head.content))
        # Too many look-ups from this client: 429 with Retry-After.
        with override_settings(SUNSHINE_PUBLIC_LOOKUPS=2):
            for _ in range(3):
                r = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
            out.append((r.status_code, {k: v for k, v in r.headers.items() if k != "X-Request-ID"}, r.content))
    return out


def test_the_fast_path_answers_what_ninja_answers(number, monkeypatch):
    from sunshine.api import fast as module

    served = []
    real = module.public_lookup

    def spy(request):  # type: ignore[no-untyped-def]
        response = real(request)
        served.append(response is not None)
        return response

    monkeypatch.setattr(module, "public_lookup", spy)
    fast = answers(number)
    # Every GET of the look-up's path by the fast path; the other path and the HEAD by ninja.
    assert served == [True] * 11 + [False, True, False, True, True, True]
    with override_settings(SUNSHINE_LEAN_FAST=None):
        slow = answers(number)
    assert [a[0] for a in fast] == [200, 200, 304, 200, 404, 404, 422, 200, 404, 404, 404, 404, 404, 405, 429]
    assert fast == slow


def test_the_fast_path_still_names_its_route_in_the_metrics(number):
    def count() -> float:
        sample = metrics.HTTP_REQUESTS.labels("api/v1/public/applications/<number>", "GET", "200")
        return float(sample._value.get())

    before = count()
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        assert Client().get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code == 200
    assert count() == before + 1
