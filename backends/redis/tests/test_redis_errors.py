"""What the server answers when it cannot or will not serve, as the store reports it: each
error a documented SessionKitError, sync and async alike, naming the server (password masked)
and never a session id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.exceptions
from sessionkit_redis import RedisStore
from sessionkit_redis.errors import is_retryable, torn_connection

from sessionkit.cli import main
from sessionkit.errors import ConfigurationError, SessionKitError, StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.netutil import free_port
from sessionkit.testing.drivers import facade_for

from .helpers import FAST, once_available, open_redis

Call = Callable[[Any, str], object]
GET: Call = lambda store, sid: store.get(sid)  # noqa: E731
SET: Call = lambda store, sid: store.set(sid, b"x", 60)  # noqa: E731
SAVE: Call = lambda store, sid: store.replace_versioned(sid, b"new", 60, b"old")  # noqa: E731


def errors_of(url: str, call: Call, expected: type[SessionKitError]) -> list[SessionKitError]:
    """The errors ``call`` raises through the store at ``url`` and through its async twin;
    each of type ``expected`` (not a subclass) and free of the session id."""
    store = open_redis(url)
    twin = facade_for(store.async_store)
    errors = []
    try:
        for face in (store, twin):
            sid = new_session_id()
            with pytest.raises(SessionKitError) as raised:
                call(face, sid)
            assert type(raised.value) is expected, repr(raised.value)
            assert sid not in str(raised.value)
            errors.append(raised.value)
    finally:
        twin.close()
        store.close()
    return errors


def test_a_database_the_server_does_not_have(shared_redis_url: str) -> None:
    url = shared_redis_url.rsplit("/", 1)[0] + "/99"
    for error in errors_of(f"{url}?{FAST}", GET, ConfigurationError):
        assert "database 99 does not exist on the server" in str(error)


def test_the_cli_says_so_in_one_line(
    shared_redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = shared_redis_url.rsplit("/", 1)[0] + "/99"
    assert main(["check", url]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sessionkit check: ")
    assert "session store redis://127.0.0.1:6379/99: database 99 does not exist" in lines[0]


@pytest.mark.parametrize("credentials", ["", ":wrong@", "nobody:wrong@"])
def test_credentials_the_server_refuses(make_server: Callable[..., Any], credentials: str) -> None:
    server = make_server(password="right")
    url = f"redis://{credentials}127.0.0.1:{server.port}/0?{FAST}"
    for error in errors_of(url, GET, ConfigurationError):
        assert "refused the client: AuthenticationError" in str(error)
        assert "wrong" not in str(error)


def test_commands_the_acl_forbids(make_server: Callable[..., Any]) -> None:
    server = make_server("user app on >app-pw ~* +get +set +del +expire +@connection")
    url = f"redis://app:app-pw@127.0.0.1:{server.port}/0?{FAST}"
    for error in errors_of(url, SAVE, ConfigurationError):
        assert "NoPermissionError" in str(error)
        assert "app:***@" in str(error)


def test_a_command_the_server_does_not_know(make_server: Callable[..., Any]) -> None:
    server = make_server('rename-command EVALSHA ""')
    for error in errors_of(f"{server.url}?{FAST}", SAVE, ConfigurationError):
        assert "the server does not offer a command the store needs" in str(error)
        assert "args beginning" not in str(error)  # where Redis quotes the key


def test_a_key_holding_other_data(make_server: Callable[..., Any]) -> None:
    server = make_server()
    with server.client() as client:
        sids = [new_session_id() for _ in range(4)]
        for sid in sids:
            client.hset(f"wrongtype:{sid}", "field", "value")
    url = f"{server.url}?prefix=wrongtype:&{FAST}"
    taken = iter(sids)
    for call in (GET, SAVE):
        for error in errors_of(
            url, lambda store, _, call=call: call(store, next(taken)), ConfigurationError
        ):
            assert "holds data of another kind" in str(error)


def test_a_replica(make_server: Callable[..., Any]) -> None:
    master = make_server()
    replica = make_server(f"replicaof 127.0.0.1 {master.port}")
    for error in errors_of(f"{replica.url}?{FAST}", SET, StoreUnavailableError):
        assert "ReadOnlyError" in str(error)


def test_a_replica_cut_off_from_its_master(make_server: Callable[..., Any]) -> None:
    replica = make_server(f"replicaof 127.0.0.1 {free_port()}", "replica-serve-stale-data no")
    for error in errors_of(f"{replica.url}?{FAST}", GET, StoreUnavailableError):
        assert "MasterDownError" in str(error)


def test_a_server_out_of_memory(make_server: Callable[..., Any]) -> None:
    server = make_server("maxmemory 1", "maxmemory-policy noeviction")
    for error in errors_of(f"{server.url}?{FAST}", SET, StoreUnavailableError):
        assert "OutOfMemoryError" in str(error)


@pytest.fixture
def loading_server(make_server: Callable[..., Any]) -> Any:
    """A server that takes about a second to load its data after a restart."""
    server = make_server("key-load-delay 500", "loading-process-events-interval-bytes 1024")
    with server.client() as client:
        client.mset({f"filler:{number}": "x" for number in range(2000)})
        client.save()
    server.stop()
    return server.start()  # once it accepts connections, long before it has loaded


def test_a_server_loading_its_data(loading_server: Any) -> None:
    url = f"{loading_server.url}?{FAST}"
    for error in errors_of(url, GET, StoreUnavailableError):
        assert "BusyLoadingError" in str(error)
    store = open_redis(url)
    try:
        assert once_available(lambda: store.get(new_session_id()), "loaded") is None
    finally:
        store.close()


def test_nothing_but_session_kit_errors_leave_the_store(make_server: Callable[..., Any]) -> None:
    """A server that dies mid-test: every operation of both twins raises a SessionKitError."""
    server = make_server()
    store = RedisStore.from_url(f"{server.url}?{FAST}")
    twin = facade_for(store.async_store)
    sid = new_session_id()
    store.set(sid, b"x", 60)
    twin.get(sid)
    server.stop()
    calls: list[Call] = [
        GET,
        SAVE,
        lambda face, sid: face.get_versioned(sid),
        lambda face, sid: face.bind_user("ada", sid, 60),
        lambda face, _: face.user_sessions("ada"),
        lambda face, _: face.delete_user_sessions("ada"),
    ]
    try:
        for face in (store, twin):
            for call in calls:
                with pytest.raises(StoreUnavailableError):
                    call(face, sid)
        with pytest.raises(StoreUnavailableError):
            store.count()
        with pytest.raises(StoreUnavailableError):
            store.clear()
    finally:
        twin.close()
        store.close()


# -- errors of a connection closed under redis-py's asyncio client


class _WriterWithoutTransport(asyncio.StreamWriter):
    def __del__(self) -> None:
        """asyncio's would fail on the missing transport too, after the test."""


def test_a_transport_error_of_a_closed_connection_is_a_connection_error() -> None:
    """What asyncio raises when redis-py writes through a connection already torn down
    (its writer's transport gone) is taken for the ConnectionError it stands for."""

    async def write_through_a_closed_connection() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader)
        writer = _WriterWithoutTransport(None, protocol, reader, loop)  # type: ignore[arg-type]
        writer.writelines([b"PING\r\n"])

    with pytest.raises(AttributeError) as raised:
        asyncio.run(write_through_a_closed_connection())
    broken = torn_connection(raised.value)
    assert isinstance(broken, redis.exceptions.ConnectionError)
    assert broken.__cause__ is raised.value
    assert is_retryable(broken)


def test_the_same_errors_raised_elsewhere_are_left_alone() -> None:
    with pytest.raises(AttributeError) as raised:
        None.writelines([b"x"])  # type: ignore[attr-defined]
    assert torn_connection(raised.value) is None
    assert torn_connection(TypeError("never raised")) is None
