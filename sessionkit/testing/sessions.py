"""The contract seen through a :class:`~sessionkit.SessionManager`: what real traffic does
to a session on the store: parallel requests, a login racing a logout, "log out everywhere"."""

from __future__ import annotations

from typing import Any

import pytest

from .. import codec
from ..errors import SessionConflictError
from ..manager import SessionManager
from ..protect import Mode
from ..store import Store, SupportsUserIndex, SupportsVersions, in_process
from .base import ContractBase
from .drivers import run_threads

SECRET = "contract-suite-secret-of-at-least-32-bytes"  # noqa: S105 - a test key


def cookie_of(set_cookie: str | None) -> str:
    """The ``name=value`` pair of a Set-Cookie header, as a browser would send it back."""
    assert set_cookie is not None, "expected a Set-Cookie header"
    return set_cookie.split(";", 1)[0]


class SessionContract(ContractBase):
    """Sessions on the store through the manager, as parallel requests use them."""

    def manager(self, store: Store, **options: Any) -> SessionManager:
        """A manager on ``store`` (the test's store, or its async twin behind a facade)."""
        return SessionManager(store, SECRET, breaker=False, **options)

    def start(self, manager: SessionManager, **data: Any) -> str:
        """A stored session holding ``data``; the Cookie header that carries it."""
        session = manager.open(None)
        session.update(data)
        cookie = cookie_of(manager.commit(session))
        self._written.append(session.id)
        return cookie

    def test_two_interleaved_requests_keep_both_changes(self, store: Store) -> None:
        self.require(SupportsVersions)
        manager = self.manager(store)
        cookie = self.start(manager, cart=["first"], user="ann")
        one, two = manager.open(cookie), manager.open(cookie)
        one["cart"].append("from one")  # read, read
        two["cart"].append("from two")
        two["seen"] = True
        manager.commit(one)  # write, write
        manager.commit(two)
        final = manager.open(cookie)
        assert sorted(final["cart"]) == ["first", "from one", "from two"]
        assert final["seen"] is True
        assert final["user"] == "ann"

    def test_parallel_requests_lose_no_cart_item(self, store: Store) -> None:
        self.require(SupportsVersions)
        manager = self.manager(store)
        for trial in range(3):
            cookie = self.start(manager, views=1)  # no cart yet: every request creates it

            def add_item(index: int, cookie: str = cookie, trial: int = trial) -> None:
                session = manager.open(cookie)
                cart = list(session.get("cart", []))
                cart.append(f"{trial}-{index}")
                session["cart"] = cart
                manager.commit(session)

            run_threads(10, add_item)
            cart = manager.open(cookie)["cart"]
            assert sorted(cart) == sorted(f"{trial}-{index}" for index in range(10))

    def test_the_same_value_changed_by_both_follows_the_policy(self, store: Store) -> None:
        self.require(SupportsVersions)
        for policy, expected in (("ours", "two"), ("theirs", "one")):
            manager = self.manager(store, on_conflict=policy)
            cookie = self.start(manager, theme="light")
            one, two = manager.open(cookie), manager.open(cookie)
            one["theme"], two["theme"] = "one", "two"
            manager.commit(one)
            manager.commit(two)
            assert manager.open(cookie)["theme"] == expected
        manager = self.manager(store, on_conflict="raise")
        cookie = self.start(manager, theme="light")
        one, two = manager.open(cookie), manager.open(cookie)
        one["theme"], two["theme"] = "one", "two"
        manager.commit(one)
        with pytest.raises(SessionConflictError):
            manager.commit(two)
        assert manager.open(cookie)["theme"] == "one"

    def test_a_save_never_brings_back_a_destroyed_session(self, store: Store) -> None:
        manager = self.manager(store)
        cookie = self.start(manager, cart=["x"])
        slow, logout = manager.open(cookie), manager.open(cookie)
        slow["cart"].append("y")
        logout.destroy()
        manager.commit(logout)
        assert "Max-Age=0" in (manager.commit(slow) or "")
        assert dict(manager.open(cookie)) == {}

    def test_a_login_racing_a_logout_never_restores_the_session(self, store: Store) -> None:
        manager = self.manager(store)
        cookie = self.start(manager, cart=["x"], user="guest")
        login, logout = manager.open(cookie), manager.open(cookie)
        assert login["cart"] == ["x"]  # the login read the session before the logout
        logout.destroy()
        manager.commit(logout)
        login.regenerate(keep=True)
        login["user"] = "ann"
        new_cookie = cookie_of(manager.commit(login))
        self._written.append(login.id)
        assert dict(manager.open(new_cookie)) == {"user": "ann"}
        assert dict(manager.open(cookie)) == {}

    def test_a_login_carries_the_session_over_when_nothing_raced(self, store: Store) -> None:
        manager = self.manager(store)
        cookie = self.start(manager, cart=["x"])
        login = manager.open(cookie)
        login.regenerate(keep=True)
        login["user"] = "ann"
        new_cookie = cookie_of(manager.commit(login))
        self._written.append(login.id)
        assert dict(manager.open(new_cookie)) == {"cart": ["x"], "user": "ann"}
        assert dict(manager.open(cookie)) == {}

    def test_log_out_other_devices(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        manager = self.manager(store)
        user = f"user-{self.sid()}"
        cookies = []
        for device in ("laptop", "phone", "tablet"):
            session = manager.open(None)
            session.regenerate()
            session.user_id = user
            session.info["device"] = device
            cookies.append(cookie_of(manager.commit(session)))
            self._written.append(session.id)
        listed = manager.user_sessions(user)
        assert sorted(item.info["device"] for item in listed) == ["laptop", "phone", "tablet"]
        assert all(item.created is not None for item in listed)
        here = manager.open(cookies[0])
        assert manager.destroy_user_sessions(user, keep=here) == 2
        assert [item.info["device"] for item in manager.user_sessions(user)] == ["laptop"]
        assert manager.open(cookies[0]).user_id == user
        assert [dict(manager.open(cookie)) for cookie in cookies[1:]] == [{}, {}]

    def test_a_user_binding_survives_regenerate(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        manager = self.manager(store)
        user = f"user-{self.sid()}"
        session = manager.open(None)
        session.user_id = user
        cookie = cookie_of(manager.commit(session))
        session = manager.open(cookie)
        session.regenerate()
        new_cookie = cookie_of(manager.commit(session))
        self._written.append(session.id)
        assert [item.id for item in manager.user_sessions(user)] == [session.id]
        assert manager.open(new_cookie).user_id == user

    @pytest.mark.parametrize("protect", ["sign", "encrypt"])
    def test_a_planted_session_never_reaches_the_application(
        self, store: Store, protect: Mode
    ) -> None:
        if protect == "encrypt":
            pytest.importorskip("cryptography")
        manager = self.manager(store, protect=protect)
        cookie = self.start(manager, user="ann", note="shh")
        sid = manager.open(cookie).id
        genuine = store.get(sid)
        assert genuine is not None
        if in_process(store):  # only this process can plant anything: stored as it is
            assert manager.protect is None
            assert b'"note":"shh"' in genuine
            return
        if protect == "encrypt":
            assert b"shh" not in genuine
            assert b"ann" not in genuine
        other_cookie = self.start(manager, user="admin")
        retired = SessionManager(store, "a-retired-secret-" + SECRET, protect=protect)
        retired_cookie = self.start(retired, user="admin")
        planted = {
            "plain": codec.encode(codec.Meta(), b'{"user":"admin"}'),
            "legacy": b'{"user":"admin"}',
            "copied from another id": store.get(manager.open(other_cookie).id),
            "protected with a retired key": store.get(retired.open(retired_cookie).id),
            "truncated": genuine[:-3],
            "flipped": genuine[:-1] + bytes([genuine[-1] ^ 1]),
        }
        for case, payload in planted.items():
            assert payload is not None
            store.set(sid, payload, 60)
            session = manager.open(cookie)
            assert dict(session) == {}, f"{case}: planted data reached the application"
        session = manager.open(cookie)
        session["user"] = "ann"  # the next write replaces what was planted
        manager.commit(session)
        assert manager.open(cookie)["user"] == "ann"

    def test_rotation_opens_old_writes_and_protects_new_ones_with_the_newest(
        self, store: Store
    ) -> None:
        old = self.manager(store)
        cookie = self.start(old, cart=["x"])
        rotated = SessionManager(store, ["a-newer-secret-" + SECRET, SECRET], breaker=False)
        session = rotated.open(cookie)
        assert session["cart"] == ["x"]
        session["cart"].append("y")
        rotated.commit(session)
        newest_only = SessionManager(store, "a-newer-secret-" + SECRET, breaker=False)
        resigned = f"session={newest_only.signer.sign(session.id)}"
        assert newest_only.open(resigned)["cart"] == ["x", "y"]
