"""Staff pages kept per version (sunshine/workbench/desk/kept.py): the application page's body and
the work queue's list are rendered once per version of what they show and served again with the
request's own CSRF token; any change of an application, another staff member, another day or an
entry older than 30 s renders afresh."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.workbench.desk import kept
from tests.test_workbench_case import at, client_for, new_app, text, url

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _get(c: Client, path: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        r = c.get(path)
    assert r.status_code == 200
    return r.content.decode(), len(ctx.captured_queries)


def _without_tokens(html: str) -> str:
    return TOKEN.sub("TOKEN", html).replace(re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1), "TOKEN")


@pytest.fixture
def app(personas) -> Application:
    return new_app(personas["clerk"])  # alice's


def test_the_application_page_is_kept_per_version_and_served_with_the_request_token(personas, app):
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas["alice"])
    with at("2026-11-03"):
        first, built = _get(c, url(app))
        again, served = _get(c, url(app))
        # the same page for fewer queries (no stages, events, documents or supervision read again)
        assert _without_tokens(again) == _without_tokens(first)
        assert served < built
        assert kept.PLACEHOLDER not in again
        token = re.search(r'id="complete-form".*?' + TOKEN.pattern, again, re.S).group(1)
        assert token not in first  # put in for this request
        # the kept page's token is this session's: its form is accepted
        r = c.post(
            url(app, "complete"), {"csrfmiddlewaretoken": token, "complete-stage": "survey", "complete-round": "1"}
        )
        assert r.status_code == 302 and r["Location"] == url(app)
        # the change is a new version: the page shows it at once
        after, rebuilt = _get(c, url(app))
    # the same reads but the calendar's day names (kept per year for 30 s), and the unread count of
    # the frame rendered afresh around its message (a whole page to keep takes it from the user's
    # read: workbench/desk/middleware.py)
    assert rebuilt == built - 1 + 1
    assert "环节已办结。" in text(after.encode())
    assert 'data-stage="survey"' in after and 'id="complete-form"' in after
    assert re.search(r"<h3>办结“装表接电”</h3>", after) and not re.search(r"<h3>办结“现场勘查”</h3>", after)


def test_each_staff_member_day_and_language_has_its_own_page(personas, app):
    alice, leader = client_for(personas["alice"]), client_for(personas["leader"])
    in_english = Client(HTTP_ACCEPT_LANGUAGE="en")
    in_english.force_login(personas["alice"])
    with at("2026-11-03"):
        mine, _ = _get(alice, url(app))
        theirs, _ = _get(leader, url(app))
        english, _ = _get(in_english, url(app))
    # what each may do: the leader reassigns, the customer manager does not
    assert 'id="reassign-form"' in theirs and 'id="reassign-form"' not in mine
    with at("2026-11-03"):
        _, kept_today = _get(alice, url(app))
    with at("2026-11-04"):
        _, next_day = _get(alice, url(app))
    assert next_day > kept_today
    assert "Timeline of stages" in english and "Timeline of stages" not in mine


def test_a_page_with_errors_or_a_revealed_value_is_never_kept(personas, app):
    c = client_for(personas["alice"])
    with at("2026-11-03"):
        r = c.post(url(app, "pause"), {"pause-stage": "survey", "pause-round": "1", "pause-reason_code": ""})
        assert r.status_code == 200 and "errorlist" in r.content.decode()
        page, _ = _get(c, url(app))
    assert "errorlist" not in page


def test_a_kept_page_older_than_30_seconds_is_rendered_again(personas, app, monkeypatch):
    c = client_for(personas["alice"])
    clock = [1000.0]
    monkeypatch.setattr(kept, "_now", lambda: clock[0])
    with at("2026-11-03"):
        _, built = _get(c, url(app))
        clock[0] += 29
        _, served = _get(c, url(app))
        # a change no event records (the manager's work phone) shows within 30 s
        personas["alice"].work_phone = "0351-7654321"
        personas["alice"].save(update_fields=["work_phone"])
        clock[0] += 2
        page, rebuilt = _get(c, url(app))
    assert served < built == rebuilt
    assert "0351-7654321" in page


# --- the work queue -----------------------------------------------------------------------------------


def _hers(personas, app: Application) -> Application:
    """``app`` reassigned to alice by the leader (an event, as every change)."""
    if app.customer_manager_id != personas["alice"].pk:
        services.reassign(app.number, personas["leader"], username="alice", reason="测试")
    return app


def test_the_queue_is_kept_until_one_of_its_applications_changes(personas):
    first = _hers(personas, new_app(personas["clerk"]))
    c = client_for(personas["alice"])
    with at("2026-11-03"):
        page, built = _get(c, "/workbench/")
        _, served = _get(c, "/workbench/")
        assert served < built
        assert page.count("<tr data-number=") == 1
        # another application of hers: counted and listed at once
        second = _hers(personas, new_app(personas["clerk"], when="2026-11-03"))
        page, _ = _get(c, "/workbench/")
        assert re.findall(r'<tr data-number="(\w+)"', page) == [first.number, second.number]
        # a change of one of them (its stage): the queue shows it at once
        services.complete_stage(first.number, "survey", personas["alice"])
        page, _ = _get(c, "/workbench/")
    row = re.search(rf'<tr data-number="{first.number}">.*?</tr>', page, re.S).group(0)
    assert "装表接电" in row
    assert 'id="queue-count"' in page and "2" in re.search(r'id="queue-count">([^<]*)<', page).group(1)


def test_the_queue_keeps_each_filter_and_page_apart(personas):
    _hers(personas, new_app(personas["clerk"]))
    _hers(personas, new_app(personas["clerk"], category="lv_non_residential", requested_capacity=50))
    c = client_for(personas["alice"])
    with at("2026-11-03"):
        all_, _ = _get(c, "/workbench/")
        residential, _ = _get(c, "/workbench/?category=lv_residential")
        overdue, _ = _get(c, "/workbench/?overdue=1")
    assert all_.count("<tr data-number=") == 2
    assert residential.count("<tr data-number=") == 1
    assert overdue.count("<tr data-number=") == 0


# --- whole pages: the frame kept too, the unread count and messages live, shared between processes ------


def test_a_kept_page_counts_the_unread_messages_for_each_request(personas, app):
    from sunshine.notifications.models import Message
    from sunshine.notifications.selectors import unread_count
    from sunshine.notifications.services import notify_staff

    alice = personas["alice"]
    Message.objects.filter(user=alice).update(read_at="2026-11-02T10:00:00+08:00")  # the intake's notice
    c = client_for(alice)
    with at("2026-11-03"):
        page, built = _get(c, url(app))
        assert '<span class="count">' not in page and kept.INBOX not in page
        notify_staff([alice], "message", {"text": "请核对"}, key="k1")
        notify_staff([alice], "message", {"text": "开会"}, key="k2")
        page, served = _get(c, url(app))
        assert served < built
        assert '<a href="/workbench/inbox/"><svg' in page and '<span class="count">2</span>' in page
        queue, _ = _get(c, "/workbench/")
        again, _ = _get(c, "/workbench/")
        assert '<span class="count">2</span>' in queue and '<span class="count">2</span>' in again
        Message.objects.filter(user=alice).update(read_at="2026-11-03T10:00:00+08:00")
        page, _ = _get(c, url(app))
        # the kept queue: besides the session and the signed-in user (with the unread count), its
        # version only
        with CaptureQueriesContext(connection) as ctx:
            queue = c.get("/workbench/").content.decode()
        own = [q["sql"] for q in ctx.captured_queries if "django_session" not in q["sql"]]
        own = [sql for sql in own if "accounts_user" not in sql]
        assert len(own) == 1 and "applications_queuestamp" in own[0]
    assert '<span class="count">' not in page and kept.INBOX not in page
    assert '<span class="count">' not in queue and kept.INBOX not in queue
    assert kept.unread_count(alice.pk) == unread_count(alice) == 0


def test_a_kept_page_shows_messages_and_the_sign_out_and_language_forms_carry_the_token(personas, app):
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas["alice"])
    with at("2026-11-03"):
        _get(c, url(app))
        page, _ = _get(c, url(app))
        tokens = set(TOKEN.findall(page))
        assert len(tokens) == 1 and kept.PLACEHOLDER not in page
        # the language switch returns to this page: the kept page is the one of its own path
        assert f'name="next" value="{url(app)}"' in page
        other, _ = _get(c, url(app) + "?from=queue")
        assert f'name="next" value="{url(app)}?from=queue"' in other
        r = c.post("/i18n/setlang/", {"csrfmiddlewaretoken": tokens.pop(), "language": "en", "next": url(app)})
        assert r.status_code == 302
        english, _ = _get(c, url(app))
    assert "Timeline of stages" in english


def test_another_process_serves_the_shared_part_until_it_is_30_seconds_old(personas, app, monkeypatch):
    c = client_for(personas["alice"])
    clock = [1000.0]
    monkeypatch.setattr(kept, "_now", lambda: clock[0])
    with at("2026-11-03"):
        _, built = _get(c, url(app))
        kept._parts.clear()  # as in another web process: only the shared cache has it
        clock[0] += 29
        _, shared = _get(c, url(app))
        kept._parts.clear()
        clock[0] += 2  # 31 s after it was built: rendered again, in either process
        _, rebuilt = _get(c, url(app))
    assert shared < built == rebuilt


def test_a_kept_page_refuses_those_who_may_not_see_it(personas, app):
    alice, bob = client_for(personas["alice"]), client_for(personas["bob"])
    with at("2026-11-03"):
        _get(alice, url(app))
        r = bob.get(url(app))
        missing = alice.get("/workbench/applications/YK0000000000000/")
    assert r.status_code == 403
    assert app.customer_name not in r.content.decode() and "data-stage=" not in r.content.decode()
    assert missing.status_code == 404


def _stamps() -> dict[str, int]:
    """Each scope's sum over its shards."""
    from django.db.models import Sum

    from sunshine.applications.models import QueueStamp

    return dict(QueueStamp.objects.values("scope").annotate(n=Sum("n")).values_list("scope", "n"))


