"""Webhooks and the event feed (issue 22, docs/integration.md), against a real HTTP receiver on
loopback that checks every signature with the ``standardwebhooks`` library
(tests/webhook_receiver.py). Reactions run as in production (worker mode): the outbox is drained
and the deliveries sent by ``jobs.polls.drain_all``, the workers' own loop.

PostgreSQL-only proofs (the feed paged while others write, a worker killed mid-delivery) are in
tests/test_webhooks_pg.py."""

from __future__ import annotations

import html as html_lib
import io
import re
from collections import defaultdict
from datetime import UTC, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from sunshine.accounts.models import Role, ServiceArea
from sunshine.applications import services as engine
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.jobs.polls import drain_all
from sunshine.notifications.models import Message
from sunshine.webhooks import delivery, feed, http, services
from sunshine.webhooks.models import ChangeKind, Delivery, DeliveryStatus, FeedItem, Subscription, SubscriptionChange
from tests.conftest import ApiClient, build_province, intake_body, make_user
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

NOW = "2026-11-16 10:00 +0800"  # a Monday
FLOW = [EventType.INTAKE, EventType.STAGE_STARTED, EventType.STAGE_COMPLETED, EventType.COMPLETED]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def worker(settings):
    settings.SUNSHINE_REACTIONS = "worker"
    settings.SUNSHINE_WEBHOOK_TIMEOUT_SECONDS = 1
    return settings


@pytest.fixture
def receiver():
    r = Receiver(slow_seconds=1.5)
    yield r
    r.stop()


def subscribe(admin, receiver: Receiver, types=FLOW, **extra) -> Subscription:
    sub, secret = services.create(
        admin, name="营销系统", url=receiver.url, event_types=[str(t) for t in types], **extra
    )
    receiver.secret = secret
    return sub


def new_app(clerk, i: int, **overrides) -> Application:
    body = intake_body(customer__name=f"客户{i}", customer__phone=f"1390000{i:04d}", **overrides)
    body["customer"]["id_number"] = "11010519491231002X"
    return engine.intake(validate_intake(body, timezone.localdate()), clerk).application


def walk(apps: list[Application], alice) -> None:
    """Survey done for every application; connection done (the application completed) for half."""
    for i, app in enumerate(apps):
        engine.complete_stage(app.number, "survey", alice)
        if i % 2 == 0:
            engine.complete_stage(app.number, "connection", alice)


def expected(sub_types, apps: list[Application]) -> dict[str, list[str]]:
    """Per application number, the ids of the events the subscription wants, oldest first."""
    out: dict[str, list[str]] = {}
    for app in apps:
        out[app.number] = [
            str(pk)
            for pk in Event.objects.filter(application=app, type__in=[str(t) for t in sub_types])
            .order_by("pk")
            .values_list("pk", flat=True)
        ]
    return out


def per_application(envelopes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for e in envelopes:
        out[e["subject"]].append(e["id"])
    return dict(out)


def test_intakes_and_transitions_reach_the_receiver_signed_once_and_in_order(personas, clock, worker, receiver):
    sub = subscribe(personas["admin"], receiver)
    apps = [new_app(personas["clerk"], i) for i in range(8)]
    walk(apps, personas["alice"])
    assert Delivery.objects.count() == 0  # nothing before the workers run: after commit only
    drain_all()

    want = expected(FLOW, apps)
    assert sum(len(v) for v in want.values()) == 8 * 4 + 8 * 2 + 4 * 2  # intake, acceptance, survey...
    assert receiver.bad_signatures == 0
    assert len(receiver.received) == sum(len(v) for v in want.values())  # each once
    assert per_application(receiver.received) == want  # in order per application
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}

    first = receiver.received[0]
    app0 = apps[0]
    intake_event = Event.objects.get(application=app0, type=EventType.INTAKE)
    assert first == {
        "specversion": "1.0",
        "id": str(intake_event.pk),
        "source": "urn:sunshine:applications",
        "type": "cn.sunshine.application.intake",
        "subject": app0.number,
        "time": intake_event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "sequence": str(FeedItem.objects.get(event_id=intake_event.pk).position),
        "data": {
            "event": "intake",
            "application": {
                "number": app0.number,
                "category": "lv_residential",
                "business_type": "new_connection",
                "channel": "counter",
                "area": "jinyuan",
                "customer": {"name": "客户0", "phone": "139****0000"},
            },
            "actor": "clerk",
            "stage": None,
            "round": None,
            "payload": intake_event.data,
        },
    }
    headers = receiver.headers[0]
    assert headers["webhook-id"] == first["id"]
    assert headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    raw = "".join(str(e) for e in receiver.received)
    assert "11010519491231002X" not in raw and "13900000000" not in raw
    assert sub.deliveries.count() == len(receiver.received)


