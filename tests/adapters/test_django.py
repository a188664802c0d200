"""The Django session engine: SessionBase's behaviour, and requests through Django's Client.

Django's own ``tests/sessions_tests`` ship only in its source tree, so the behaviours of its
backend mixin are written out here against this engine.
"""

from __future__ import annotations

import ast
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.serializers import JSONSerializer
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.http import http_date

from sessionkit import StoreUnavailableError, available_backends
from sessionkit.adapters.django import SessionStore, destroy_user_sessions, user_sessions
from sessionkit.ids import is_valid_session_id, new_session_id
from sessionkit.netutil import free_port
from sessionkit.serializers import DEFERRED
from sessionkit.store import Store
from sessionkit.stores.file import FileStore
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import FrozenClock
from tests.helpers import Contended, CountingStore


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def engine(clock: FrozenClock) -> type[SessionStore]:
    """The engine on a memory store of its own, with a clock the test moves."""
    store = MemoryStore(clock=clock)

    class ClockedSessionStore(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    return ClockedSessionStore


@pytest.fixture
def file_engine(tmp_path: Path, clock: FrozenClock) -> type[SessionStore]:
    """The engine on a file store of its own: one whose sessions leave the process."""
    store = FileStore(tmp_path, clock=clock)

    class FileSessionStore(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    return FileSessionStore


def test_new_keys_are_sessionkit_ids(engine: type[SessionStore]) -> None:
    session = engine()
    session["a"] = 1
    session.save()
    assert is_valid_session_id(session.session_key)
    assert engine().exists(session.session_key)


def test_a_new_session_has_what_sessionbase_init_gives(engine: type[SessionStore]) -> None:
    # The engine's __init__ does SessionBase's work but for importing SESSION_SERIALIZER:
    # a Django version that sets up more there fails this test.
    key = new_session_id()
    assert set(vars(SessionBase(key))) - {"serializer"} <= set(vars(engine(key)))
    session = engine(key)
    assert (session.session_key, session.accessed, session.modified) == (key, False, False)
    assert session.serializer is JSONSerializer
    with override_settings(SESSION_SERIALIZER="tests.adapters.test_django.ReprSerializer"):
        assert engine().serializer is ReprSerializer
        assert engine().decode(engine().encode({"a": 1})) == {"a": 1}


class ReprSerializer:
    def dumps(self, obj: object) -> bytes:
        return repr(obj).encode()

    def loads(self, data: bytes) -> object:
        return ast.literal_eval(data.decode())


def test_save_and_load(engine: type[SessionStore]) -> None:
    session = engine()
    session["cart"] = ["apple"]
    session.save()
    assert engine(session.session_key)["cart"] == ["apple"]


def test_a_key_of_a_bad_shape_is_never_adopted(engine: type[SessionStore]) -> None:
    bad_key = "not a key!"
    session = engine(bad_key)
    assert session.session_key is None
    session["a"] = 1
    session.save()
    assert session.session_key != bad_key
    assert not engine().exists(bad_key)


def test_an_unknown_key_loads_empty_and_saves_under_a_new_key(engine: type[SessionStore]) -> None:
    unknown = new_session_id()
    session = engine(unknown)
    assert session.load() == {}
    session["a"] = 1
    session.save()
    assert session.session_key != unknown
    assert not engine().exists(unknown)


def test_cycle_key_keeps_the_data_and_deletes_the_old_key(engine: type[SessionStore]) -> None:
    session = engine()
    session["a"] = 1
    session.save()
    old = session.session_key
    session.cycle_key()
    assert session.session_key != old
    assert not engine().exists(old)
    assert engine(session.session_key)["a"] == 1


def test_flush_deletes_the_session_and_forgets_the_key(engine: type[SessionStore]) -> None:
    session = engine()
    session["a"] = 1
    session.save()
    old = session.session_key
    session.flush()
    assert session.session_key is None
    assert session.modified
    assert not engine().exists(old)
    assert "a" not in session


def test_delete_by_key_and_by_default(engine: type[SessionStore]) -> None:
    first, second = engine(), engine()
    for session in (first, second):
        session["a"] = 1
        session.save()
    first.delete(second.session_key)
    assert not engine().exists(second.session_key)
    first.delete()
    assert not engine().exists(first.session_key)


def test_save_must_create_collides_with_an_existing_key(engine: type[SessionStore]) -> None:
    session = engine()
    session["a"] = 1
    session.save()
    twin = engine(session.session_key)
    twin._session_cache = {"b": 2}
    with pytest.raises(CreateError):
        twin.save(must_create=True)
    assert engine(session.session_key)["a"] == 1


def test_a_concurrent_logout_is_not_undone(engine: type[SessionStore]) -> None:
    session = engine()
    session["user"] = "ann"
    session.save()
    slow = engine(session.session_key)
    slow["views"] = 1  # read before the logout below
    engine(session.session_key).flush()
    with pytest.raises(UpdateError):
        slow.save()
    assert not engine().exists(session.session_key)


def test_the_store_enforces_expiry(engine: type[SessionStore], clock: FrozenClock) -> None:
    session = engine()
    session.set_expiry(60)
    session["a"] = 1
    session.save()
    assert session.get_expiry_age() == 60
    clock.now += 59
    assert engine().exists(session.session_key)
    clock.now += 2
    assert not engine().exists(session.session_key)
    assert engine(session.session_key).load() == {}


def test_set_expiry_zero_and_default_ages(engine: type[SessionStore]) -> None:
    session = engine()
    assert session.get_expiry_age() == 1209600  # SESSION_COOKIE_AGE
    session.set_expiry(0)
    assert session.get_expire_at_browser_close()
    assert session.get_expiry_age() == 1209600
    session.set_expiry(None)
    assert not session.get_expire_at_browser_close()


def test_expiry_ages_are_sessionbases(engine: type[SessionStore]) -> None:
    session = engine()
    now = timezone.now()
    for value in (None, 0, 60, timedelta(seconds=90), now + timedelta(days=2)):
        session.set_expiry(value)
        assert session.get_expiry_age(modification=now) == SessionBase.get_expiry_age(
            session, modification=now
        )
        if not isinstance(value, timedelta | datetime):
            assert session.get_expiry_age() == SessionBase.get_expiry_age(session)
    assert session.get_expiry_age(expiry=30) == 30


def test_a_session_saved_already_expired_is_gone(engine: type[SessionStore]) -> None:
    session = engine()
    session["a"] = 1
    session.save()
    session.set_expiry(-10)
    session.save()
    assert not engine().exists(session.session_key)


def test_corrupt_data_gives_an_empty_session(engine: type[SessionStore]) -> None:
    sid = new_session_id()
    engine.get_store().set(sid, b"not signed django data", 60)
    assert engine(sid).load() == {}


def test_clear_expired_purges_a_file_store(tmp_path: Path, clock: FrozenClock) -> None:
    store = FileStore(tmp_path, clock=clock)

    class FileSessionStore(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    short, long = FileSessionStore(), FileSessionStore()
    short.set_expiry(10)
    long.set_expiry(100)
    for session in (short, long):
        session["a"] = 1
        session.save()
    clock.now += 11
    FileSessionStore.clear_expired()
    assert store.count() == 1
    assert FileSessionStore().exists(long.session_key)


def test_clear_expired_is_a_no_op_on_a_store_that_expires_by_itself() -> None:
    store = CountingStore()  # a memory store: it drops expired entries by itself

    class CountedSessionStore(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    session = CountedSessionStore()
    session["a"] = 1
    session.save()
    store.calls.clear()
    CountedSessionStore.clear_expired()
    assert store.calls == []
    assert store.count() == 1


@pytest.fixture
def client() -> Iterator[Client]:
    with override_settings(SESSIONKIT_STORE=f"memory://django-client-{uuid.uuid4().hex}"):
        yield Client()


def test_requests_count_visits(client: Client) -> None:
    assert [client.get("/").content for _ in range(3)] == [b"1", b"2", b"3"]
    assert client.get("/").headers["Vary"] == "Cookie"


def test_login_cycles_the_key_and_logout_clears_it(client: Client) -> None:
    client.get("/")
    before = client.cookies["sessionid"].value
    assert is_valid_session_id(before)
    client.get("/login")
    after = client.cookies["sessionid"].value
    assert after != before
    assert not SessionStore().exists(before)
    assert client.get("/").content == b"2"
    client.get("/logout")
    assert client.cookies["sessionid"].value == ""
    assert not SessionStore().exists(after)


def test_a_request_racing_a_logout_gets_a_400_not_a_resurrected_session(client: Client) -> None:
    client.get("/")
    key = client.cookies["sessionid"].value
    response = client.get("/slow-write")
    assert response.status_code == 400  # Django's SessionInterrupted
    assert not SessionStore().exists(key)


def test_what_is_stored_is_sessionkits_own_sealed_bytes(
    file_engine: type[SessionStore],
) -> None:
    engine = file_engine
    session = engine()
    session["cart"] = ["apple"]
    session.save()
    raw = engine.get_store().get(session.session_key)
    assert raw is not None
    assert raw[:1] == b"\x02"  # signed (protect="sign"), not Django's base64 encoding
    assert raw.endswith(b'{"cart":["apple"]}')
    moved = new_session_id()
    engine.get_store().set(moved, raw, 60)  # the same bytes under another key do not open
    assert engine(moved).load() == {}


def test_a_memory_store_keeps_its_sessions_unsealed(engine: type[SessionStore]) -> None:
    """As with a manager: only this process reaches them, and it holds the secret."""
    session = engine()
    session["cart"] = ["apple"]
    session.save()
    raw = engine.get_store().get(session.session_key)
    assert raw is not None
    assert raw[:1] == b"\x01"  # the header's unsealed version
    assert raw.endswith(b'{"cart":["apple"]}')
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only"):
        assert engine(session.session_key)["cart"] == ["apple"]


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_request_reads_only_the_values_it_uses(
    kind: str, engine: type[SessionStore], file_engine: type[SessionStore]
) -> None:
    engine = engine if kind == "memory" else file_engine
    history = [{"path": f"/item/{n}"} for n in range(100)]
    session = engine()
    session.update({"_auth_user_id": "7", "views": 1, "history": history})
    session.save()
    loaded = engine(session.session_key)
    assert loaded["_auth_user_id"] == "7"
    data = loaded._session  # what SessionBase reads and writes
    assert type(dict.__getitem__(data, "history")) is DEFERRED  # never read
    loaded["views"] += 1
    loaded.save()
    assert dict(engine(session.session_key).items()) == {
        "_auth_user_id": "7",
        "views": 2,
        "history": history,
    }


def test_an_unsealed_session_is_read_whole(file_engine: type[SessionStore]) -> None:
    engine = file_engine
    history = [{"path": f"/item/{n}"} for n in range(100)]
    with override_settings(SESSIONKIT_PROTECT=None):
        session = engine()
        session["history"] = history
        session.save()
        loaded = engine(session.session_key)
        assert loaded["history"] == history
        assert type(loaded._session) is dict  # checked whole at load, as untrusted bytes


def test_parallel_saves_merge_instead_of_overwriting(engine: type[SessionStore]) -> None:
    session = engine()
    session["cart"] = []
    session.save()
    one, two = engine(session.session_key), engine(session.session_key)
    one["cart"] = [*one["cart"], "from one"]
    two["cart"] = [*two["cart"], "from two"]
    one.save()
    two.save()
    assert sorted(engine(session.session_key)["cart"]) == ["from one", "from two"]


def test_a_login_racing_a_logout_keeps_nothing_of_the_old_session(
    engine: type[SessionStore],
) -> None:
    session = engine()
    session["cart"] = ["apple"]
    session.save()
    login = engine(session.session_key)
    assert login["cart"] == ["apple"]
    engine(session.session_key).flush()  # the logout, faster
    login.cycle_key()
    login["_auth_user_id"] = "7"
    login.save()
    assert dict(engine(login.session_key).items()) == {"_auth_user_id": "7"}


def test_a_users_sessions_are_listed_and_ended() -> None:
    with override_settings(SESSIONKIT_STORE=f"memory://django-users-{uuid.uuid4().hex}"):
        keys = []
        for _ in range(3):
            session = SessionStore()
            session["_auth_user_id"] = 7
            session.save()
            keys.append(session.session_key)
        assert sorted(item.id for item in user_sessions(7)) == sorted(keys)
        assert destroy_user_sessions(7, keep=keys[0]) == 2
        assert [item.id for item in user_sessions("7")] == [keys[0]]
        assert not SessionStore().exists(keys[1])


def test_the_middleware_answers_503_while_the_store_is_down() -> None:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "sessionkit.adapters.django.SessionMiddleware",
    ]
    with override_settings(SESSIONKIT_STORE=dead, MIDDLEWARE=middleware[1:]):
        response = Client().get("/")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
    with (
        override_settings(SESSIONKIT_STORE=dead, MIDDLEWARE=middleware[:1]),
        pytest.raises(StoreUnavailableError),
    ):
        Client().get("/")


OUR_MIDDLEWARE = ["sessionkit.adapters.django.SessionMiddleware"]


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_our_middleware_sets_the_cookie_and_its_expiry_as_djangos(client: Client) -> None:
    before = int(time.time())
    response = client.get("/")
    after = time.time()
    cookie = response.cookies["sessionid"]
    assert is_valid_session_id(cookie.value)
    assert (cookie["max-age"], cookie["path"], cookie["httponly"]) == (1209600, "/", True)
    assert cookie["samesite"] == "Lax"
    expires = parsedate_to_datetime(cookie["expires"]).timestamp()
    assert before + 1209600 <= expires <= after + 1209600
    assert cookie["expires"] == http_date(expires)
    assert response.headers["Vary"] == "Cookie"
    assert client.get("/").content == b"2"


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_our_middleware_adds_cookie_to_a_vary_header_already_there(client: Client) -> None:
    client.get("/")
    response = client.get("/negotiated")
    assert response.content == b"1"
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"
    assert "sessionid" not in response.cookies  # read, not changed: no cookie set


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_our_middleware_deletes_the_cookie_of_an_emptied_session(client: Client) -> None:
    client.get("/")
    response = client.get("/logout")
    assert response.cookies["sessionid"].value == ""
    assert response.cookies["sessionid"]["max-age"] == 0
    assert response.headers["Vary"] == "Cookie"


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_our_middleware_turns_a_lost_race_into_djangos_400(client: Client) -> None:
    client.get("/")
    assert client.get("/slow-write").status_code == 400  # SessionInterrupted


def test_a_save_beaten_by_a_hundred_parallel_saves_keeps_every_item() -> None:
    store = Contended()

    class ContendedSessionStore(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    first = ContendedSessionStore()
    first["cart"] = []
    first.save()
    key = first.session_key
    count = iter(range(100))

    def rival() -> None:
        other = ContendedSessionStore(key)
        other["cart"] = [*other["cart"], f"rival-{next(count)}"]
        other.save()

    mine = ContendedSessionStore(key)
    mine["cart"] = [*mine["cart"], "mine"]
    store.rival, store.rivals = rival, 100
    mine.save()
    cart = ContendedSessionStore(key)["cart"]
    assert sorted(cart) == sorted(["mine", *(f"rival-{n}" for n in range(100))])


def test_a_subclass_uses_the_store_its_get_store_gives(tmp_path: Path) -> None:
    store = FileStore(tmp_path)

    class Plain(SessionStore):
        pass

    class WithMethod(SessionStore):
        @classmethod
        def get_store(cls) -> Store:
            return store

    class WithStatic(SessionStore):
        get_store = staticmethod(lambda: store)

    assert Plain().store is SessionStore().store is SessionStore.get_store()
    with mock.patch.object(SessionStore, "get_store", classmethod(lambda cls: store)):
        assert SessionStore().store is Plain().store is store  # patched in, as tests do
    for kind in (WithMethod, WithStatic):
        session = kind()
        session["a"] = 1
        session.save()
        assert session.store is store
        assert store.get(session.session_key) is not None


def test_the_engine_follows_overridden_settings(tmp_path: Path) -> None:
    first, second = (f"file://{tmp_path}/{name}" for name in ("first", "second"))
    with override_settings(SESSIONKIT_STORE=first):
        session = SessionStore()
        session["a"] = 1
        session.save()
        key = session.session_key
        with override_settings(SESSIONKIT_STORE=second):
            assert not SessionStore().exists(key)
        assert SessionStore(key)["a"] == 1
        with override_settings(SECRET_KEY="another-secret-key-for-this-test-only"):
            assert SessionStore(key).load() == {}  # sealed with the other key
        with override_settings(SESSIONKIT_PROTECT=None):
            assert SessionStore(key).load() == {}
        assert SessionStore(key)["a"] == 1