def test_the_queue_version_moves_with_every_change_of_one_of_its_applications(personas):
    from sunshine.workbench.desk import queries

    alice, bob = personas["alice"], personas["bob"]
    seen = [queries.queue_version(alice)]
    first = _hers(personas, new_app(personas["clerk"]))  # one joining
    seen.append(queries.queue_version(alice))
    _hers(personas, new_app(personas["clerk"], category="lv_non_residential", requested_capacity=50))
    seen.append(queries.queue_version(alice))
    with at("2026-11-03"):
        services.complete_stage(first.number, "survey", alice)  # a change of a listed one
    seen.append(queries.queue_version(alice))
    # one statement, no query of the applications: the stamps by primary key
    with CaptureQueriesContext(connection) as ctx:
        again = queries.queue_version(alice)
    assert again == seen[-1] and len(ctx.captured_queries) == 1
    assert "applications_application" not in ctx.captured_queries[0]["sql"]
    bobs = queries.queue_version(bob)
    services.reassign(first.number, personas["leader"], username="bob", reason="测试")  # one leaving
    seen.append(queries.queue_version(alice))
    assert queries.queue_version(bob) != bobs
    assert len(set(seen)) == len(seen)
    # a filtered view of the kept queue: a new version when any of hers changes
    second = Application.objects.exclude(pk=first.pk).get(customer_manager=alice)
    third = _hers(personas, new_app(personas["clerk"]))
    c = client_for(alice)
    with at("2026-11-03"):
        residential, _ = _get(c, "/workbench/?category=lv_residential")
        services.cancel(third.number, alice, reason="客户撤回")
        after, _ = _get(c, "/workbench/?category=lv_residential")
        other, _ = _get(c, "/workbench/?category=lv_non_residential")
    assert re.findall(r'<tr data-number="(\w+)"', residential) == [third.number]
    assert after.count("<tr data-number=") == 0
    assert re.findall(r'<tr data-number="(\w+)"', other) == [second.number]


