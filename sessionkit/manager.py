"""The session manager: opens a request's session from its cookie and commits it back."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Coroutine
from functools import cached_property
from typing import Any, Literal, TypeVar, cast, overload

from . import lifecycle
from .breaker import CircuitBreaker
from .codec import SessionCodec
from .cookies import CookieOptions, Priority, SameSite, cookie_values
from .errors import ConfigurationError, StoreUnavailableError
from .ids import new_session_id
from .lifecycle import Outcome
from .merge import Policy, check_policy
from .protect import Mode, check_mode, effective_mode, protection
from .purger import Purger
from .registry import open_store
from .serializers import Serializer, get_serializer, read_value, session_reader, stored_reader
from .session import Session
from .signing import CookieSigner, Secrets, normalise_secrets
from .state import SessionState
from .store import (
    AsyncStore,
    Entry,
    InlineAsyncStore,
    Store,
    SupportsPurge,
    SupportsUserIndex,
    SupportsVersions,
    as_async,
    in_process,
)
from .url import mask_url
from .users import SessionInfo

log = logging.getLogger("sessionkit")

DEFAULT_MAX_AGE = 14 * 24 * 3600
S = TypeVar("S", bound=Session)
T = TypeVar("T")
Concurrency = Literal["merge", "last_write_wins"]


class SessionManager:
    """Loads sessions from signed cookies and saves them back only when needed.

    :param store: a store URL (``"memory://"``, ``"redis://…"``) or a store object.
    :param secret: signs the cookie; a sequence rotates keys: the first signs, all verify.
    :param max_age: cookie lifetime in seconds; None makes a browser-session cookie.
    :param ttl: store lifetime, in seconds, of sessions whose cookie has no max-age
        (default: ``max_age``, or 14 days when that is None).
    :param rolling: re-send the cookie and refresh the store TTL on every response.
    :param touch_after: with ``rolling``, refresh a session at most once per this many
        seconds (only requests that use the session refresh it; the cookie is re-sent only
        when it is refreshed).
    :param absolute_timeout: seconds after its creation at which a session ends, however
        active it is (None: never).
    :param save_uninitialized: store new sessions even if nothing was put in them.
    :param resave: write sessions back even when unchanged.
    :param max_size: the most bytes a session may take in the store.
    :param concurrency: ``"merge"`` (default): a save that finds the session changed by a
        parallel request re-applies this request's own changes on top of the other's (see
        :mod:`sessionkit.merge`); ``"last_write_wins"``: the later save replaces the whole
        session, as most session libraries do.
    :param on_conflict: when both requests changed the same value: ``"ours"`` (default),
        ``"theirs"``, ``"raise"`` (:class:`~sessionkit.errors.SessionConflictError`, which the
        adapters answer with 409) or a callable; see :mod:`sessionkit.merge`.
    :param protect: what protects the bytes in the store: ``"sign"`` (default: a MAC bound
        to the session id, so nobody with write access to the store can plant or move a
        session), ``"encrypt"`` (AES-256-GCM: nobody with read access can read one either)
        or None; see :mod:`sessionkit.protect`. A store that keeps its sessions in this
        process (``memory://``) gets none: nothing outside the process can reach it.
    :param purge_interval: for stores that keep expired sessions until purged (file, SQL):
        purge them every this many seconds in a background thread of each process, so that
        no cron job is needed (None: ``sessionkit purge URL`` is up to you).
    :param breaker: fail fast while the store is down (default: a
        :class:`~sessionkit.breaker.CircuitBreaker` with its defaults, except for a store
        in this process, which cannot be down); False for none.
    :param allow_short_secret: accept secrets shorter than 32 bytes (refused by default: a
        short secret can be guessed offline from a single signed cookie).
    :param clock: the time source for session metadata, in seconds since the epoch.

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
        touch_after: int | None = None,
        absolute_timeout: int | None = None,
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
        concurrency: Concurrency = "merge",
        on_conflict: Policy = "ours",
        protect: Mode | None = "sign",
        breaker: CircuitBreaker | bool = True,
        purge_interval: float | None = None,
        allow_short_secret: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.allow_short_secret = allow_short_secret
        normalise_secrets(secret, allow_short=allow_short_secret)  # refused before a store opens
        mode = check_mode(protect)  # refused even for a store it would not apply to
        self.cookie = CookieOptions(
            name=cookie_name,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
            priority=priority,
        )
        self.max_age = self.check_max_age(max_age)
        self.ttl = self.check_max_age(ttl) or self.max_age or DEFAULT_MAX_AGE
        self.rolling = rolling
        self.touch_after = self.check_max_age(touch_after)
        if touch_after is not None and not rolling:
            raise ConfigurationError("touch_after applies to rolling sessions: set rolling=True")
        self.absolute_timeout = self.check_max_age(absolute_timeout)
        self.save_uninitialized = save_uninitialized
        self.resave = resave
        if type(max_size) is not int or max_size < 1:
            raise ConfigurationError("max_size must be a positive number of bytes")
        self.max_size = max_size
        self.serializer = get_serializer(serializer)
        self.empty = self.serializer.dumps({})
        if concurrency not in ("merge", "last_write_wins"):
            raise ConfigurationError("concurrency must be 'merge' or 'last_write_wins'")
        self.on_conflict = check_policy(on_conflict)
        self.clock = clock
        self._owns_store = isinstance(store, str)
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.store_name = mask_url(store) if isinstance(store, str) else repr(self.store)
        #: The protection the store's bytes get: ``protect``, but None for a store whose
        #: sessions stay in this process (``protect.effective_mode``).
        self.protect = effective_mode(mode, self.store)
        # Bytes are trusted when the protection verified them, or when only this process
        # could have written them.
        trusted = self.protect is not None or in_process(self.store)
        #: Reads the serialised data of a stored session (``serializers.stored_reader``).
        self.loads_stored = stored_reader(self.serializer, protected=trusted)
        #: Reads it for a request: value by value where it can (``serializers.session_reader``).
        self.loads_session = session_reader(self.serializer, protected=trusted)
        self.use_secret(secret)
        merging = concurrency == "merge" and isinstance(self.store, SupportsVersions)
        #: The store as :class:`~sessionkit.store.SupportsVersions` when saves merge through
        #: its versions; None when the last write wins.
        self.versions = cast(SupportsVersions, self.store) if merging else None
        if concurrency == "merge" and not merging:
            log.warning(
                "session store %s has no versioned writes: parallel requests on one session "
                "may overwrite each other's changes (the last write wins)",
                self.store_name,
            )
        if breaker is True:  # the default: none where the store cannot be down
            self.breaker = None if in_process(self.store) else CircuitBreaker()
        else:
            self.breaker = breaker or None
        if self.breaker is not None:
            self.breaker.name = self.store_name
        self.purger: Purger | None = None
        if purge_interval is not None:
            if not isinstance(purge_interval, (int, float)) or not purge_interval > 0:
                raise ConfigurationError("purge_interval must be a positive number of seconds")
            if isinstance(self.store, SupportsPurge):
                self.purger = Purger(self.store, float(purge_interval), self.store_name)
        self._purge_pending = self.purger is not None
        self.inline_store = InlineAsyncStore(self.store)  # drives the logic synchronously
        self._get_entry: Callable[[str], Entry | None] = (
            self._get_plain if self.versions is None else self.versions.get_versioned
        )
        self._async_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncStore] = (
            weakref.WeakKeyDictionary()
        )
        # The loop and store the last lookup found (a weak dictionary's lookup costs 2,500
        # instructions, and a request makes two).
        self._last_async: tuple[weakref.ref[asyncio.AbstractEventLoop], AsyncStore] | None = None
        self._never_blocks: bool | None = None  # see never_blocks()

    def use_secret(self, secret: Secrets | None) -> None:
        """Sign cookies and protect the store with ``secret`` from now on: a rotation while
        the application runs (the new secret first, the old ones after it until what they
        signed has expired)."""
        allow_short = self.allow_short_secret
        self.signer = CookieSigner(secret, allow_short=allow_short)
        self.codec = SessionCodec(
            protection(self.protect, normalise_secrets(secret, allow_short=allow_short))
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
        last = self._last_async
        if last is not None and last[0]() is loop:  # the usual case: one loop per process
            return last[1]
        astore = self._async_stores.get(loop)
        if astore is None:
            astore = self._async_stores[loop] = as_async(self.store)
        self._last_async = (weakref.ref(loop), astore)
        return astore

    @cached_property
    def user_index(self) -> bool:
        """Whether the store keeps a per-user index ("log out everywhere"); asked once, since
        an isinstance check against a Protocol costs some 25,000 instructions."""
        return isinstance(self.store, SupportsUserIndex)

    def close(self) -> None:
        """Stop the background purge, then close the store if this manager opened it."""
        if self.purger is not None:
            self.purger.stop()
        if self._owns_store:
            self.store.close()

    def _start_purging(self) -> None:
        """Start the background purge in this process (at the first commit, which comes
        after a server forked its workers: threads do not survive a fork)."""
        self._purge_pending = False
        if self.purger is not None:
            self.purger.start()

    async def aclose(self) -> None:
        """Close the running loop's async twin of the store, then the store as :meth:`close`."""
        astore = self._async_stores.pop(asyncio.get_running_loop(), None)
        self._last_async = None
        if astore is not None:
            await astore.close()
        self.close()

    def new_id(self) -> str:
        return new_session_id()

    # -- a request's life: open, then commit

    @overload
    def open(self, cookie_header: str | None, *, token: str | None = None) -> Session: ...
    @overload
    def open(
        self, cookie_header: str | None, session_class: type[S], *, token: str | None = None
    ) -> S: ...

    def open(
        self,
        cookie_header: str | None,
        session_class: type[Session] = Session,
        *,
        token: str | None = None,
    ) -> Session:
        """The session for a request with this Cookie header. No store I/O happens here.

        ``session_class`` lets a framework adapter hand out a subclass of :class:`Session`.
        ``token``: the signed id the client sent in a header instead of a cookie (APIs,
        mobile apps); the Cookie header is then ignored and :meth:`commit_token` answers.
        """
        return self._session_for(cookie_header, session_class, token)

    @overload
    async def aopen(
        self, cookie_header: str | None, *, token: str | None = None, load: bool | None = None
    ) -> Session: ...
    @overload
    async def aopen(
        self,
        cookie_header: str | None,
        session_class: type[S],
        *,
        token: str | None = None,
        load: bool | None = None,
    ) -> S: ...

    async def aopen(
        self,
        cookie_header: str | None,
        session_class: type[Session] = Session,
        *,
        token: str | None = None,
        load: bool | None = None,
    ) -> Session:
        """:meth:`open` for async code. Dict access cannot await, so by default a session
        with a valid cookie is loaded now, unless the store never blocks (memory: then it
        loads when first used, on the loop). ``load=False`` loads nothing now: the app awaits
        :meth:`Session.aload` where it uses the session (an access before that loads it with
        the synchronous store, blocking the loop for that call). If the store is unavailable,
        the error is raised when the session is first used, so a request that never uses its
        session still succeeds."""
        session = self._session_for(cookie_header, session_class, token)
        if load is None:
            load = not self.never_blocks()
        if load and session._state.stored:
            await self.aload_session(session, defer_failure=True)
        return session

    def commit(
        self, session: Session, *, https: bool = False, cookie: CookieOptions | None = None
    ) -> str | None:
        """Save what needs saving; return the Set-Cookie header value, or None for none.

        ``https``: the request came over https (for ``secure="auto"``). ``cookie``: the
        cookie's attributes, where a framework's settings give them (default: the manager's).
        """
        if self._purge_pending:
            self._start_purging()
        outcome = lifecycle.commit_inline(self, session._state)
        return self._set_cookie(session._state, outcome, https, cookie or self.cookie)

    async def acommit(
        self, session: Session, *, https: bool = False, cookie: CookieOptions | None = None
    ) -> str | None:
        """:meth:`commit` for async code."""
        if self.runs_inline():
            return self.commit(session, https=https, cookie=cookie)
        if self._purge_pending:
            self._start_purging()
        outcome = await self._arun(lifecycle.commit(self, session._state, self.async_store))
        return self._set_cookie(session._state, outcome, https, cookie or self.cookie)

    def runs_inline(self) -> bool:
        """Whether async code may call :meth:`commit` on the running loop in place of
        :meth:`acommit` (and :meth:`open` in place of :meth:`aopen` when nothing is to be
        loaded), sparing their coroutines: the store never blocks (memory), and no store
        call would wait for the circuit breaker's probe."""
        never_blocks = self._never_blocks
        if never_blocks is None:
            never_blocks = self.never_blocks()
        return never_blocks and not (self.breaker and self.breaker.is_open)

    def never_blocks(self) -> bool:
        """Whether the store's async twin calls it on the loop (``InlineAsyncStore``): a
        store that never blocks. Told by the first loop's twin, and kept."""
        never_blocks = self._never_blocks
        if never_blocks is None:
            never_blocks = self._never_blocks = isinstance(self.async_store, InlineAsyncStore)
        return never_blocks

    def commit_token(self, session: Session) -> str | None:
        """:meth:`commit` for sessions carried by a token (see :meth:`open`'s ``token``):
        the token to hand the client, ``""`` if the session it holds is gone, or None if
        nothing changed."""
        if self._purge_pending:
            self._start_purging()
        outcome = self._run(lifecycle.commit(self, session._state, self.inline_store))
        return self._token(session._state, outcome)

    async def acommit_token(self, session: Session) -> str | None:
        """:meth:`commit_token` for async code."""
        if self._purge_pending:
            self._start_purging()
        outcome = await self._arun(lifecycle.commit(self, session._state, self.async_store))
        return self._token(session._state, outcome)

    # -- used by Session

    def load_session(self, session: Session) -> None:
        # lifecycle.load without a coroutine: the lookup is the call every request makes.
        state = session._state
        if state.failure is not None:
            raise state.failure
        entry = lifecycle.guarded(self, self._get_entry, state.id) if state.stored else None
        lifecycle.apply_entry(self, state, entry)

    async def aload_session(self, session: Session, *, defer_failure: bool = False) -> None:
        try:
            await self._arun(lifecycle.load(self, session._state, self.async_store))
        except StoreUnavailableError as error:
            if not defer_failure:
                raise
            session._state.failure = error  # raised at the session's first use

    def reload_session(self, session: Session) -> None:
        self._run(lifecycle.reload(self, session._state, self.inline_store))

    async def areload_session(self, session: Session) -> None:
        await self._arun(lifecycle.reload(self, session._state, self.async_store))

    def save_session(self, session: Session) -> None:
        self._run(lifecycle.save(self, session._state, self.inline_store))

    async def asave_session(self, session: Session) -> None:
        await self._arun(lifecycle.save(self, session._state, self.async_store))

    def info_of(self, state: SessionState) -> dict[str, Any]:
        return lifecycle.info_of(self, state)

    # -- a user's sessions

    def user_sessions(self, user_id: str) -> list[SessionInfo]:
        """The live sessions bound to ``user_id`` (see :attr:`Session.user_id`), most
        recently active first. Raises :class:`~sessionkit.errors.UnsupportedOperationError` if the
        store keeps no per-user index (memcached)."""
        return self._run(lifecycle.user_sessions(self, user_id, self.inline_store))

    async def auser_sessions(self, user_id: str) -> list[SessionInfo]:
        """:meth:`user_sessions` for async code."""
        return await self._arun(lifecycle.user_sessions(self, user_id, self.async_store))

    def destroy_user_sessions(self, user_id: str, *, keep: Session | str | None = None) -> int:
        """End every session bound to ``user_id`` but ``keep`` (a session or an id):
        "log out everywhere", or "log out other devices" with ``keep=session``. Returns how
        many were ended; requests still running on them cannot bring them back."""
        return self._run(lifecycle.destroy_user_sessions(self, user_id, keep, self.inline_store))

    async def adestroy_user_sessions(
        self, user_id: str, *, keep: Session | str | None = None
    ) -> int:
        """:meth:`destroy_user_sessions` for async code."""
        return await self._arun(
            lifecycle.destroy_user_sessions(self, user_id, keep, self.async_store)
        )

    def load_value(self, value: Any) -> Any:
        """Read a value of a session that was loaded lazily (see ``loads_session``).

        :raises SessionKitError: if it cannot be read (see ``serializers.read_value``).
        """
        return read_value(self.serializer, value)

    # -- running the logic

    def _get_plain(self, sid: str) -> Entry | None:
        raw = self.store.get(sid)
        return None if raw is None else Entry(raw, None)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one operation on the synchronous store (its calls meet the breaker)."""
        return lifecycle.drive(coroutine)

    async def _arun(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one operation on the running loop's async store."""
        return await coroutine

    # -- the cookie

    def _session_for(
        self, cookie_header: str | None, session_class: type[S], token: str | None
    ) -> S:
        verify = self.signer.verify
        values = (token,) if token is not None else cookie_values(cookie_header, self.cookie.name)
        for value in values:
            verified = verify(value)
            if verified is not None:
                session = session_class(self, verified[0], from_cookie=True)
                if verified[1]:  # signed with the newest secret: reusable as it is
                    session._state.signed = (verified[0], value)
                return session
        return session_class(self, new_session_id(), from_cookie=False)

    def _set_cookie(
        self, state: SessionState, outcome: Outcome, https: bool, cookie: CookieOptions
    ) -> str | None:
        if outcome is Outcome.SEND:
            signed = state.signed
            if signed is not None and signed[0] == state.id:
                value = signed[1]  # the request's own cookie value, still good
            else:
                value = self.signer.sign(state.id)
            return cookie.render(value, state.max_age, https=https)
        if outcome is Outcome.CLEAR:
            return cookie.render("", 0, https=https)
        return None

    def _token(self, state: SessionState, outcome: Outcome) -> str | None:
        if outcome is Outcome.SEND:
            if state.signed is not None and state.signed[0] == state.id:
                return None  # the client holds this very token: a token does not expire
            return self.signer.sign(state.id)
        return "" if outcome is Outcome.CLEAR else None
