"""Delivery of the message table through a real HTTP gateway: workers claim due rows in batches
(no job per message), retry with back-off, mark permanent failures, and a worker killed between the
send and the commit redelivers with the same idempotency key."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django_tasks_db.models import DBTaskResult

from sunshine.applications.models import Event
from sunshine.notifications import sms, tasks
from sunshine.notifications.models import Message, MessageStatus
from sunshine.notifications.services import notify_customer
from tests.test_notifications import new_app

pytestmark = pytest.mark.django_db


def at(day: str, hms: str):
    return time_machine.travel(f"{day} {hms} +0800", tick=False)


class Gateway:
    """A local SMS gateway: records each request and answers with the next queued status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "key": self.headers.get("Idempotency-Key"),
                        "json": json.loads(body),
                    }
                )
                self.send_response(gateway.statuses.pop(0) if gateway.statuses else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    gw = Gateway()
    settings.SUNSHINE_SMS_BACKEND = "http"
    settings.SUNSHINE_SMS_HTTP_URL = gw.url
    settings.SUNSHINE_SMS_HTTP_AUTH_HEADER = "Bearer test-secret"
    settings.SUNSHINE_SMS_HTTP_TEMPLATE = '{"to": "{phone}", "text": "{text}", "id": "{key}"}'
    settings.SUNSHINE_DELIVERY_MAX_ATTEMPTS = 3
    settings.SUNSHINE_DELIVERY_BACKOFF_SECONDS = 60
    settings.SUNSHINE_DELIVERY_STALL_SECONDS = 300
    yield gw
    gw.close()


def queue_one(personas, django_capture_on_commit_callbacks) -> Message:
    app = new_app(personas["clerk"])
    Message.objects.all().delete()
    DBTaskResult.objects.all().delete()
    with at("2026-11-05", "10:00:00"), django_capture_on_commit_callbacks(execute=True):
        notify_customer(app, "message", {"text": "您的申请已进入装表接电环节"}, key="test:1")
    return Message.objects.get(key="test:1")


def test_the_gateway_gets_the_text_the_auth_header_and_the_idempotency_key(
    personas, gateway, django_capture_on_commit_callbacks
):
    message = queue_one(personas, django_capture_on_commit_callbacks)
    assert not DBTaskResult.objects.exists()  # no job per message
    with at("2026-11-05", "10:00:01"):
        assert tasks.deliver_due() == 1
    key = str(message.delivery_key)
    assert gateway.requests == [
        {
            "path": "/send",
            "authorization": "Bearer test-secret",
            "key": key,
            "json": {"to": "13800138000", "text": "您的申请已进入装表接电环节", "id": key},
        }
    ]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.SENT, 1, "")


def test_failures_are_retried_with_backoff_then_marked_failed_for_administrators(
    personas, gateway, django_capture_on_commit_callbacks
):
    message = queue_one(personas, django_capture_on_commit_callbacks)
    gateway.statuses = [503, 500, 502]
    with at("2026-11-05", "10:00:00"):
        assert tasks.deliver_due() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "SMS gateway answered HTTP 503")
    assert message.next_attempt_at.isoformat() == "2026-11-05T02:01:00+00:00"
    with at("2026-11-05", "10:00:59"):
        assert tasks.deliver_due() == 0  # the back-off holds the next attempt
    assert len(gateway.requests) == 1
    with at("2026-11-05", "10:01:00"):
        assert tasks.deliver_due() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 2)
    assert message.next_attempt_at.isoformat() == "2026-11-05T02:03:00+00:00"  # doubled: 2 minutes
    with at("2026-11-05", "10:03:00"):
        assert tasks.deliver_due() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("failed", 3, "SMS gateway answered HTTP 502")
    assert len(gateway.requests) == 3
    assert len({r["key"] for r in gateway.requests}) == 1
    # Failed for good: no further attempt, and no job rows at any point.
    with at("2026-11-06", "10:00:00"):
        assert tasks.deliver_due() == 0
    assert len(gateway.requests) == 3
    assert not DBTaskResult.objects.exists()
    failed = Event.objects.get(application=message.application, type="notification_failed")
    assert failed.data == {
        "channel": "sms",
        "template": "message",
        "recipient": "138****8000",
        "message": message.pk,
        "attempts": 3,
        "error": "SMS gateway answered HTTP 502",
    }
    assert not Event.objects.filter(type="notification_sent", data__message=message.pk).exists()