def test_the_stamps_count_every_write_of_an_application_row_whoever_writes_it(personas):
    """The trigger, not the services: a raw UPDATE bumps the manager and the unit of the row
    before and after (two per row it writes), a move to another manager both managers."""
    a = _hers(personas, new_app(personas["clerk"]))
    b = _hers(personas, new_app(personas["clerk"]))
    alice, bob, unit = f"m{personas['alice'].pk}", f"m{personas['bob'].pk}", f"u{a.unit_id}"
    before = _stamps()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE applications_application SET audit_head = 'x' WHERE id IN (%s, %s)", [a.pk, b.pk])
    after = _stamps()
    assert (after[alice] - before[alice], after[unit] - before[unit]) == (4, 4)
    Application.objects.filter(pk=a.pk).update(customer_manager=personas["bob"])
    moved = _stamps()
    assert (moved[alice] - after[alice], moved.get(bob, 0) - after.get(bob, 0), moved[unit] - after[unit]) == (1, 1, 2)
    # one shard per transaction: its id modulo 32 on PostgreSQL (this test is one transaction)
    from sunshine.applications.models import QueueStamp

    shard = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT mod(txid_current(), 32)")
            shard = cursor.fetchone()[0]
    assert QueueStamp.SHARDS == 32
    assert set(QueueStamp.objects.filter(scope__in=[alice, bob, unit]).values_list("shard", flat=True)) == {shard}