def test_two_hundred_intakes_and_transitions_reach_each_subscription_exactly_as_it_asked(
    personas, clock, worker, receiver
):
    """Issue 22's "done when": 200 intakes and their transitions, the workers running between the
    writers' batches as in production. An unfiltered subscription gets every event of its types
    once, in order per application; one filtered to 小店区 and two types gets exactly those."""
    ServiceArea.objects.create(code="xiaodian", name="小店区", keywords="小店区")
    everything = subscribe(personas["admin"], receiver)
    narrow_receiver = Receiver()
    try:
        narrow = subscribe(
            personas["admin"], narrow_receiver, types=[EventType.INTAKE, EventType.COMPLETED], areas=["xiaodian"]
        )
        apps = []
        for batch in range(10):
            made = [
                new_app(personas["clerk"], i, **({"address": f"太原市小店区长风街{i}号"} if i % 4 < 2 else {}))
                for i in range(20 * batch, 20 * batch + 20)
            ]
            walk(made, personas["alice"])
            apps += made
            drain_all()
        assert len(apps) == 200
        want = expected(FLOW, apps)
        assert sum(map(len, want.values())) == 200 * 4 + 200 * 2 + 100 * 2
        assert len(receiver.received) == sum(map(len, want.values()))  # each once
        assert per_application(receiver.received) == want  # in order per application
        in_xiaodian = [a for a in apps if a.area.code == "xiaodian"]
        assert len(in_xiaodian) == 100
        narrow_want = expected([EventType.INTAKE, EventType.COMPLETED], in_xiaodian)
        assert sum(map(len, narrow_want.values())) == 100 + 50  # every other one completed
        assert len(narrow_receiver.received) == 150
        assert per_application(narrow_receiver.received) == narrow_want
        assert receiver.bad_signatures == narrow_receiver.bad_signatures == 0
        assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
        assert everything.deliveries.count() == 1400 and narrow.deliveries.count() == 150
    finally:
        narrow_receiver.stop()


def test_a_receiver_failing_for_hours_loses_nothing_and_repeats_nothing_after_dedup(personas, clock, worker, receiver):
    subscribe(personas["admin"], receiver)
    apps = [new_app(personas["clerk"], i) for i in range(4)]
    receiver.mode = "error"  # 503
    drain_all()
    assert receiver.received == [] and receiver.requests == 4  # one attempt per application: the rest wait
    walk(apps, personas["alice"])
    clock.shift(timedelta(minutes=10))
    drain_all()
    receiver.down()  # connection refused
    clock.shift(timedelta(hours=1))
    drain_all()
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts__gt=0).count() == 4
    receiver.up()
    receiver.mode = "slow"  # kept, but answered after the timeout: sent again later
    clock.shift(timedelta(hours=1))
    drain_all()
    assert len(receiver.received) == 4
    receiver.mode = "ok"
    for _ in range(30):
        clock.shift(timedelta(hours=1))
        drain_all()
        if not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists():
            break

    want = expected(FLOW, apps)
    unique = receiver.unique()
    assert per_application(unique) == want  # nothing lost, in order
    assert len(receiver.received) == len(unique) + 4  # the slow answers were sent again
    assert receiver.bad_signatures == 0
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == len(unique)
    failed_once = Delivery.objects.filter(attempts__gt=1).count()
    assert failed_once == 4  # the first of each application took several attempts