class Killed(BaseException):
    """What the worker process dying looks like from inside the task: nothing after it runs."""


def test_a_worker_killed_after_the_send_redelivers_with_the_same_key_and_ends_sent_once(
    personas, gateway, django_capture_on_commit_callbacks, monkeypatch
):
    message = queue_one(personas, django_capture_on_commit_callbacks)

    def die(message: Message) -> bool:
        raise Killed

    with at("2026-11-05", "10:00:01"), monkeypatch.context() as m, pytest.raises(Killed):
        m.setattr(tasks, "mark_sent", die)
        tasks.deliver_due()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)  # sent, but the row never heard
    assert len(gateway.requests) == 1
    # Within the stall time nobody touches it (it might still be in flight).
    with at("2026-11-05", "10:05:00"):
        assert tasks.deliver_due() == 0
    assert len(gateway.requests) == 1
    with at("2026-11-05", "10:05:02"):
        assert tasks.deliver_due() == 1
        assert tasks.deliver_due() == 0  # claimed once, not once per poll
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert [r["key"] for r in gateway.requests] == [str(message.delivery_key)] * 2
    sent = Event.objects.filter(type="notification_sent", data__message=message.pk)
    assert [e.data["attempts"] for e in sent] == [2]
    # Later polls find it sent and send nothing.
    with at("2026-11-05", "10:20:00"):
        assert tasks.deliver_due() == 0
    assert len(gateway.requests) == 2


def test_console_and_file_backends_write_one_masked_line(settings, tmp_path, capsys):
    settings.SUNSHINE_SMS_BACKEND = "console"
    sms.send_sms("13800138000", "您的验证码为123456", key="k1")
    assert capsys.readouterr().out == "SMS to 138****8000: 您的验证码为123456\n"
    settings.SUNSHINE_SMS_BACKEND = "file"
    settings.SUNSHINE_SMS_FILE = str(tmp_path / "sms.log")
    with time_machine.travel("2026-11-05 10:00:00 +0800", tick=False):
        sms.send_sms("13800138000", "第二条", key="k2")
    assert (tmp_path / "sms.log").read_text() == "2026-11-05 10:00:00 [k2] SMS to 138****8000: 第二条\n"


def test_an_unreachable_gateway_is_a_failure_not_a_crash(settings):
    settings.SUNSHINE_SMS_BACKEND = "http"
    settings.SUNSHINE_SMS_HTTP_URL = "http://127.0.0.1:9/nothing-listens"
    settings.SUNSHINE_SMS_HTTP_TIMEOUT = 2
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.send_sms("13800138000", "x", key="k")


@pytest.mark.django_db(transaction=True)
def test_four_workers_polling_at_once_send_a_message_once(personas):
    """Four workers poll the message table at the same instant: the claim (one UPDATE of the due
    rows) gives the message to one of them; the others find nothing due."""
    import threading

    from django.db import connection

    from sunshine.notifications.services import notify_customer

    app = new_app(personas["clerk"])
    sms.outbox.clear()
    notify_customer(app, "message", {"text": "并发测试"}, key="race")
    message = Message.objects.get(key="race")
    Message.objects.exclude(pk=message.pk).delete()  # the intake's own notices are not the point
    barrier = threading.Barrier(4)
    results: list[int] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(tasks.deliver_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 0, 0, 1]
    assert [s.text for s in sms.outbox] == ["并发测试"]
    assert Event.objects.filter(type="notification_sent", data__message=message.pk).count() == 1
    sms.outbox.clear()