def test_a_transition_and_an_orm_save_bump_the_same_stamps_exactly_once(personas, province):
    """The engine's change statement bumps the stamps itself (writes.STAMPED, migration 0027: the
    trigger skips it) and an ORM save through the trigger, by the same counts: two per scope per
    row (before and after), one per manager of a move; an intake one per scope. Never both: a
    double bump would give four."""
    from sunshine.applications import writes

    alice, bob = f"m{personas['alice'].pk}", f"m{personas['bob'].pk}"
    a = new_app(personas["clerk"])
    unit = f"u{a.unit_id}"
    before = _stamps()
    b = new_app(personas["clerk"])  # an intake: one joining
    joined = _stamps()
    manager = f"m{b.customer_manager_id}"
    # one statement on PostgreSQL; elsewhere the INSERT, then the UPDATE of its audit head (1 + 2)
    once = 1 if writes.combined() else 3
    assert (joined[unit] - before[unit], joined[manager] - before.get(manager, 0)) == (once, once)
    _hers(personas, a)
    _hers(personas, b)
    start = _stamps()
    with CaptureQueriesContext(connection) as ctx, at("2026-11-03"):
        services.complete_stage(a.number, "survey", personas["alice"])  # the engine's statement
    transition = _stamps()
    assert (transition[alice] - start[alice], transition[unit] - start[unit]) == (2, 2)
    if writes.combined():
        stamped = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith(writes.STAMPED)]
        assert len(stamped) == 1 and "applications_queuestamp" in stamped[0]
    a.refresh_from_db()
    a.save()  # the ORM's UPDATE of every column: the trigger
    saved = _stamps()
    assert (saved[alice] - transition[alice], saved[unit] - transition[unit]) == (2, 2)
    services.reassign(b.number, personas["leader"], username="bob", reason="测试")  # the engine, a move
    moved = _stamps()
    assert (moved[alice] - saved[alice], moved.get(bob, 0) - saved.get(bob, 0), moved[unit] - saved[unit]) == (1, 1, 2)
    Application.objects.filter(pk=b.pk).update(customer_manager=personas["alice"])  # a bulk update back
    back = _stamps()
    assert (back[alice] - moved[alice], back[bob] - moved[bob], back[unit] - moved[unit]) == (1, 1, 2)
    # a move to another unit: one write of the row (the unit with the rest), each unit once
    other = f"u{province['ty-jinyuan'].pk}"
    assert other != unit
    services.move_unit(a.number, personas["leader"], unit_code="ty-jinyuan", reason="测试")
    away = _stamps()
    assert (away[unit] - back[unit], away.get(other, 0) - back.get(other, 0), away[alice] - back[alice]) == (1, 1, 2)


def test_a_leaders_queue_moves_with_the_changes_of_their_units_only(personas, province):
    from sunshine.accounts.models import Role
    from sunshine.workbench.desk import queries
    from tests.conftest import make_user

    county = make_user("county_leader", Role.LEADER, unit=province["ty-xiaodian"])
    city = make_user("city_leader", Role.LEADER, unit=province["ty"])
    app = new_app(personas["clerk"])
    Application.objects.filter(pk=app.pk).update(unit=province["ty-jinyuan"])  # the sibling county's
    c = client_for(county)
    with at("2026-11-03"):
        empty, _ = _get(c, "/workbench/")
        county_before, city_before = queries.queue_version(county), queries.queue_version(city)
        services.complete_stage(app.number, "survey", personas["alice"])
        # a change in the sibling county: the county's version stays, the city's moves
        assert queries.queue_version(county) == county_before
        assert queries.queue_version(city) != city_before
        Application.objects.filter(pk=app.pk).update(unit=province["ty-xiaodian"])  # one joining
        assert queries.queue_version(county) != county_before
        page, _ = _get(c, "/workbench/")
    assert empty.count("<tr data-number=") == 0
    assert re.findall(r'<tr data-number="(\w+)"', page) == [app.number]
    row = re.search(rf'<tr data-number="{app.number}">.*?</tr>', page, re.S).group(0)
    assert "装表接电" in row


