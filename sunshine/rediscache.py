"""Django's Redis cache with one redis-py client per server (instead of a new one per command),
and the throttle counter in one round trip (docs/bench.md, "The look-up's Redis round trips").

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation
(≈ 170 response callbacks copied each time) over a shared connection pool; the client is
thread-safe (each command takes a connection from the pool), so this backend keeps one per pool.

``get_bytes()`` and ``set_bytes()`` keep bytes as they are (no pickling) through the same
connections as ``count()``: the public look-up's shared answers (``applications/progress.py``).

``count()`` is ``add(key, 0, window)`` + ``incr(key)`` of the throttles (three commands with
Django's ``incr``, which asks ``EXISTS`` first) as one Lua script run by Redis in one step:
``INCR``, and ``EXPIRE`` when the key was just created. ``count(..., unless=lock)`` answers
``None`` without counting while the ``unless`` key exists (the public look-up's lock of a
number, one more command before). Callers go through ``sunshine.accounts.services``, which falls
back to the generic cache operations for any other backend (the trial's database cache, tests).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

# KEYS[1] the counter, KEYS[2] (optional) a key whose presence refuses the count;
# ARGV[1] the window in seconds. Returns the new count, or -1 when KEYS[2] exists.
_COUNT = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_COUNT_SHA = hashlib.sha1(_COUNT.encode()).hexdigest().encode()  # noqa: S324 (Redis names scripts by SHA-1)


class ReusingRedisCacheClient(RedisCacheClient):
    """One ``redis.Redis`` per connection pool, made on first use and then shared."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._made = threading.Lock()
        self._idle: list[Any] = []  # count()'s own connections (``_raw``)
        self._pid = os.getpid()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # RedisCacheClient's own attributes (untyped in the stubs)
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._made:
                client = self._clients.get(index)
                if client is None:
                    pool = django._pools.get(index)
                    if pool is None:  # as RedisCacheClient._get_connection_pool, for this index
                        pool = django._pool_class.from_url(django._servers[index], **django._pool_options)
                        django._pools[index] = pool
                    client = self._clients[index] = django._client(connection_pool=pool)
        return client

    def count(self, key: str, window: int, unless: str | None) -> int | None:
        keys = [key.encode()] if unless is None else [key.encode(), unless.encode()]
        args = [str(len(keys)).encode(), *keys, b"%d" % window]
        try:
            n = int(self._raw(_pack([b"EVALSHA", _COUNT_SHA, *args])))
        except NoScriptError:  # a restarted or flushed Redis: EVAL loads the script again
            n = int(self._raw(_pack([b"EVAL", _COUNT.encode(), *args])))
        return None if n < 0 else n

    def get_bytes(self, key: str) -> bytes | None:
        answer = self._raw(_pack([b"GET", key.encode()]))
        return answer if isinstance(answer, bytes) else None

    def set_bytes(self, key: str, value: bytes, timeout: int) -> None:
        self._raw(_pack([b"SET", key.encode(), value, b"EX", b"%d" % timeout]))

    def _raw(self, command: bytes) -> Any:
        """Send one packed command on a connection of this client's own (not the pool's) and read
        its answer: redis-py's client and pool cost ≈ 3× the round trip itself (a pool check,
        a readiness poll, the retry wrapper, the command's packing; docs/bench.md). A connection
        is taken from ``_idle`` and put back (a list: ``pop`` and ``append`` are atomic), one
        made with the pool's settings when none is free; a broken connection is reconnected once."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours
            self._idle, self._pid = [], os.getpid()
        try:
            conn = self._idle.pop()
        except IndexError:
            django: Any = self
            self.get_client(write=True)  # makes the pool of the write server
            pool = django._pools[django._get_connection_pool_index(True)]
            conn = pool.connection_class(**pool.connection_kwargs)
        try:
            try:
                conn.send_packed_command([command], check_health=False)
                answer = conn.read_response()
            except RedisConnectionError:
                conn.disconnect()  # e.g. Redis restarted since the last use: once more, anew
                conn.send_packed_command([command], check_health=False)
                answer = conn.read_response()
        except ResponseError:  # an error answer (NOSCRIPT): the connection is fine
            self._idle.append(conn)
            raise
        except BaseException:  # anything else may leave an answer unread on it
            conn.disconnect()
            self._idle.append(conn)
            raise
        self._idle.append(conn)
        return answer


def _pack(parts: list[bytes]) -> bytes:
    """A command in the Redis protocol (RESP): an array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` over ``ReusingRedisCacheClient``, plus
    ``count()``."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def count(self, key: str, window: int, unless: str | None = None, version: int | None = None) -> int | None:
        """Add one to the counter ``key`` (created with a lifetime of ``window`` seconds) and
        return its new value; ``None``, counting nothing, while the key ``unless`` exists."""
        full = self.make_and_validate_key(key, version=version)
        other = None if unless is None else self.make_and_validate_key(unless, version=version)
        client = cast(ReusingRedisCacheClient, self._cache)
        return client.count(full, max(int(window), 1), other)

    def get_bytes(self, key: str, version: int | None = None) -> bytes | None:
        """The bytes kept under ``key`` by ``set_bytes`` (stored as they are, not pickled), or None."""
        client = cast(ReusingRedisCacheClient, self._cache)
        return client.get_bytes(self.make_and_validate_key(key, version=version))

    def set_bytes(self, key: str, value: bytes, timeout: int, version: int | None = None) -> None:
        """Keep ``value`` under ``key`` for ``timeout`` seconds, as it is (one command on
        ``count()``'s connections: the look-up's shared answers)."""
        client = cast(ReusingRedisCacheClient, self._cache)
        client.set_bytes(self.make_and_validate_key(key, version=version), value, max(int(timeout), 1))
