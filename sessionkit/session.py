"""The session object an application sees: a dict-like view of one user's session."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .ids import check_user_id
from .serializers import DEFERRED
from .state import SessionData, SessionState
from .users import when

if TYPE_CHECKING:
    from .manager import SessionManager

_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class Session(MutableMapping[str, Any]):
    """One user's session, as handed out by :meth:`SessionManager.open`.

    Reading or writing it the first time loads it from the store (a session that is never
    accessed costs no store I/O). :meth:`regenerate`, :meth:`destroy` and :meth:`touch` only
    record what to do; the manager carries it out at commit. :meth:`save` and :meth:`reload`
    do their I/O when called (:meth:`asave` and :meth:`areload` in async code).
    """

    __slots__ = ("_manager", "_state")

    def __init__(self, manager: SessionManager, sid: str, *, from_cookie: bool) -> None:
        self._manager = manager
        self._state = SessionState(sid, from_cookie, manager.max_age)

    # -- identity and state

    @property
    def id(self) -> str:
        """The session id. Reading it loads the session: a stale id is replaced on load."""
        self._loaded()
        return self._state.id

    @property
    def is_new(self) -> bool:
        """True if the session was not in the store when this request began (or was regenerated)."""
        self._loaded()
        return self._state.is_new

    @property
    def accessed(self) -> bool:
        """True once the session's data has been loaded or created during this request."""
        return self._state.data is not None

    @property
    def modified(self) -> bool:
        """True if the data differs from what the store holds (nested changes included)."""
        state = self._state
        if state.data is None or not state.exposed:
            return False
        return self._manager.serializer.dumps(state.data) != state.base

    @property
    def max_age(self) -> int | None:
        """Seconds the cookie lives; None for a browser-session cookie."""
        return self._state.max_age

    @max_age.setter
    def max_age(self, value: int | None) -> None:
        """Override the lifetime for this session only (e.g. "remember me"); the cookie is
        re-sent and the store's TTL follows at commit."""
        self._state.max_age = self._manager.check_max_age(value)
        self._state.max_age_changed = True

    @property
    def ttl(self) -> int:
        """Seconds the store keeps this session after the last write or touch."""
        return self._state.max_age or self._manager.ttl

    # -- metadata

    @property
    def user_id(self) -> str | None:
        """The user this session is bound to (None: nobody). Set it at login; the binding
        survives :meth:`regenerate`, and :meth:`SessionManager.destroy_user_sessions` ends
        every session bound to a user ("log out everywhere")."""
        self._loaded()
        return self._state.meta.user_id

    @user_id.setter
    def user_id(self, value: str | None) -> None:
        self._loaded()
        user_id = None if value is None else check_user_id(value)
        self._state.meta = self._state.meta._replace(user_id=user_id)

    @property
    def info(self) -> dict[str, Any]:
        """What the application records about this session for listings of a user's
        sessions (e.g. ``{"device": "Firefox on Linux"}``); JSON values, kept small."""
        self._loaded()
        return self._manager.info_of(self._state)

    @property
    def created(self) -> datetime | None:
        """When the session was first stored (None until it is)."""
        self._loaded()
        return when(self._state.meta.created)

    @property
    def last_active(self) -> datetime | None:
        """When the session was last written or refreshed (None until it is stored)."""
        self._loaded()
        return when(self._state.meta.active)

    # -- the life cycle

    def regenerate(self, *, keep: bool = False) -> None:
        """Give the session a new id and delete the old one at commit; call it at login.

        The data is dropped unless ``keep=True``. Kept data is stored under the new id only
        if the old session still existed when it was deleted: a login racing a logout never
        brings the logged-out data back (what the app sets afterwards is stored either way).
        """
        loaded = self._loaded()  # the user binding and, with keep, the data carry over
        data = dict(loaded) if keep else {}
        self._state.regenerated(self._manager.new_id(), keep, self._manager.empty)
        self._state.data = data

    def destroy(self) -> None:
        """Delete the session from the store and clear the cookie, at commit."""
        self._state.destroy()

    def touch(self) -> None:
        """Refresh the session's expiry at commit, without rewriting its data."""
        self._state.touch = True

    async def aload(self) -> None:
        """Load the session now, without blocking the event loop (a no-op once loaded): for
        async code whose adapter did not load it eagerly."""
        if self._state.data is None:
            await self._manager.aload_session(self)

    def reload(self) -> None:
        """Re-read the session from the store now, dropping unsaved changes."""
        self._manager.reload_session(self)

    async def areload(self) -> None:
        """:meth:`reload` for code running on an event loop."""
        await self._manager.areload_session(self)

    def save(self) -> None:
        """Write the session now; commit will not write it again unless it changes further."""
        self._manager.save_session(self)

    async def asave(self) -> None:
        """:meth:`save` for code running on an event loop."""
        await self._manager.asave_session(self)

    # -- the mapping

    def _loaded(self) -> SessionData:
        data = self._state.data
        if data is None:
            self._manager.load_session(self)
            data = self._state.data
            assert data is not None
        return data

    def __getitem__(self, key: str) -> Any:
        data = self._state.data
        if data is None:  # _loaded(), without its call: the first access of most requests
            self._manager.load_session(self)
            data = self._state.data
            assert data is not None
        value = data[key]
        if type(value) not in _IMMUTABLE:
            if type(value) is DEFERRED:  # not read from its stored bytes yet
                value = data[key] = self._manager.load_value(value)
                if type(value) in _IMMUTABLE:
                    return value
            self._state.exposed = True  # the caller may change it in place
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        state = self._state
        (self._loaded() if state.data is None else state.data)[key] = value
        state.exposed = True

    def __delitem__(self, key: str) -> None:
        del self._loaded()[key]
        self._state.exposed = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __contains__(self, key: object) -> bool:
        return key in self._loaded()

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._loaded() else default

    def clear(self) -> None:
        self._loaded().clear()
        self._state.exposed = True

    def __repr__(self) -> str:
        # The id is a bearer credential: it is kept out of reprs and logs.
        data = self._state.data
        state = "unloaded" if data is None else f"keys={sorted(data)!r}"
        return f"<Session new={self._state.is_new} {state}>"
