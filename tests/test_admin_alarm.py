import time_machine


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_admin_home_warns_while_next_year_is_provisional(client, personas):
    client.force_login(personas["admin"])
    page = client.get("/admin/").content.decode()
    assert "2027年节假日安排" in page or "2027 年节假日安排" in page
    assert 'class="warning"' in page


@time_machine.travel("2026-03-02 10:00 +0800", tick=False)
def test_admin_home_is_quiet_when_this_and_next_year_are_confirmed(client, personas):
    from sunshine.calendar.models import CalendarYear

    CalendarYear.objects.create(year=2027, status="official", source="test notice")
    client.force_login(personas["admin"])
    page = client.get("/admin/").content.decode()
    assert 'class="warning"' not in page
