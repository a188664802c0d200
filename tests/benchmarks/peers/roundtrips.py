"""Store round trips, counted where they land rather than inferred from the code.

- redis: the commands clients send to the run's own server, seen through ``MONITOR``
  (not those a script runs: an ``EVALSHA`` is one round trip);
- memcached: the ``stats`` of the run's own server, ``cmd_get + cmd_set + cmd_touch`` plus
  deletes (``cmd_set`` covers set, add, replace and cas; a multi-get counts each key);
- sqlite: SQL statements executed, through SQLAlchemy's ``before_cursor_execute`` event on
  every engine and Django's ``connection.execute_wrapper`` (transaction BEGIN/COMMIT that the
  driver issues by itself are not statements and are not counted);
- file: files opened under the app's store directory, through a ``sys.addaudithook`` hook on
  the ``open`` event (reads, writes and lock files alike);
- memory: nothing leaves the process, so no count (None).

Counters are cumulative: a figure is the difference over a number of requests, divided by it.
They run only in the wall-clock pass, never under callgrind or inside a timed loop (an audit
hook, once added, stays for the life of the process).
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from .servers import Servers

Counter = Callable[[], int]

_MEMCACHED_COMMANDS = (
    "cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses",
    "incr_hits", "incr_misses", "decr_hits", "decr_misses",
)  # fmt: skip


def redis_counter(servers: Servers) -> Counter:
    """Commands clients sent, seen through ``MONITOR``: a script's own ``redis.call``s (which
    ``INFO`` counts as commands too) are left out, so an ``EVALSHA`` is one round trip."""
    import redis

    client = redis.Redis.from_url(servers.redis_url)
    monitor = redis.Redis.from_url(servers.redis_url).monitor()
    monitor.__enter__()
    seen = [0]
    marks: set[str] = set()
    arrived = threading.Condition()
    numbers = itertools.count()

    def watch() -> None:
        for command in monitor.listen():
            text = command["command"]
            with arrived:
                if text.startswith(_MARK):
                    marks.add(text.removeprefix("ECHO "))
                    arrived.notify_all()
                elif command["client_type"] != "lua":
                    seen[0] += 1

    threading.Thread(target=watch, daemon=True).start()

    def count() -> int:
        mark = f"{_MARK.removeprefix('ECHO ')}{next(numbers)}"
        client.echo(mark)  # MONITOR shows commands in order: once it shows this, all are in
        with arrived:
            if not arrived.wait_for(lambda: mark in marks, timeout=10):
                raise RuntimeError("MONITOR did not show the counter's mark")
            return seen[0]

    return count


_MARK = "ECHO roundtrips-mark-"


def memcached_counter(servers: Servers) -> Counter:
    from pymemcache.client.base import Client  # type: ignore[import-untyped]

    client = Client(servers.memcached_address, timeout=5)

    def count() -> int:
        stats = client.stats()
        return sum(int(stats[name.encode()]) for name in _MEMCACHED_COMMANDS)

    return count


class _Statements:
    """SQL statements run by SQLAlchemy engines (every engine, present and future)."""

    count = 0

    @classmethod
    def listen(cls) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        if not event.contains(Engine, "before_cursor_execute", cls._seen):
            event.listen(Engine, "before_cursor_execute", cls._seen)

    @classmethod
    def _seen(cls, *args: Any) -> None:
        cls.count += 1

    @classmethod
    def django_wrapper(cls, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        cls.count += 1
        return execute(sql, params, many, context)


def sql_counter() -> Counter:
    _Statements.listen()
    return lambda: _Statements.count


def sql_context() -> AbstractContextManager[object]:
    """Counts Django's statements too while open (a no-op where Django is not set up)."""
    if "django.db" not in sys.modules:
        return nullcontext()
    from django.conf import settings

    if not settings.configured:
        return nullcontext()
    from django.db import connection

    return connection.execute_wrapper(_Statements.django_wrapper)


class _Opens:
    directories: tuple[str, ...] = ()
    count = 0
    installed = False

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or isinstance(args[0], int):
            return
        path = os.fsdecode(args[0])
        if path.startswith(cls.directories):
            cls.count += 1


def file_counter(directories: list[Path]) -> Counter:
    _Opens.directories = tuple(str(d) for d in directories)
    if not _Opens.installed:
        sys.addaudithook(_Opens.hook)
        _Opens.installed = True
    return lambda: _Opens.count


def counter_for(backend: str, servers: Servers, directories: list[Path]) -> Counter | None:
    """The round-trip counter of ``backend``; ``directories`` are the file stores' own."""
    if backend == "redis":
        return redis_counter(servers)
    if backend == "memcached":
        return memcached_counter(servers)
    if backend == "sqlite":
        return sql_counter()
    if backend == "file":
        return file_counter(directories)
    return None


def per_request(counter: Counter | None, request: Callable[[], object], n: int) -> float | None:
    """Round trips per request over ``n`` requests; None where nothing is counted."""
    if counter is None:
        return None
    with sql_context():
        before = counter()
        for _ in range(n):
            request()
        after = counter()
    return (after - before) / n
