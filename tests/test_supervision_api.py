"""API v1 of leader supervision: list and take charge; errors in the common body; access."""

from __future__ import annotations

import pytest

from sunshine.supervision.models import LeaderSupervision
from tests.test_sweep import at, intake


@pytest.mark.django_db
def test_a_leader_takes_charge_and_the_list_shows_it(api_as, personas):
    app = intake("2026-11-16")
    with at("2026-11-16", "12:00"):
        leader = api_as("leader")
        r = leader.post(
            f"/api/v1/applications/{app.number}/supervision", {"reason": "重点项目", "target_date": "2026-12-31"}
        )
        assert r.status_code == 201, r.content
        assert r.json() | {"started_at": None} == {
            "number": app.number,
            "leader": "leader",
            "reason": "重点项目",
            "target_date": "2026-12-31",
            "started_at": None,
            "current_stage": None,
            "deadline": None,
            "overdue": False,
            "last_review": None,
        }
        again = leader.post(
            f"/api/v1/applications/{app.number}/supervision", {"reason": "x", "target_date": "2026-12-31"}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "already_supervised"
    with at("2026-11-19", "09:00"):
        listing = api_as("auditor").get("/api/v1/supervisions")
    assert listing.status_code == 200
    [row] = listing.json()["results"]
    assert (row["number"], row["current_stage"], row["deadline"], row["overdue"]) == (
        app.number,
        "survey",
        "2026-11-18",
        True,
    )


@pytest.mark.django_db
def test_bad_input_and_wrong_roles_change_nothing(api_as, personas):
    app = intake("2026-11-16")
    url = f"/api/v1/applications/{app.number}/supervision"
    with at("2026-11-16", "12:00"):
        r = api_as("leader").post(url, {"reason": "", "target_date": "31/12/2026"})
        assert r.status_code == 422
        assert r.json()["code"] == "validation_error"
        assert set(r.json()["fields"]) == {"reason", "target_date"}  # every failing field at once
        r = api_as("leader").post(url, {"reason": " ", "target_date": "2026-12-31"})
        assert r.status_code == 422 and set(r.json()["fields"]) == {"reason"}
        assert api_as("alice").post(url, {"reason": "x", "target_date": "2026-12-31"}).status_code == 403
        assert api_as("alice").get("/api/v1/supervisions").status_code == 403
        assert api_as("clerk").get("/api/v1/supervisions").status_code == 403
    assert LeaderSupervision.objects.count() == 0