def test_made_up_urls_and_searches_are_not_kept_as_whole_pages(personas, app):
    c = client_for(personas["alice"])

    def wholes() -> int:
        return sum(1 for k in kept._parts if k[0] in ("page", "queue-page"))

    with at("2026-11-03"):
        _get(c, url(app))
        _get(c, "/workbench/?category=lv_residential")
        before = wholes()
        for i in range(3):
            page, _ = _get(c, f"{url(app)}?x={i}")
            assert 'data-stage="survey"' in page and f'value="{url(app)}?x={i}"' in page
            _get(c, f"/workbench/?x={i}")
            _get(c, f"/workbench/?q=YK{i}")
    assert wholes() == before == 2


def test_the_kept_pages_token_is_djangos_for_the_same_secret_masked_afresh():
    from django.middleware import csrf
    from django.test import RequestFactory

    request = RequestFactory().get("/workbench/")
    first = kept.get_token(request)  # no cookie yet: a new secret, to be set by the middleware
    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    tokens = {kept.get_token(request) for _ in range(50)} | {first}
    assert len(tokens) == 51  # a fresh mask each time
    for token in tokens:
        assert len(token) == csrf.CSRF_TOKEN_LENGTH and set(token) <= set(csrf.CSRF_ALLOWED_CHARS)
        assert csrf._unmask_cipher_token(token) == secret
    assert request.META["CSRF_COOKIE"] == secret


def test_a_kept_page_takes_the_unread_count_read_with_the_user(personas, app):
    from sunshine.notifications.models import Message
    from sunshine.notifications.services import notify_staff

    alice = personas["alice"]
    Message.objects.filter(user=alice).update(read_at="2026-11-02T10:00:00+08:00")
    c = client_for(alice)
    with at("2026-11-03"):
        _get(c, url(app))
        notify_staff([alice], "message", {"text": "请核对"}, key="k1")
        with CaptureQueriesContext(connection) as ctx:
            page = c.get(url(app)).content.decode()
    assert '<span class="count">1</span>' in page
    # the user with their count, the application's light row: no statement of the count's own
    # (the trial's sessions are in the database: not counted here)
    assert len([q for q in ctx.captured_queries if "django_session" not in q["sql"]]) == 2
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*) FROM notifications_message")]


def test_the_frame_is_kept_per_staff_member_and_language_and_filled_in_per_case(personas, app):
    """A whole page from the kept frame (built for another case) is the page Django's template
    renders around the same body: title, language switch, name, role, navigation."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import timezone, translation
    from django.utils.safestring import mark_safe

    from sunshine.applications import access
    from sunshine.workbench.case import views

    other = new_app(personas["clerk"])
    Application.objects.filter(pk=other.pk).update(customer_manager=personas["alice"])
    views._forget_frames()
    for user in (personas["alice"], personas["admin"]):
        for lang in ("zh-hans", "en"):
            with translation.override(lang), at("2026-11-04"):
                for a in (other, app):  # the frame is built for `other`, then reused for `app`
                    full = access.access_application(user, a.number)
                    request = RequestFactory().get(url(full))
                    request.user, request.session = user, SessionStore()
                    today = timezone.localdate()
                    page = views._whole_page(request, user, full, today)
                    body = kept.lookup(views._body_key(user, full, today))
                    assert body is not None
                    ctx = kept.frame_context({"app": full, "body": mark_safe(body)})
                    assert page == render_to_string("workbench_case/application.html", ctx, request)
                    assert f"<title>{full.number} · " in page and f'value="{url(full)}"' in page
    # one frame per staff member and language
    assert len(views._FRAMES) == 4
