"""Issue 19's done-when through the API on the demo province (the browser half is
tests/test_browser_units.py): with the demo accounts' own passwords, the 晋源区 leader lists only
晋源区's applications, city_leader all of 太原's (more than 晋源区), province_auditor all; the
``unit`` filter narrows within one's units and refuses another's."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from sunshine.applications.models import Application
from sunshine.ops.demo.accounts import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
NOW = "2026-11-27 10:00 +0800"
JINYUAN = ["ty-jinyuan", "ty-jinyuan-jinci"]


class Caller:
    def __init__(self, username: str) -> None:
        self.client = Client()
        r = self.client.post(
            "/api/v1/auth/token",
            json.dumps({"username": username, "password": DEMO_PASSWORD}),
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
        self.auth = {"HTTP_AUTHORIZATION": "Bearer " + r.json()["token"]}

    def count(self, **params: str) -> tuple[int, int | None]:
        r = self.client.get("/api/v1/applications", params, **self.auth)
        return r.status_code, r.json().get("count")


def test_each_level_of_the_demo_lists_its_part_of_the_province(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", applications=60, stdout=StringIO())
    jinyuan = Application.objects.filter(unit__code__in=JINYUAN).count()
    taiyuan = Application.objects.filter(unit__path__startswith="/sx/ty/").count()
    everything = Application.objects.count()
    xiaodian = Application.objects.filter(unit__code="ty-xiaodian").count()
    assert 0 < jinyuan < taiyuan < everything
    with time_machine.travel(NOW, tick=True):
        leader, city, province = Caller("leader"), Caller("city_leader"), Caller("province_auditor")
        assert leader.count() == (200, jinyuan)
        assert city.count() == (200, taiyuan)
        assert province.count() == (200, everything)
        # the unit filter: the unit and everything below it, within the caller's units
        assert city.count(unit="ty-jinyuan") == (200, jinyuan)
        assert city.count(unit="ty-xiaodian") == (200, xiaodian)
        assert province.count(unit="ty") == (200, taiyuan)
        assert leader.count(unit="ty-jinyuan") == (200, jinyuan)
        assert leader.count(unit="ty")[0] == 403
        assert city.count(unit="dt")[0] == 403