def test_a_subscription_never_sees_an_application_outside_its_filters(personas, clock, worker, receiver):
    other = ServiceArea.objects.create(code="xiaodian", name="小店区", keywords="小店区")
    personas["bob"].areas.set([other])
    sub = subscribe(personas["admin"], receiver, areas=["xiaodian"], categories=["lv_residential"])
    inside = new_app(personas["clerk"], 1, address="太原市小店区长风街1号")
    outside_area = new_app(personas["clerk"], 2)
    outside_category = new_app(
        personas["clerk"], 3, address="太原市小店区长风街3号", category="lv_non_residential", requested_capacity=50
    )
    drain_all()
    assert {e["subject"] for e in receiver.received} == {inside.number}
    assert per_application(receiver.received) == expected(FLOW, [inside])
    # a redelivery by hand stays inside the filters too
    services.redeliver(
        sub, personas["admin"], since=timezone.now() - timedelta(hours=1), until=timezone.now() + timedelta(hours=1)
    )
    drain_all()
    assert {e["subject"] for e in receiver.received} == {inside.number}
    assert not Delivery.objects.filter(application__in=[outside_area, outside_category]).exists()


@pytest.fixture
def districts(personas, area):
    """The test province's units, 晋源区 and 小店区 of 太原 and 平城区 of 大同 as service areas of
    their counties."""
    units = build_province()
    area.unit = units["ty-jinyuan"]
    area.save()
    ServiceArea.objects.create(code="xiaodian", name="小店区", keywords="小店区", unit=units["ty-xiaodian"])
    ServiceArea.objects.create(code="pingcheng", name="平城区", keywords="平城区", unit=units["dt-pingcheng"])
    return units


UNIT_FLOW = [EventType.INTAKE, EventType.STAGE_COMPLETED, EventType.UNIT_MOVED]


def test_a_unit_subscription_gets_its_subtree_as_it_was_when_each_event_happened(
    personas, districts, clock, worker, receiver
):
    """Subscriptions for 太原 (the city and its districts), for 晋源区 and for 大同. An application of
    晋源区 moves to 平城区 (大同) and goes on there; everything happens before the workers run, so
    the events are published after the move: each still goes where its application was then, the
    move itself to both sides."""
    admin, clerk, alice = personas["admin"], personas["clerk"], personas["alice"]
    receivers = {"ty": receiver, "ty-jinyuan": Receiver(), "dt": Receiver()}
    try:
        subs = {code: subscribe(admin, r, types=UNIT_FLOW, units=[code]) for code, r in receivers.items()}
        moved = new_app(clerk, 1)  # 晋源区
        stays = new_app(clerk, 2, address="太原市小店区长风街2号")
        datong = new_app(clerk, 3, address="大同市平城区魏都大道3号")
        for app in (moved, stays, datong):
            engine.complete_stage(app.number, "survey", alice)
        engine.move_unit(moved.number, admin, unit_code="dt-pingcheng", reason="地址在平城区")
        engine.complete_stage(moved.number, "connection", alice)
        drain_all()

        def ids(app, *types):
            rows = Event.objects.filter(application=app, type__in=types).order_by("pk")
            return [str(pk) for pk in rows.values_list("pk", flat=True)]

        move = ids(moved, "unit_moved")
        before = [i for i in ids(moved, "intake", "stage_completed") if int(i) < int(move[0])]
        after = [i for i in ids(moved, "stage_completed") if int(i) > int(move[0])]
        assert len(before) == 3 and len(move) == 1 and len(after) == 1  # intake, acceptance, survey
        assert per_application(receivers["ty"].received) == {
            moved.number: before + move,
            stays.number: ids(stays, "intake", "stage_completed"),
        }
        assert per_application(receivers["ty-jinyuan"].received) == {moved.number: before + move}
        assert per_application(receivers["dt"].received) == {
            moved.number: move + after,
            datong.number: ids(datong, "intake", "stage_completed"),
        }
        assert all(r.bad_signatures == 0 for r in receivers.values())
        # a redelivery by hand of everything keeps to the same units
        for sub in subs.values():
            services.redeliver(
                sub, admin, since=timezone.now() - timedelta(hours=1), until=timezone.now() + timedelta(hours=1)
            )
        drain_all()
        assert per_application(receivers["ty-jinyuan"].unique()) == {moved.number: before + move}
        assert len(receivers["ty-jinyuan"].received) == 2 * 4  # each of its four again
        assert per_application(receivers["dt"].unique()) == {
            moved.number: move + after,
            datong.number: ids(datong, "intake", "stage_completed"),
        }
        assert not Delivery.objects.filter(subscription=subs["ty-jinyuan"], application__in=[stays, datong]).exists()
    finally:
        for code in ("ty-jinyuan", "dt"):
            receivers[code].stop()


