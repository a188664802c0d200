"""The session manager: opens a request's session from its cookie and commits it back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any, Literal, TypeVar, overload
from weakref import WeakKeyDictionary

from .cookies import CookieOptions, Priority, SameSite, cookie_values
from .errors import ConfigurationError, SessionKitError, SessionTooLargeError
from .ids import new_session_id
from .registry import open_store
from .serializers import Serializer, get_serializer
from .session import Session
from .signing import CookieSigner, Secrets
from .store import AsyncStore, Store, as_async

log = logging.getLogger("sessionkit")

DEFAULT_MAX_AGE = 14 * 24 * 3600
ADD_ATTEMPTS = 3

# A store call as data: (method name, *arguments). The session logic below is written once as
# generators that yield these and receive the results, then driven by a sync or async runner.
S = TypeVar("S", bound=Session)
StoreCall = tuple[Any, ...]
Steps = Generator[StoreCall, Any, Any]


def _run(steps: Steps, store: Store) -> Any:
    try:
        call = next(steps)
        while True:
            call = steps.send(getattr(store, call[0])(*call[1:]))
    except StopIteration as done:
        return done.value


async def _arun(steps: Steps, store: AsyncStore) -> Any:
    try:
        call = next(steps)
        while True:
            call = steps.send(await getattr(store, call[0])(*call[1:]))
    except StopIteration as done:
        return done.value


class SessionManager:
    """Loads sessions from signed cookies and saves them back only when needed.

    :param store: a store URL (``"memory://"``, ``"redis://…"``) or a store object.
    :param secret: signs the cookie; a sequence rotates keys: the first signs, all verify.
    :param max_age: cookie lifetime in seconds; None makes a browser-session cookie.
    :param ttl: store lifetime, in seconds, of sessions whose cookie has no max-age
        (default: ``max_age``, or 14 days when that is None).
    :param rolling: re-send the cookie and refresh the store TTL on every response.
    :param save_uninitialized: store new sessions even if nothing was put in them.
    :param resave: write sessions back even when unchanged.
    :param max_size: the most bytes of serialised data a session may hold.
    The cookie attributes (``cookie_name``, ``secure``, ``httponly``, ``samesite``,
    ``domain``, ``path``, ``partitioned``, ``priority``) are those of
    :class:`~sessionkit.cookies.CookieOptions`.
    """

    def __init__(
        self,
        store: str | Store = "memory://",
        secret: Secrets | None = None,
        *,
        cookie_name: str = "session",
        max_age: int | None = DEFAULT_MAX_AGE,
        ttl: int | None = None,
        rolling: bool = False,
        save_uninitialized: bool = False,
        resave: bool = False,
        secure: bool | Literal["auto"] = "auto",
        httponly: bool = True,
        samesite: SameSite | None = "lax",
        domain: str | None = None,
        path: str = "/",
        partitioned: bool = False,
        priority: Priority | None = None,
        serializer: str | Serializer = "json",
        max_size: int = 64 * 1024,
    ) -> None:
        self.signer = CookieSigner(secret)
        self.cookie = CookieOptions(
            cookie_name, path, domain, secure, httponly, samesite, partitioned, priority
        )
        self.max_age = self.check_max_age(max_age)
        self.ttl = self.check_max_age(ttl) or self.max_age or DEFAULT_MAX_AGE
        self.rolling = rolling
        self.save_uninitialized = save_uninitialized
        self.resave = resave
        if type(max_size) is not int or max_size < 1:
            raise ConfigurationError("max_size must be a positive number of bytes")
        self.max_size = max_size
        self.serializer = get_serializer(serializer)
        self.empty = self.serializer.dumps({})
        self._owns_store = isinstance(store, str)
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self._async_stores: WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncStore] = (
            WeakKeyDictionary()
        )

    @staticmethod
    def check_max_age(value: int | None) -> int | None:
        if value is not None and (type(value) is not int or value < 1):
            raise ConfigurationError(f"a lifetime must be None or an int >= 1, got {value!r}")
        return value

    @property
    def async_store(self) -> AsyncStore:
        """The store as seen from the running event loop: native, or calls in a worker thread.

        Native async clients belong to the loop they first ran on, so each loop gets its own.
        """
        loop = asyncio.get_running_loop()
        astore = self._async_stores.get(loop)
        if astore is None:
            astore = self._async_stores[loop] = as_async(self.store)
        return astore

    def close(self) -> None:
        """Close the store if this manager opened it from a URL."""
        if self._owns_store:
            self.store.close()

    async def aclose(self) -> None:
        """Close the running loop's async twin of the store, then the store as :meth:`close`."""
        astore = self._async_stores.pop(asyncio.get_running_loop(), None)
        if astore is not None:
            await astore.close()
        self.close()

    # -- a request's life: open, then commit

    @overload
    def open(self, cookie_header: str | None) -> Session: ...
    @overload
    def open(self, cookie_header: str | None, session_class: type[S]) -> S: ...

    def open(self, cookie_header: str | None, session_class: type[Session] = Session) -> Session:
        """The session for a request with this Cookie header. No store I/O happens here.

        ``session_class`` lets a framework adapter hand out a subclass of :class:`Session`.
        """
        return self._session_for(cookie_header, session_class)

    @overload
    async def aopen(self, cookie_header: str | None) -> Session: ...
    @overload
    async def aopen(self, cookie_header: str | None, session_class: type[S]) -> S: ...

    async def aopen(
        self, cookie_header: str | None, session_class: type[Session] = Session
    ) -> Session:
        """:meth:`open` for async code; loads a cookie's session now, since dict access
        cannot await."""
        session = self._session_for(cookie_header, session_class)
        if session._in_store:
            await _arun(self._load_steps(session), self.async_store)
        return session

    def commit(self, session: Session, *, https: bool = False) -> str | None:
        """Save what needs saving; return the Set-Cookie header value, or None for none."""
        result: str | None = _run(self._commit_steps(session, https), self.store)
        return result

    async def acommit(self, session: Session, *, https: bool = False) -> str | None:
        """:meth:`commit` for async code."""
        result: str | None = await _arun(self._commit_steps(session, https), self.async_store)
        return result

    # -- used by Session

    def load_session(self, session: Session) -> None:
        raw = self.store.get(session._id) if session._in_store else None
        self._apply_loaded(session, raw)

    def reload_session(self, session: Session) -> None:
        _run(self._reload_steps(session), self.store)

    async def areload_session(self, session: Session) -> None:
        await _arun(self._reload_steps(session), self.async_store)

    def save_session(self, session: Session) -> None:
        _run(self._save_steps(session), self.store)

    async def asave_session(self, session: Session) -> None:
        await _arun(self._save_steps(session), self.async_store)

    # -- the logic, once, as steps

    def _session_for(self, cookie_header: str | None, session_class: type[S]) -> S:
        verify = self.signer.verify
        for value in cookie_values(cookie_header, self.cookie.name):
            verified = verify(value)
            if verified is not None:
                session = session_class(self, verified[0], from_cookie=True)
                if verified[1]:  # signed with the newest secret: reusable as it is
                    session._signed = (verified[0], value)
                return session
        return session_class(self, new_session_id(), from_cookie=False)

    def _cookie_value(self, session: Session) -> str:
        signed = session._signed
        if signed is not None and signed[0] == session._id:
            return signed[1]
        return self.signer.sign(session._id)

    def _load_steps(self, session: Session) -> Steps:
        raw = (yield ("get", session._id)) if session._in_store else None
        self._apply_loaded(session, raw)

    def _apply_loaded(self, session: Session, raw: bytes | None) -> None:
        if raw is None:
            if session._in_store:  # expired or destroyed: a fresh session, never the client's id
                session._id = new_session_id()
                session._in_store = False
                session._is_new = True
            session._data, session._snapshot = {}, self.empty
            session._exposed = False
            return
        session._exposed = False
        try:
            session._data = self.serializer.loads(raw)
        except Exception as exc:  # noqa: BLE001 - stored data is untrusted
            # The snapshot keeps the bad bytes, so the first change the app makes replaces them.
            log.warning("undecodable session data (%s); starting an empty session", exc)
            session._data = {}
        session._snapshot = raw

    def _reload_steps(self, session: Session) -> Steps:
        session._data = None
        yield from self._load_steps(session)

    def _dump(self, session: Session) -> bytes:
        assert session._data is not None
        payload = self.serializer.dumps(session._data)
        if len(payload) > self.max_size:
            raise SessionTooLargeError(len(payload), self.max_size)
        return payload

    def _write_steps(self, session: Session, payload: bytes) -> Steps:
        """Write the session; return whether the cookie must be (re)sent."""
        ttl = session.ttl
        if not session._in_store:
            for _ in range(ADD_ATTEMPTS):
                if (yield ("add", session._id, payload, ttl)):
                    break
                session._id = new_session_id()  # a collision: never share another's session
            else:
                raise SessionKitError(f"could not create a session in {ADD_ATTEMPTS} attempts")
            session._in_store = True
            session._snapshot = payload
            return True
        if not (yield ("replace", session._id, payload, ttl)):
            log.info("session was destroyed by a concurrent request; not saving it")
            session._in_store = False
            session._destroyed = True
            return False
        session._snapshot = payload
        return self._resend_on_refresh(session)

    def _resend_on_refresh(self, session: Session) -> bool:
        return self.rolling or session._max_age is not None or session._max_age_changed

    def _save_steps(self, session: Session) -> Steps:
        yield from self._delete_doomed(session)
        if session._destroyed:
            return
        if session._data is None:
            yield from self._load_steps(session)
        send = yield from self._write_steps(session, self._dump(session))
        session._saved = True
        session._cookie_due = session._cookie_due or send

    def _delete_doomed(self, session: Session) -> Steps:
        while session._doomed:
            yield ("delete", session._doomed.pop())

    def _commit_steps(self, session: Session, https: bool) -> Steps:
        yield from self._delete_doomed(session)
        send = session._cookie_due
        if session._destroyed:
            return self._clear_cookie(https) if session._from_cookie else None
        if session._data is None:
            if session._in_store:
                send = (yield from self._refresh_steps(session)) or send
            elif self.save_uninitialized:
                yield from self._load_steps(session)
        if session._data is not None:
            if session._in_store:
                write = self.resave and not session._saved
            else:
                write = self.save_uninitialized
            payload = self._dump(session) if write or session._exposed else None
            if payload is not None and (write or payload != session._snapshot):
                send = (yield from self._write_steps(session, payload)) or send
            elif session._in_store and not session._saved:
                send = (yield from self._refresh_steps(session)) or send
        if session._destroyed or (session._from_cookie and not session._in_store):
            return self._clear_cookie(https)  # the cookie's session is gone
        if send:
            return self.cookie.render(self._cookie_value(session), session._max_age, https=https)
        return None

    def _refresh_steps(self, session: Session) -> Steps:
        """Touch an unchanged stored session if rolling, touch() or a new max-age asks for it."""
        if not (self.rolling or session._touch or session._max_age_changed):
            return False
        if (yield ("touch", session._id, session.ttl)):
            return self._resend_on_refresh(session)
        session._in_store = False
        session._destroyed = True
        return False

    def _clear_cookie(self, https: bool) -> str:
        return self.cookie.render("", 0, https=https)
