"""express-session semantics of SessionManager, checked through a real memory store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from sessionkit import JSONSerializer, SessionManager, SessionTooLargeError
from sessionkit.ids import new_session_id
from sessionkit.serializers import DEFERRED
from tests.helpers import CountingStore, attributes_of, cookie_of

MakeManager = Callable[..., SessionManager]


def start_session(manager: SessionManager, **data: object) -> str:
    """Create a stored session holding ``data``; return the Cookie header that carries it."""
    session = manager.open(None)
    session.update(data)
    return cookie_of(manager.commit(session))


def session_id(manager: SessionManager, cookie: str) -> str:
    verified = manager.signer.verify(cookie.partition("=")[2])
    assert verified is not None
    return verified[0]


# -- writes only when needed


def test_untouched_new_session_sets_no_cookie_and_writes_nothing(
    manager: SessionManager, store: CountingStore
) -> None:
    session = manager.open(None)
    assert manager.commit(session) is None
    assert store.calls == []


def test_new_session_that_is_only_read_is_not_saved(
    manager: SessionManager, store: CountingStore
) -> None:
    session = manager.open(None)
    assert session.get("user") is None
    assert manager.commit(session) is None
    assert store.calls == []
    assert store.count() == 0


def test_new_session_with_data_is_created_with_add_and_gets_a_secure_cookie(
    manager: SessionManager, store: CountingStore
) -> None:
    session = manager.open(None)
    session["views"] = 1
    set_cookie = manager.commit(session)
    assert store.calls == ["add"]
    assert set_cookie is not None
    attributes = attributes_of(set_cookie)
    assert attributes["httponly"] == ""
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == str(14 * 24 * 3600)
    assert "secure" not in attributes  # secure="auto" on plain http
    assert dict(manager.open(cookie_of(set_cookie))) == {"views": 1}


def test_session_that_is_never_accessed_costs_no_store_io(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, views=1)
    store.calls.clear()
    assert manager.commit(manager.open(cookie)) is None
    assert store.calls == []


def test_unchanged_session_is_neither_written_nor_resent(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, views=1, cart=["apple"])
    store.calls.clear()
    session = manager.open(cookie)
    assert session["views"] == 1
    assert manager.commit(session) is None
    assert store.calls == ["get_versioned"]


def test_modified_session_is_replaced_and_its_cookie_resent(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, views=1)
    store.calls.clear()
    session = manager.open(cookie)
    session["views"] += 1
    set_cookie = manager.commit(session)
    assert store.calls == ["get_versioned", "replace_versioned"]
    assert cookie_of(set_cookie) == cookie
    assert dict(manager.open(cookie)) == {"views": 2}


def test_a_request_reads_only_the_values_it_uses(
    manager: SessionManager, store: CountingStore
) -> None:
    """A sealed session is read value by value: what a request never uses stays in its stored
    form, costs nothing to read, and is written back as it was."""
    history = [{"path": f"/item/{n}", "ms": n / 3} for n in range(200)]
    cookie = start_session(manager, user={"id": 7}, views=1, history=history)
    store.calls.clear()
    session = manager.open(cookie)
    assert session["user"]["id"] == 7  # a dict handed out: the app could change it
    unread = session._state.data
    assert unread is not None
    assert type(unread["history"]) is DEFERRED
    assert manager.commit(session) is None  # found unchanged without reading the rest
    assert store.calls == ["get_versioned"]
    session = manager.open(cookie)
    session["views"] += 1
    session["user"]["name"] = "ann"
    manager.commit(session)
    assert dict(manager.open(cookie)) == {
        "user": {"id": 7, "name": "ann"},
        "views": 2,
        "history": history,
    }


def test_nested_mutation_is_saved(manager: SessionManager) -> None:
    cookie = start_session(manager, cart={"items": ["apple"]})
    session = manager.open(cookie)
    session["cart"]["items"].append("pear")
    assert session.modified
    manager.commit(session)
    assert manager.open(cookie)["cart"] == {"items": ["apple", "pear"]}


def test_browser_session_cookie_is_not_resent_when_modified(make_manager: MakeManager) -> None:
    manager = make_manager(max_age=None)
    first = manager.open(None)
    first["views"] = 1
    set_cookie = manager.commit(first)
    assert set_cookie is not None
    assert "max-age" not in attributes_of(set_cookie)
    assert "expires" not in attributes_of(set_cookie)
    session = manager.open(cookie_of(set_cookie))
    session["views"] = 2
    assert manager.commit(session) is None
    assert manager.open(cookie_of(set_cookie))["views"] == 2


def test_browser_session_cookie_still_expires_in_the_store(make_manager: MakeManager) -> None:
    assert make_manager(max_age=None).ttl == 14 * 24 * 3600
    assert make_manager(max_age=None, ttl=600).ttl == 600
    assert make_manager(max_age=3600).ttl == 3600


# -- rolling, touch and max-age


def test_rolling_resends_the_cookie_on_every_response_and_touches(
    make_manager: MakeManager, store: CountingStore
) -> None:
    manager = make_manager(rolling=True)
    cookie = start_session(manager, views=1)
    for _ in range(3):
        store.calls.clear()
        set_cookie = manager.commit(manager.open(cookie))
        assert cookie_of(set_cookie) == cookie
        assert store.calls == ["touch"]  # no read, no rewrite
    session = manager.open(cookie)
    assert session["views"] == 1
    store.calls.clear()
    assert cookie_of(manager.commit(session)) == cookie
    assert store.calls == ["touch"]


def test_rolling_clears_the_cookie_when_the_session_is_gone(
    make_manager: MakeManager, store: CountingStore
) -> None:
    manager = make_manager(rolling=True)
    cookie = start_session(manager, views=1)
    store.delete(session_id(manager, cookie))
    set_cookie = manager.commit(manager.open(cookie))
    assert set_cookie is not None
    assert attributes_of(set_cookie)["max-age"] == "0"


def test_touch_refreshes_expiry_without_rewriting(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, views=1)
    store.calls.clear()
    session = manager.open(cookie)
    session.touch()
    assert store.calls == []  # no I/O until commit
    assert cookie_of(manager.commit(session)) == cookie
    assert store.calls == ["touch"]


def test_per_session_max_age_resends_cookie_and_sets_the_ttl(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, user="ann")
    session = manager.open(cookie)
    session.max_age = 30 * 24 * 3600  # "remember me"
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    assert attributes_of(set_cookie)["max-age"] == str(30 * 24 * 3600)
    expires, _ = store._table.entries[session_id(manager, cookie)]
    assert expires - store._clock() > 29 * 24 * 3600


def test_per_session_max_age_none_turns_into_a_browser_session_cookie(
    manager: SessionManager,
) -> None:
    cookie = start_session(manager, user="ann")
    session = manager.open(cookie)
    session.max_age = None
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    assert "max-age" not in attributes_of(set_cookie)


# -- cookies that are not ours never reach the store


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-5] + ("A" if c[-5] != "A" else "B") + c[-4:],  # signature changed
        lambda c: c.split(".")[0],  # unsigned id
        lambda c: "session=" + new_session_id() + "." + c.split(".")[1],  # id swapped
        lambda c: "session=garbage",
        lambda c: "session=",
        lambda c: "session=..",
        lambda c: "session=é.é",
    ],
)
def test_tampered_cookie_never_reaches_the_store(
    manager: SessionManager, store: CountingStore, tamper: Callable[[str], str]
) -> None:
    cookie = start_session(manager, user="ann")
    store.calls.clear()
    session = manager.open(tamper(cookie))
    assert session.get("user") is None
    assert session.is_new
    assert manager.commit(session) is None
    assert store.calls == []


def test_validly_signed_id_of_the_wrong_shape_is_rejected(
    manager: SessionManager, store: CountingStore
) -> None:
    forged = manager.signer.sign("../../etc/passwd")
    session = manager.open(f"session={forged}")
    assert session.is_new
    assert store.calls == []


def test_several_cookies_of_the_name_are_each_tried(manager: SessionManager) -> None:
    cookie = start_session(manager, user="ann")
    header = f"session=stale.value; other=1; {cookie}"
    assert manager.open(header)["user"] == "ann"


def test_secret_rotation_works_both_ways(make_manager: MakeManager) -> None:
    old = make_manager(secret="old-key-0123456789abcdefghijklmnopqrstuv")
    cookie = start_session(old, user="ann")
    rotated = make_manager(
        secret=[
            "new-key-0123456789abcdefghijklmnopqrstuv",
            "old-key-0123456789abcdefghijklmnopqrstuv",
        ]
    )
    assert rotated.open(cookie)["user"] == "ann", "old cookies stay valid after rotation"
    session = rotated.open(None)
    session["user"] = "bob"
    new_cookie = cookie_of(rotated.commit(session))
    assert (
        make_manager(secret="new-key-0123456789abcdefghijklmnopqrstuv").open(new_cookie)["user"]
        == "bob"
    )
    assert old.open(new_cookie).is_new, "the first secret signs, not an older one"


# -- regenerate, destroy, reload, save


def test_regenerate_kills_the_old_id(manager: SessionManager, store: CountingStore) -> None:
    cookie = start_session(manager, cart=["apple"])
    old_id = session_id(manager, cookie)
    session = manager.open(cookie)
    session.regenerate()
    assert store.get(old_id) is not None  # nothing happens before commit
    session["user"] = "ann"
    set_cookie = manager.commit(session)
    assert store.get(old_id) is None
    assert cookie_of(set_cookie) != cookie
    assert dict(manager.open(cookie_of(set_cookie))) == {"user": "ann"}
    assert manager.open(cookie).is_new


def test_regenerate_keep_carries_the_data(manager: SessionManager, store: CountingStore) -> None:
    cookie = start_session(manager, cart=["apple"])
    session = manager.open(cookie)
    session.regenerate(keep=True)
    set_cookie = manager.commit(session)
    assert session_id(manager, cookie_of(set_cookie)) != session_id(manager, cookie)
    assert dict(manager.open(cookie_of(set_cookie))) == {"cart": ["apple"]}
    assert store.get(session_id(manager, cookie)) is None


def test_destroy_deletes_and_sends_an_expiring_cookie(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, user="ann")
    session = manager.open(cookie)
    session.destroy()
    set_cookie = manager.commit(session)
    assert store.get(session_id(manager, cookie)) is None
    assert set_cookie is not None
    assert set_cookie.startswith("session=;")
    attributes = attributes_of(set_cookie)
    assert attributes["max-age"] == "0"
    assert attributes["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_a_concurrent_logout_is_never_undone(manager: SessionManager) -> None:
    cookie = start_session(manager, user="ann", views=1)
    slow = manager.open(cookie)
    assert slow["views"] == 1  # read before the logout
    logout = manager.open(cookie)
    logout.destroy()
    manager.commit(logout)
    slow["views"] = 2
    set_cookie = manager.commit(slow)
    assert set_cookie is not None
    assert attributes_of(set_cookie)["max-age"] == "0"
    assert manager.store.get(session_id(manager, cookie)) is None


def test_gone_session_gets_a_new_id_never_the_clients(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, user="ann")
    store.delete(session_id(manager, cookie))
    session = manager.open(cookie)
    assert session.is_new
    assert session.id != session_id(manager, cookie)
    session["views"] = 1
    assert session_id(manager, cookie_of(manager.commit(session))) != session_id(manager, cookie)


def test_gone_session_that_stays_empty_clears_the_stale_cookie(
    manager: SessionManager, store: CountingStore
) -> None:
    cookie = start_session(manager, user="ann")
    store.delete(session_id(manager, cookie))
    session = manager.open(cookie)
    assert len(session) == 0
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    assert attributes_of(set_cookie)["max-age"] == "0"


def test_save_writes_now_and_commit_does_not_write_again(
    manager: SessionManager, store: CountingStore
) -> None:
    session = manager.open(None)
    session["user"] = "ann"
    session.save()
    assert store.calls == ["add"]
    set_cookie = manager.commit(session)
    assert store.calls == ["add"]
    assert dict(manager.open(cookie_of(set_cookie))) == {"user": "ann"}


def test_reload_reads_what_another_request_wrote(manager: SessionManager) -> None:
    cookie = start_session(manager, views=1)
    mine = manager.open(cookie)
    assert mine["views"] == 1
    other = manager.open(cookie)
    other["views"] = 5
    manager.commit(other)
    mine.reload()
    assert mine["views"] == 5


def test_an_id_collision_never_merges_two_users(
    manager: SessionManager, store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = new_session_id()
    store.set(taken, b'{"user":"victim"}', 60)
    ids = iter([taken, taken])
    fresh = new_session_id
    monkeypatch.setattr("sessionkit.manager.new_session_id", lambda: next(ids, None) or fresh())
    session = manager.open(None)
    session.regenerate()  # takes the colliding id
    session["user"] = "attacker"
    set_cookie = manager.commit(session)
    assert session_id(manager, cookie_of(set_cookie)) != taken
    assert store.get(taken) == b'{"user":"victim"}'


# -- options


def test_save_uninitialized_stores_every_new_session(
    make_manager: MakeManager, store: CountingStore
) -> None:
    manager = make_manager(save_uninitialized=True)
    set_cookie = manager.commit(manager.open(None))
    assert store.calls == ["add"]
    assert dict(manager.open(cookie_of(set_cookie))) == {}
    assert store.count() == 1


def test_resave_writes_an_unchanged_session(
    make_manager: MakeManager, store: CountingStore
) -> None:
    manager = make_manager(resave=True)
    cookie = start_session(manager, views=1)
    store.calls.clear()
    session = manager.open(cookie)
    assert session["views"] == 1
    manager.commit(session)
    assert store.calls == ["get_versioned", "replace_versioned"]


def test_too_large_session_raises_at_commit(make_manager: MakeManager) -> None:
    manager = make_manager(max_size=100)
    session = manager.open(None)
    session["blob"] = "x" * 200
    with pytest.raises(SessionTooLargeError) as raised:
        manager.commit(session)
    assert raised.value.limit == 100


def test_undecodable_stored_data_gives_an_empty_session_and_a_warning(
    manager: SessionManager, store: CountingStore, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = start_session(manager, user="ann")
    for payload in (b"\x80\x04\x95 pickle-like", b"[1, 2]", b"{not json"):
        store.set(session_id(manager, cookie), payload, 60)
        with caplog.at_level(logging.WARNING, logger="sessionkit"):
            session = manager.open(cookie)
            assert dict(session) == {}
        assert "unusable session data" in caplog.text
        assert session_id(manager, cookie) not in caplog.text
        caplog.clear()


@pytest.mark.parametrize(("https", "secure"), [(True, True), (False, False)])
def test_secure_auto_follows_the_request(
    manager: SessionManager, https: bool, secure: bool
) -> None:
    session = manager.open(None)
    session["a"] = 1
    set_cookie = manager.commit(session, https=https)
    assert set_cookie is not None
    assert ("secure" in attributes_of(set_cookie)) is secure


def test_host_prefixed_cookie_is_always_secure(make_manager: MakeManager) -> None:
    manager = make_manager(cookie_name="__Host-sid")
    session = manager.open(None)
    session["a"] = 1
    set_cookie = manager.commit(session, https=False)
    assert set_cookie is not None
    assert set_cookie.startswith("__Host-sid=")
    assert "secure" in attributes_of(set_cookie)


def test_partitioned_priority_and_domain_are_rendered(make_manager: MakeManager) -> None:
    manager = make_manager(
        partitioned=True, priority="high", domain="example.com", samesite="none", secure=True
    )
    session = manager.open(None)
    session["a"] = 1
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    attributes = attributes_of(set_cookie)
    assert attributes["partitioned"] == ""
    assert attributes["priority"] == "High"
    assert attributes["domain"] == "example.com"
    assert attributes["samesite"] == "None"
    assert "secure" in attributes


# -- async


def test_async_open_and_commit(make_manager: MakeManager, store: CountingStore) -> None:
    manager = make_manager()

    async def request(cookie: str | None) -> str | None:
        session = await manager.aopen(cookie)
        session["views"] = session.get("views", 0) + 1
        return await manager.acommit(session)

    async def scenario() -> None:
        cookie = cookie_of(await request(None))
        await request(cookie)
        store.calls.clear()
        session = await manager.aopen(cookie)
        assert store.calls == []  # the memory store never blocks: loaded when first used
        assert session["views"] == 2
        assert store.calls == ["get_versioned"]
        untouched = await manager.aopen(None)
        assert await manager.acommit(untouched) is None
        session.regenerate(keep=True)
        await session.asave()
        await session.areload()
        assert session["views"] == 2

    asyncio.run(scenario())


def test_a_cookie_signed_with_an_older_secret_is_resigned_with_the_newest(
    make_manager: MakeManager,
) -> None:
    old_cookie = start_session(
        make_manager(secret="old-key-0123456789abcdefghijklmnopqrstuv"), views=1
    )
    rotated = make_manager(
        secret=[
            "new-key-0123456789abcdefghijklmnopqrstuv",
            "old-key-0123456789abcdefghijklmnopqrstuv",
        ]
    )
    session = rotated.open(old_cookie)
    session["views"] += 1
    resent = cookie_of(rotated.commit(session))
    assert resent != old_cookie
    assert session_id(rotated, resent) == session_id(rotated, old_cookie)
    assert (
        make_manager(secret="new-key-0123456789abcdefghijklmnopqrstuv").open(resent)["views"] == 2
    )


def test_open_can_hand_out_a_session_subclass(manager: SessionManager) -> None:
    from sessionkit import Session

    class FrameworkSession(Session):
        pass

    cookie = start_session(manager, views=1)
    session = manager.open(cookie, FrameworkSession)
    assert isinstance(session, FrameworkSession)
    assert session["views"] == 1
    assert isinstance(manager.open(None, FrameworkSession), FrameworkSession)


def test_one_manager_serves_several_event_loops(manager: SessionManager) -> None:
    cookie = start_session(manager, views=1)

    async def visit() -> int:
        session = await manager.aopen(cookie)
        session["views"] += 1
        await manager.acommit(session)
        views: int = session["views"]
        await manager.aclose()
        return views

    assert asyncio.run(visit()) == 2
    assert asyncio.run(visit()) == 3  # a second loop gets its own async twin


class CountingSerializer(JSONSerializer):
    def __init__(self) -> None:
        super().__init__()
        self.dumps_calls = 0

    def dumps(self, data: dict[str, object]) -> bytes:
        self.dumps_calls += 1
        return super().dumps(data)


def test_reading_only_immutable_values_skips_serialising_at_commit(
    make_manager: MakeManager,
) -> None:
    serializer = CountingSerializer()
    manager = make_manager(serializer=serializer)
    cookie = start_session(manager, user="ann", views=3, cart=["apple"])
    serializer.dumps_calls = 0
    session = manager.open(cookie)
    assert (session["user"], session.get("views"), "cart" in session, len(session)) == (
        "ann",
        3,
        True,
        3,
    )
    assert manager.commit(session) is None
    assert serializer.dumps_calls == 0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.get("cart").append("pear"),
        lambda s: next(iter(s.values())).append("pear"),
        lambda s: next(v for _, v in s.items()).append("pear"),
        lambda s: s.setdefault("cart", []).append("pear"),
    ],
)
def test_values_handed_out_by_any_accessor_are_watched(
    manager: SessionManager, mutate: Callable[[object], None]
) -> None:
    cookie = start_session(manager, cart=["apple"])
    session = manager.open(cookie)
    mutate(session)
    manager.commit(session)
    assert manager.open(cookie)["cart"] == ["apple", "pear"]