def test_unit_area_and_category_filters_all_apply(personas, districts, clock, worker, receiver):
    sub = subscribe(
        personas["admin"], receiver, types=[EventType.INTAKE], units=["ty"], areas=["xiaodian", "pingcheng"],
        categories=["lv_residential"],
    )  # fmt: skip
    clerk = personas["clerk"]
    inside = new_app(clerk, 1, address="太原市小店区长风街1号")
    new_app(clerk, 2)  # 晋源区: in 太原, not in the areas
    new_app(clerk, 3, address="大同市平城区魏都大道3号")  # in the areas, not in 太原
    new_app(clerk, 4, address="太原市小店区长风街4号", category="lv_non_residential", requested_capacity=50)
    drain_all()
    assert [e["subject"] for e in receiver.received] == [inside.number]
    assert list(sub.deliveries.values_list("application__number", flat=True)) == [inside.number]
    r = ApiClient(personas["admin"]).get(f"/api/v1/webhooks/subscriptions/{sub.pk}").json()
    assert (r["units"], r["areas"], r["categories"]) == (["ty"], ["pingcheng", "xiaodian"], ["lv_residential"])


def test_the_api_sets_a_subscriptions_units_and_refuses_unknown_ones(personas, districts, clock):
    admin = ApiClient(personas["admin"])
    made = admin.post(
        "/api/v1/webhooks/subscriptions",
        {"name": "大同GIS", "url": "https://gis.example.cn/hooks", "event_types": ["intake"], "units": ["dt"]},
    )
    assert made.status_code == 201 and made.json()["units"] == ["dt"]
    pk = made.json()["id"]
    bad = admin.post(f"/api/v1/webhooks/subscriptions/{pk}", {"units": ["dt", "nope"]})
    assert (bad.status_code, bad.json()["fields"]) == (422, {"units": ["未知的单位。"]})
    ok = admin.post(f"/api/v1/webhooks/subscriptions/{pk}", {"units": ["dt-pingcheng", "ty"]})
    assert ok.status_code == 200 and ok.json()["units"] == ["dt-pingcheng", "ty"]
    assert list(SubscriptionChange.objects.order_by("id").values_list("kind", "changes__units")) == [
        ("created", ["dt"]),
        ("changed", [["dt"], ["dt-pingcheng", "ty"]]),
    ]


