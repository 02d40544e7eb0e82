import time_machine

from tests.conftest import intake_body


@time_machine.travel("2026-09-29 10:00 +0800", tick=False)
def test_counter_intake_over_national_day(api_as):
    clerk = api_as("clerk")
    r = clerk.post("/api/v1/applications", intake_body())
    assert r.status_code == 201, r.content
    app = r.json()
    assert app["current_stage"] == "survey"
    assert app["customer_manager"]["username"] == "alice"
    assert [s["code"] for s in app["stages"]] == ["acceptance", "survey", "connection"]
    survey = app["stages"][1]
    # started 9-29 (Tue); 9-30 is day 1, Oct 1-7 off, Oct 8 is day 2
    assert survey["deadline"] == "2026-10-08"
    assert app["accepted_at"] == "2026-09-29T10:00:00+08:00"
