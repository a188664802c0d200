"""The session object an application sees: a dict-like view of one user's session."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .ids import new_session_id
from .serializers import SessionData

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

    __slots__ = (
        "_cookie_due",
        "_data",
        "_destroyed",
        "_doomed",
        "_exposed",
        "_from_cookie",
        "_id",
        "_in_store",
        "_is_new",
        "_manager",
        "_max_age",
        "_max_age_changed",
        "_saved",
        "_signed",
        "_snapshot",
        "_touch",
    )

    def __init__(self, manager: SessionManager, sid: str, *, from_cookie: bool) -> None:
        self._manager = manager
        self._id = sid
        self._from_cookie = from_cookie  # the request carried a valid signed cookie
        self._in_store = from_cookie  # presumed until loaded
        self._is_new = not from_cookie
        self._data: SessionData | None = None  # None until first accessed
        self._snapshot: bytes | None = None  # the serialised data as the store holds it
        # False while the app has only read immutable values: the data cannot have changed,
        # so commit need not serialise it to find out.
        self._exposed = False
        self._doomed: list[str] = []  # ids to delete from the store at commit
        self._destroyed = False
        self._touch = False
        self._saved = False  # written by save() during this request
        self._cookie_due = False  # save() wrote something the cookie must announce
        self._max_age = manager.max_age
        self._max_age_changed = False
        self._signed: tuple[str, str] | None = None  # (id, cookie value) fit to send back

    # -- identity and state

    @property
    def id(self) -> str:
        """The session id. Reading it loads the session: a stale id is replaced on load."""
        self._ensure_loaded()
        return self._id

    @property
    def is_new(self) -> bool:
        """True if the session was not in the store when this request began (or was regenerated)."""
        self._ensure_loaded()
        return self._is_new

    @property
    def accessed(self) -> bool:
        """True once the session's data has been loaded or created during this request."""
        return self._data is not None

    @property
    def modified(self) -> bool:
        """True if the data differs from what the store holds (nested changes included)."""
        if self._data is None or not self._exposed:
            return False
        return self._manager.serializer.dumps(self._data) != self._snapshot

    @property
    def max_age(self) -> int | None:
        """Seconds the cookie lives; None for a browser-session cookie."""
        return self._max_age

    @max_age.setter
    def max_age(self, value: int | None) -> None:
        """Override the lifetime for this session only (e.g. "remember me"); the cookie is
        re-sent and the store's TTL follows at commit."""
        self._max_age = self._manager.check_max_age(value)
        self._max_age_changed = True

    @property
    def ttl(self) -> int:
        """Seconds the store keeps this session after the last write or touch."""
        return self._max_age or self._manager.ttl

    # -- the life cycle

    def regenerate(self, *, keep: bool = False) -> None:
        """Give the session a new id and delete the old one at commit; call it at login.

        The data is dropped unless ``keep=True``.
        """
        data = dict(self._loaded()) if keep else {}
        if self._in_store:
            self._doomed.append(self._id)
        self._id = new_session_id()
        self._data = data
        self._exposed = keep
        self._snapshot = self._manager.empty
        self._in_store = False
        self._is_new = True
        self._destroyed = False

    def destroy(self) -> None:
        """Delete the session from the store and clear the cookie, at commit."""
        if self._in_store:
            self._doomed.append(self._id)
        self._in_store = False
        self._destroyed = True
        self._data = {}

    def touch(self) -> None:
        """Refresh the session's expiry at commit, without rewriting its data."""
        self._touch = True

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

    def _ensure_loaded(self) -> None:
        if self._data is None:
            self._manager.load_session(self)

    def _loaded(self) -> SessionData:
        if self._data is None:
            self._manager.load_session(self)
        assert self._data is not None
        return self._data

    def __getitem__(self, key: str) -> Any:
        value = self._loaded()[key]
        if type(value) not in _IMMUTABLE:
            self._exposed = True  # the caller may change it in place
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._loaded()[key] = value
        self._exposed = True

    def __delitem__(self, key: str) -> None:
        del self._loaded()[key]
        self._exposed = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __contains__(self, key: object) -> bool:
        return key in self._loaded()

    def get(self, key: str, default: Any = None) -> Any:
        value = self._loaded().get(key, default)
        if type(value) not in _IMMUTABLE:
            self._exposed = True
        return value

    def clear(self) -> None:
        self._loaded().clear()
        self._exposed = True

    def __repr__(self) -> str:
        # The id is a bearer credential: it is kept out of reprs and logs.
        state = "unloaded" if self._data is None else f"keys={sorted(self._data)!r}"
        return f"<Session new={self._is_new} {state}>"