def test_the_feed_of_a_unit_scoped_token_holds_its_subtrees_applications_only(personas, districts, clock):
    clerk = personas["clerk"]
    jinyuan = new_app(clerk, 1)
    xiaodian = new_app(clerk, 2, address="太原市小店区长风街2号")
    datong = new_app(clerk, 3, address="大同市平城区魏都大道3号")
    readers = {
        "city": make_user("city_leader", Role.LEADER, unit=districts["ty"]),
        "county": make_user("county_auditor", Role.AUDITOR, unit=districts["ty-jinyuan"]),
        "other_city": make_user("datong_leader", Role.LEADER, unit=districts["dt"]),
        "top": make_user("province_auditor", Role.AUDITOR, unit=districts["sx"]),
    }

    def subjects(user) -> list[str]:
        page = ApiClient(user).get("/api/v1/events", limit=1000).json()
        return sorted({e["subject"] for e in page["events"]})

    assert subjects(readers["city"]) == sorted([jinyuan.number, xiaodian.number])
    assert subjects(readers["county"]) == [jinyuan.number]
    assert subjects(readers["other_city"]) == [datong.number]
    assert subjects(readers["top"]) == sorted([jinyuan.number, xiaodian.number, datong.number])
    # scoped as the applications list: an application moved away leaves the county's feed with
    # all its events, and joins 大同's
    engine.move_unit(jinyuan.number, personas["admin"], unit_code="dt-pingcheng", reason="地址在平城区")
    assert subjects(readers["county"]) == []
    assert subjects(readers["other_city"]) == sorted([jinyuan.number, datong.number])
    moved_feed = ApiClient(readers["other_city"]).get("/api/v1/events", limit=1000).json()["events"]
    assert [e["data"]["event"] for e in moved_feed if e["subject"] == jinyuan.number] == [
        t for t in Event.objects.filter(application=jinyuan).order_by("pk").values_list("type", flat=True)
    ]


def test_personal_data_only_to_a_subscription_allowed_it_and_the_change_is_audited(personas, clock, worker, receiver):
    admin = personas["admin"]
    sub = subscribe(admin, receiver, types=[EventType.INTAKE])
    services.update(sub, admin, allow_personal_data=True)
    new_app(personas["clerk"], 7)
    drain_all()
    assert receiver.received[0]["data"]["application"]["customer"] == {
        "name": "客户7",
        "phone": "13900000007",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
    }
    assert list(SubscriptionChange.objects.order_by("id").values_list("kind", "actor__username", "changes")) == [
        (
            ChangeKind.CREATED,
            "admin",
            {
                "name": "营销系统",
                "url": receiver.url,
                "event_types": ["intake"],
                "units": [],
                "areas": [],
                "categories": [],
                "enabled": True,
                "paused_at": None,
                "allow_personal_data": False,
                "owner": "admin",
            },
        ),
        (ChangeKind.CHANGED, "admin", {"allow_personal_data": [False, True]}),
    ]


def test_a_day_of_failures_fails_the_delivery_pauses_the_subscription_and_tells_its_owner(
    personas, clock, worker, receiver
):
    admin = personas["admin"]
    sub = subscribe(admin, receiver, types=[EventType.INTAKE])
    app = new_app(personas["clerk"], 1)
    receiver.mode = "error"
    for _ in range(30):
        drain_all()
        clock.shift(timedelta(hours=1))
    d = Delivery.objects.get()
    assert (d.status, d.last_status, d.last_response) == (
        DeliveryStatus.FAILED,
        503,
        'HTTP 503: {"error": "maintenance"}',
    )
    sub.refresh_from_db()
    assert sub.paused_at is not None and sub.pause_reason == 'HTTP 503: {"error": "maintenance"}'
    told = Message.objects.get(user=admin, template="webhook_paused", channel="inbox")
    assert told.title == "事件推送订阅已暂停" and "营销系统" in told.body
    # paused: new events wait for the subscription
    receiver.mode = "ok"
    second = new_app(personas["clerk"], 2)
    drain_all()
    assert receiver.received == []
    # resumed, and the failed one asked again by hand (the management command)
    services.update(sub, admin, resume=True)
    out = io.StringIO()
    call_command(
        "redeliver_webhooks",
        str(sub.pk),
        "--event",
        str(Event.objects.get(application=app, type="intake").pk),
        stdout=out,
    )
    assert out.getvalue() == "1 deliveries to 营销系统 will be sent again\n"
    drain_all()
    assert sorted(e["subject"] for e in receiver.received) == sorted([app.number, second.number])
    assert list(SubscriptionChange.objects.order_by("id").values_list("kind", flat=True)) == [
        ChangeKind.CREATED,
        ChangeKind.PAUSED,
        ChangeKind.CHANGED,
        ChangeKind.REDELIVERY,
    ]


