"""The Redis cache of production (sunshine/rediscache.py) against a real redis-server: one
redis-py client per server, the throttle counter in one step, and a public look-up that costs
one Redis command (docs/bench.md)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings

from sunshine.accounts.services import Throttled, count_attempt, hit_limit, throttle_key
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

REDIS_SERVER = shutil.which("redis-server")
PUBLIC = "/api/v1/public/applications"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis():
    """A private redis-server as the default cache; yields a raw client of it."""
    if not REDIS_SERVER:
        pytest.skip("redis-server not found: `apt-get install redis-server` (.ci/run installs it)")
    import redis as redis_py

    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    raw = redis_py.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                raw.ping()
                break
            except redis_py.ConnectionError:
                time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        caches = {"default": {"BACKEND": "sunshine.rediscache.RedisCache", "LOCATION": url, "KEY_PREFIX": "t"}}
        with override_settings(CACHES=caches):
            yield raw
    finally:
        raw.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def round_trips(monkeypatch):
    """The commands (or pipelines) redis-py sends, by their first word, in order: one each is one
    round trip to Redis."""
    from redis.connection import AbstractConnection

    sent: list[str] = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        first = command[0] if isinstance(command, list) else command
        words = bytes(first).split(b"\r\n")
        sent.append(words[2].decode().lower() if len(words) > 2 else "?")
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def test_one_redis_client_per_server(redis):
    backend = cache._cache  # type: ignore[attr-defined]
    assert backend.get_client(write=True) is backend.get_client() is backend.get_client("k", write=True)
    cache.set("a", 1)
    assert cache.get("a") == 1


def test_count_counts_in_one_command_and_starts_the_window_once(redis, round_trips):
    key = throttle_key("t", "x")
    assert count_attempt(key, 60) == 1
    round_trips.clear()
    assert [count_attempt(key, 60) for _ in range(2)] == [2, 3]
    assert round_trips == ["evalsha", "evalsha"]
    assert redis.ttl(f"t:1:{key}") == 60
    # the generic cache operations read the same counter
    assert cache.get(key) == 3


def test_count_unless_a_lock_is_set_counts_nothing_while_it_is(redis):
    key, lock = throttle_key("t", "y"), throttle_key("lock", "y")
    assert count_attempt(key, 60, unless=lock) == 1
    cache.set(lock, 1, 30)
    assert count_attempt(key, 60, unless=lock) is None
    assert cache.get(key) == 1
    cache.delete(lock)
    assert count_attempt(key, 60, unless=lock) == 2


def test_hit_limit_on_redis(redis):
    key = throttle_key("t", "z")
    hit_limit(key, 2, 90)
    hit_limit(key, 2, 90)
    with pytest.raises(Throttled) as refused:
        hit_limit(key, 2, 90)
    assert refused.value.retry_after == 90


def test_count_survives_a_dropped_connection_and_a_flushed_script(redis, round_trips):
    key = throttle_key("t", "w")
    assert count_attempt(key, 60) == 1
    redis.client_kill_filter(skipme=True)  # Redis drops count()'s connection (a restart, a timeout)
    assert count_attempt(key, 60) == 2  # reconnected, counted once
    redis.script_flush()  # a restarted Redis has forgotten the script
    round_trips.clear()
    assert count_attempt(key, 60) == 3
    assert round_trips == ["evalsha", "eval"]
    assert count_attempt(key, 60) == 4
    assert redis.ttl(f"t:1:{key}") == 60


def test_bytes_are_kept_as_they_are(redis, round_trips):
    body = "进度 {}".encode() + bytes(range(256))
    cache.set_bytes("answer", body, 3600)
    assert cache.get_bytes("answer") == body
    assert cache.get_bytes("no-such-answer") is None
    assert [c for c in round_trips if c not in ("hello", "client")] == ["set", "get", "get"]
    assert redis.get("t:1:answer") == body  # not pickled
    assert redis.ttl("t:1:answer") == 3600


@pytest.fixture
def number(api_as) -> str:
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        return str(r.json()["number"])


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
@override_settings(SUNSHINE_PUBLIC_LOOKUPS=3, SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS=600)
def test_a_public_look_up_costs_one_redis_command_and_keeps_both_budgets(redis, round_trips, number, personas):
    c = Client(REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT_LANGUAGE="en")
    assert c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code == 200
    round_trips.clear()
    assert c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code == 200
    assert round_trips == ["evalsha"]
    # the client's budget: the fourth look-up of the window is refused
    r = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
    assert r.status_code == 200
    r = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
    assert (r.status_code, r["Retry-After"], r.json()["code"]) == (429, "600", "throttled")
    # the number's budget: wrong endings from other clients lock it, even for the right ending
    with override_settings(SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER=2, SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS=1800):
        for i in range(2):
            other = Client(REMOTE_ADDR=f"198.51.100.{i}")
            assert other.get(f"{PUBLIC}/{number}", {"phone_tail": "1111"}).status_code == 404
        fresh = Client(REMOTE_ADDR="192.0.2.50", HTTP_ACCEPT_LANGUAGE="en")
        round_trips.clear()
        r = fresh.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
        assert (r.status_code, r["Retry-After"]) == (429, "1800")
        assert r.json()["message"].startswith("Too many wrong phone endings were tried for this application number")
        assert round_trips == ["evalsha"]
        # a refused look-up of a locked number counted nothing against the client
        network = throttle_key("public-lookup", "192.0.2.50")
        assert cache.get(network) is None


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
def test_a_kept_answer_is_built_once_for_every_process(redis, round_trips, number):
    from sunshine.applications import progress

    c = Client(REMOTE_ADDR="203.0.113.9")
    count_attempt(throttle_key("t", "warm"), 60)  # connections made (their HELLO) before counting
    cache.get("warm")
    round_trips.clear()
    first = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
    assert first.status_code == 200
    assert round_trips == ["evalsha", "get", "set"]  # built, kept here and in Redis
    progress.forget_here()  # another process
    round_trips.clear()
    other = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
    assert (other.content, other["ETag"]) == (first.content, first["ETag"])
    assert round_trips == ["evalsha", "get"]  # taken from Redis, not built
    round_trips.clear()
    assert c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).content == first.content
    assert round_trips == ["evalsha"]  # then kept in that process