def test_a_failed_delivery_is_on_the_jobs_page_with_its_last_answer_and_sent_again_from_there(
    personas, clock, worker, receiver, client
):
    worker.SUNSHINE_WEBHOOK_RETRY_SECONDS = 0  # the first failed attempt is the last
    admin = personas["admin"]
    sub = subscribe(admin, receiver, types=[EventType.INTAKE])
    app = new_app(personas["clerk"], 1)
    receiver.mode = "error"
    drain_all()
    failed = Delivery.objects.get()
    assert failed.status == DeliveryStatus.FAILED
    client.force_login(admin)
    html = client.get("/workbench/jobs/").content.decode()
    row = re.search(rf'<tr id="delivery-{failed.pk}">(.*?)</tr>', html, re.S)
    assert row, html
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", row[1])).split())
    event_id = Event.objects.get(application=app, type="intake").pk
    assert text == (
        f"{timezone.localtime(failed.last_attempt_at):%m-%d %H:%M} 营销系统 （已暂停） {app.number} 受理 #{event_id} 1 "
        f'HTTP 503: {{"error": "maintenance"}} 重新发送 营销系统 {app.number}'
    )
    assert f'action="/workbench/jobs/webhooks/{failed.pk}/retry/"' in row[1]
    assert "未能推送给其他系统的事件" in html

    receiver.mode = "ok"
    r = client.post(f"/workbench/jobs/webhooks/{failed.pk}/retry/")
    assert r.status_code == 302 and r["Location"] == "/workbench/jobs/"
    page = client.get("/workbench/jobs/").content.decode()
    assert "该事件将重新推送给 营销系统。" in page and f'id="delivery-{failed.pk}"' not in page
    sub.refresh_from_db()
    assert sub.paused_at is None
    drain_all()
    assert [e["id"] for e in receiver.received] == [str(event_id)]
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert list(sub.changes.order_by("id").values_list("kind", "actor__username")) == [
        (ChangeKind.CREATED, "admin"),
        (ChangeKind.PAUSED, None),
        (ChangeKind.CHANGED, "admin"),
        (ChangeKind.REDELIVERY, "admin"),
    ]
    # only a failed one, and only by an administrator
    again = client.post(f"/workbench/jobs/webhooks/{failed.pk}/retry/", follow=True).content.decode()
    assert "只有失败的事件推送可以重新发送。" in again
    client.force_login(personas["leader"])
    assert client.post(f"/workbench/jobs/webhooks/{failed.pk}/retry/").status_code == 403


def test_redirects_are_not_followed_and_count_as_failures(personas, clock, worker, receiver):
    subscribe(personas["admin"], receiver, types=[EventType.INTAKE])
    new_app(personas["clerk"], 1)
    receiver.mode = "redirect"
    drain_all()
    d = Delivery.objects.get()
    assert (d.status, d.last_status, receiver.redirect_target_hits) == (DeliveryStatus.PENDING, 302, 0)


def test_callback_addresses_production_refuses(settings):
    settings.SUNSHINE_WEBHOOK_ALLOW_LOOPBACK = False
    assert http.check_url("http://127.0.0.1:8080/x") == "https is required"
    assert http.check_url("https://127.0.0.1/x") == "loopback addresses are refused"
    assert http.check_url("https://localhost/x") == "loopback addresses are refused"
    assert http.check_url("https://10.1.2.3/x") == "private or reserved addresses are refused"
    assert http.check_url("https://169.254.169.254/latest") == "private or reserved addresses are refused"
    assert http.check_url("https://[::ffff:192.168.0.1]/x") == "private or reserved addresses are refused"
    assert http.check_url("https://user:pw@example.com/x") == "credentials in the URL"
    assert http.check_url("ftp://example.com/x") == "not an http(s) URL"
    assert http.check_url("https://example.com/x") is None
    with pytest.raises(http.Refused, match="resolves to a refused address"):
        http.resolve("localhost", 443)
    settings.SUNSHINE_WEBHOOK_ALLOWED_NETWORKS = "10.1.0.0/16"
    http._networks.cache_clear()
    assert http.check_url("https://10.1.2.3/x") is None
    assert http.check_url("https://10.2.2.3/x") == "private or reserved addresses are refused"
    # trial: loopback over plain http
    settings.SUNSHINE_WEBHOOK_ALLOW_LOOPBACK = True
    assert http.check_url("http://127.0.0.1:8080/x") is None
    assert http.check_url("http://example.com/x") == "https is required"


def test_signature_matches_the_standard_webhooks_library():
    from standardwebhooks import Webhook

    secret = services.new_secret()
    body = delivery.body_of({"id": "42", "data": {"名": "值"}})
    at = timezone.now()
    assert delivery.sign(secret, "42", int(at.timestamp()), body) == Webhook(secret).sign("42", at, body)


# --- the feed ---------------------------------------------------------------------------------


def test_the_feed_pages_every_event_once_in_order_scoped_to_the_caller(personas, clock, api_as):
    apps = [new_app(personas["clerk"], i) for i in range(3)]
    walk(apps, personas["alice"])
    admin = api_as("admin")
    seen, after = [], 0
    while True:
        page = admin.get("/api/v1/events", after=after, limit=5).json()
        seen += page["events"]
        after = page["next"]
        if not page["has_more"]:
            break
    published = list(Event.objects.exclude(type=EventType.PII_VIEWED).order_by("pk").values_list("pk", flat=True))
    assert sorted(int(e["id"]) for e in seen) == published
    assert [int(e["sequence"]) for e in seen] == list(range(1, len(published) + 1))
    # nothing new: the same cursor gives an empty page
    assert admin.get("/api/v1/events", after=after).json() == {"events": [], "next": after, "has_more": False}
    # a customer manager reads only her own applications' events (intake shares them out by load)
    hers = set(Application.objects.filter(customer_manager=personas["alice"]).values_list("number", flat=True))
    assert 0 < len(hers) < 3
    mine = api_as("alice").get("/api/v1/events", limit=1000).json()["events"]
    assert {e["subject"] for e in mine} == hers


def test_the_api_makes_a_subscription_shows_its_secret_once_and_audits(personas, api_as, clock):
    admin = api_as("admin")
    r = admin.post(
        "/api/v1/webhooks/subscriptions",
        {"name": "一网通办", "url": "https://gov.example.cn/hooks", "event_types": ["intake", "completed"]},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 38
    pk = body["id"]
    got = admin.get(f"/api/v1/webhooks/subscriptions/{pk}").json()
    assert "secret" not in got
    assert got["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    r = admin.post(f"/api/v1/webhooks/subscriptions/{pk}", {"enabled": False, "categories": ["hv_single"]})
    assert r.status_code == 200 and (r.json()["enabled"], r.json()["categories"]) == (False, ["hv_single"])
    assert list(SubscriptionChange.objects.order_by("id").values_list("kind", "changes__enabled")) == [
        ("created", True),
        ("changed", [True, False]),
    ]
    for url, types, field in (
        ("http://gov.example.cn/", ["intake"], "url"),
        ("https://gov.example.cn/", ["pii_viewed"], "event_types"),
        ("https://10.0.0.8/", ["intake"], "url"),
    ):
        bad = admin.post("/api/v1/webhooks/subscriptions", {"name": "x", "url": url, "event_types": types})
        assert (bad.status_code, set(bad.json()["fields"])) == (422, {field})
    assert api_as("leader").get("/api/v1/webhooks/subscriptions").status_code == 403
    assert admin.post(f"/api/v1/webhooks/subscriptions/{pk}/redeliveries", {}).status_code == 422
    assert admin.post(f"/api/v1/webhooks/subscriptions/{pk}/redeliveries", {"event_id": 1}).json() == {"deliveries": 0}


def test_publishing_twice_gives_each_event_one_position(personas, clock):
    app = new_app(personas["clerk"], 1)  # eager: published in the change's transaction
    events = list(Event.objects.filter(application=app))
    assert feed.publish(events) == []
    assert FeedItem.objects.count() == len(events)
