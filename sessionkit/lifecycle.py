"""A session's life in the store: load, save, commit, merge; written once, as coroutines.

Every function takes the manager (its settings), the session's :class:`SessionState` and an
:class:`~sessionkit.store.AsyncStore`. Async code passes the store's async twin; the manager's
synchronous methods pass the synchronous store behind an
:class:`~sessionkit.store.InlineAsyncStore`, whose coroutines never suspend, and run them to
their end at once. So the logic exists once, and every store call in it is typed. One
shortcut: :func:`commit_inline` runs the two commonest commits on the synchronous store
without coroutines, from the same decisions (:func:`_to_write`, :func:`_refresh_wanted`,
:func:`_outcome`), and hands every other case to :func:`commit`; a test holds the two to the
same store calls, TTLs, cookies and stored sessions.

Every store call goes through the manager's circuit breaker. Round trips: a lookup is one
read; a save of an existing session is one compare-and-set (a ``replace`` for stores without
versions), and more only when a parallel request changed the session in between; an
unchanged session costs nothing, an untouched one nothing either.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from .codec import NO_META, Meta
from .errors import (
    SessionConflictError,
    SessionKitError,
    SessionTooLargeError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from .ids import check_user_id
from .merge import merge
from .serializers import read_deferred
from .state import SessionData, SessionState
from .store import (
    AsyncStore,
    AsyncSupportsUserIndex,
    AsyncSupportsVersions,
    Entry,
    SupportsVersions,
    Swap,
    new_record,
)
from .users import EPOCH, SessionInfo, when

if TYPE_CHECKING:
    from typing_extensions import TypeVarTuple, Unpack

    from .breaker import CircuitBreaker
    from .manager import SessionManager
    from .session import Session

log = logging.getLogger("sessionkit")

P = ParamSpec("P")
T = TypeVar("T")
if TYPE_CHECKING:  # a store method's arguments (TypeVarTuple is Python 3.11's)
    Ts = TypeVarTuple("Ts")

ADD_ATTEMPTS = 3  # a new id per attempt: a collision of 256-bit ids never merges two users
# Each round of a race stores at least one writer, so n parallel saves need at most n tries:
# 128 covers a burst of one client's requests over HTTP/2, whose servers allow some 100
# streams at once. A save beaten that often raises SessionConflictError (a 409), lost to no one.
MERGE_ATTEMPTS = 128


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its store calls are synchronous) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a synchronous store call suspended")


def guarded(manager: SessionManager, method: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> T:
    """:func:`call` for a method of the synchronous store, without a coroutine."""
    breaker = manager.breaker
    if breaker is None:
        return method(*args)
    probe = breaker.before_call()
    if probe is not None:
        breaker.wait(probe)
    try:
        result = method(*args)
    except BaseException as error:
        _tell_breaker(breaker, error)
        raise
    breaker.succeeded()
    return result


async def call(
    manager: SessionManager,
    store: object,
    method: Callable[P, Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Call a method of ``store`` (or of a function given it) through the manager's circuit
    breaker."""
    breaker = manager.breaker
    if breaker is None:
        return await method(*args, **kwargs)
    probe = breaker.before_call()
    if probe is not None:
        if store is manager.inline_store:  # a synchronous call: the thread waits
            breaker.wait(probe)
        else:
            await breaker.await_probe(probe)
    try:
        result = await method(*args, **kwargs)
    except BaseException as error:
        _tell_breaker(breaker, error)
        raise
    breaker.succeeded()
    return result


def _tell_breaker(breaker: CircuitBreaker, error: BaseException) -> None:
    """What a store call that raised ``error`` tells the circuit breaker."""
    if isinstance(error, StoreUnavailableError):
        breaker.failed(error)
    elif isinstance(error, SessionKitError):
        breaker.succeeded()  # the store answered, with an error of another kind
    else:
        breaker.released()  # cancelled, or failed before reaching the store


# -- reading


def read(manager: SessionManager, store: AsyncStore, sid: str) -> Awaitable[Entry | None]:
    """The stored entry with its version (None: unknown, for stores without versions)."""
    if manager.versions is not None:
        return call(manager, store, cast(AsyncSupportsVersions, store).get_versioned, sid)
    return call(manager, store, _read_unversioned, store, sid)


async def _read_unversioned(store: AsyncStore, sid: str) -> Entry | None:
    raw = await store.get(sid)
    return None if raw is None else Entry(raw, None)


async def load(manager: SessionManager, state: SessionState, store: AsyncStore) -> None:
    if state.failure is not None:
        raise state.failure  # aopen could not load it; the request uses it after all
    entry = await read(manager, store, state.id) if state.stored else None
    apply_entry(manager, state, entry)


async def reload(manager: SessionManager, state: SessionState, store: AsyncStore) -> None:
    state.data = None
    await load(manager, state, store)


def apply_entry(manager: SessionManager, state: SessionState, entry: Entry | None) -> None:
    """Give the state what the store holds (None: nothing, or no longer)."""
    if entry is not None:
        try:
            meta, body = manager.codec.unpack(state.id, entry.data)
            data = manager.loads_session(body)
        except Exception as exc:  # noqa: BLE001 - stored data is untrusted
            # The base keeps the bad bytes, so the first change the app makes replaces them.
            log.warning("unusable session data (%s); starting an empty session", exc)
            meta, body, data = NO_META, entry.data, {}
        if not (manager.absolute_timeout and _expired(manager, meta)):
            state.loaded(data, body, meta, entry.version)
            return
        state.doom(state.id)  # past its absolute timeout: removed at commit
    if state.stored:
        state.vanished(manager.new_id())
    state.loaded({}, manager.empty, NO_META, None)


def _expired(manager: SessionManager, meta: Meta) -> bool:
    limit = manager.absolute_timeout
    return bool(limit and meta.created and manager.clock() >= meta.created + limit)


def info_of(manager: SessionManager, state: SessionState) -> dict[str, Any]:
    if state.info is None:
        info = manager.loads_stored(state.meta.info) if state.meta.info else {}
        state.info = info
    return state.info


# -- writing


def encode(manager: SessionManager, state: SessionState, payload: bytes) -> bytes:
    """The bytes to store for ``payload``, metadata stamped; raises if over ``max_size``."""
    meta = state.meta
    now = int(manager.clock())
    info = meta.info
    if state.info is not None:
        info = manager.serializer.dumps(state.info) if state.info else b""
    meta = state.meta = new_record(Meta, (meta.created or now, now, meta.user_id, info))
    stored = manager.codec.pack(state.id, meta, payload)
    if len(stored) > manager.max_size:
        raise SessionTooLargeError(len(stored), manager.max_size)
    return stored


def ttl_of(manager: SessionManager, state: SessionState) -> int:
    """The store TTL: the session's lifetime, but never past its absolute timeout."""
    ttl = state.max_age or manager.ttl
    limit = manager.absolute_timeout
    if limit and state.meta.created:
        ttl = max(1, min(ttl, state.meta.created + limit - int(manager.clock())))
    return ttl


def resend_on_refresh(manager: SessionManager, state: SessionState) -> bool:
    return manager.rolling or state.max_age is not None or state.max_age_changed


async def write(
    manager: SessionManager, state: SessionState, store: AsyncStore, payload: bytes
) -> bool:
    """Store the session; return whether the cookie must be (re)sent."""
    bind = _binds(state)
    if state.stored:
        send = await _update(manager, state, store, payload)
    else:
        await _create(manager, state, store, payload)
        send = True
    user_id = state.meta.user_id
    if bind and user_id is not None and state.stored and manager.user_index:
        index = cast(AsyncSupportsUserIndex, store)
        await call(manager, index, index.bind_user, user_id, state.id, ttl_of(manager, state))
    return send


async def _create(
    manager: SessionManager, state: SessionState, store: AsyncStore, payload: bytes
) -> None:
    for _ in range(ADD_ATTEMPTS):
        stored = encode(manager, state, payload)  # protection binds the bytes to the id
        if await call(manager, store, store.add, state.id, stored, ttl_of(manager, state)):
            state.written(payload, None)
            return
        state.id = manager.new_id()
    raise SessionKitError(f"could not create a session in {ADD_ATTEMPTS} attempts")


async def _update(
    manager: SessionManager,
    state: SessionState,
    store: AsyncStore,
    payload: bytes,
    first: Swap | None = None,
) -> bool:
    """Write over the stored session; ``first``: what a compare-and-set already made for
    this payload answered (see :func:`_update_inline`)."""
    ttl = ttl_of(manager, state)
    if manager.versions is None:
        if await call(
            manager, store, store.replace, state.id, encode(manager, state, payload), ttl
        ):
            state.written(payload, None)
            return resend_on_refresh(manager, state)
        return _found_gone(state)
    versioned = cast(AsyncSupportsVersions, store)
    for _ in range(MERGE_ATTEMPTS):
        if first is not None:
            swap, first = first, None
        elif state.version is None:  # written earlier in this request by a store that cannot tell
            current = await read(manager, store, state.id)
            swap = Swap(False, current)
        else:
            stored = encode(manager, state, payload)
            swap = await call(
                manager, store, versioned.replace_versioned, state.id, stored, ttl, state.version
            )
        if swap.stored:
            assert swap.entry is not None
            state.written(payload, swap.entry.version)
            return resend_on_refresh(manager, state)
        if swap.entry is None:
            return _found_gone(state)
        merged = merge_onto(manager, state, swap.entry)
        if merged is None:  # ours adds nothing to what is stored now
            return resend_on_refresh(manager, state)
        payload = merged
    raise SessionConflictError((), f"the session kept changing for {MERGE_ATTEMPTS} attempts")


def _found_gone(state: SessionState) -> bool:
    log.info("session was destroyed by a concurrent request; not saving it")
    state.found_gone()
    return False


def read_all(manager: SessionManager, data: SessionData) -> SessionData:
    """``data`` with every value of a lazily loaded session read, in place (for a merge)."""
    read_deferred(data, manager.load_value)
    return data


def merge_onto(manager: SessionManager, state: SessionState, entry: Entry) -> bytes | None:
    """Re-apply this request's changes onto ``entry``, another request's save; return the
    payload to store, or None if the stored entry already holds everything."""
    serializer = manager.serializer
    try:
        meta, body = manager.codec.unpack(state.id, entry.data)
        theirs = manager.loads_stored(body)
    except Exception as exc:  # noqa: BLE001 - stored data is untrusted: ours replaces it
        log.warning("unusable session data (%s) found at a save; replacing it", exc)
        meta, body, theirs = NO_META, entry.data, {}
    base = manager.loads_stored(state.base) if state.base else {}
    ours = read_all(manager, cast(SessionData, state.data))
    merged = merge(base, ours, theirs, manager.on_conflict)
    ours.clear()
    ours.update(merged)  # in place: values the app holds stay those of its session
    ours_meta = state.meta
    user_id = meta.user_id if ours_meta.user_id == state.base_user else ours_meta.user_id
    info = meta.info if state.info is None else serializer.dumps(state.info)
    meta_same = user_id == meta.user_id and info == meta.info
    state.meta = Meta(meta.created or ours_meta.created, ours_meta.active, user_id, info)
    state.base, state.version, state.base_user = body, entry.version, meta.user_id
    payload = serializer.dumps(ours)
    return None if payload == body and meta_same else payload


# -- the request's end


async def delete_doomed(manager: SessionManager, state: SessionState, store: AsyncStore) -> None:
    """Delete the ids this request left behind (regenerate, destroy), after the session's
    new id, if any, was written: a store that fails in between loses no session.

    When ``regenerate(keep=True)`` carried data from an id that turns out to be gone already
    (a logout raced this login), the new session keeps only what was set after regenerate.
    Once the new session is stored, a failure to delete an old id is logged, not raised: the
    client moves to the new id, and the old one (which never held what came after
    regenerate) expires.
    """
    while state.doomed:
        sid, state.doomed = state.doomed[-1], state.doomed[:-1]
        try:
            removed = await call(manager, store, store.delete, sid)
        except StoreUnavailableError as error:
            if not (state.stored and state.id != sid):
                raise
            log.warning("an old session id could not be deleted (%s); it will expire", error)
            removed = None
        if sid == state.carried_from:
            carried, state.carried_from, state.carried = state.carried, None, None
            if removed is False and state.data is not None:
                await _drop_carried(manager, state, store, carried)


async def _drop_carried(
    manager: SessionManager, state: SessionState, store: AsyncStore, carried: bytes | None
) -> None:
    """A login raced a logout: keep only what this request set after ``regenerate``."""
    before = manager.loads_stored(carried) if carried else {}
    state.data = merge(before, read_all(manager, cast(SessionData, state.data)), {}, "ours")
    state.exposed = True
    if not state.stored:
        return
    # The new id is this request's alone (its cookie has not been sent): a plain replace.
    payload = manager.serializer.dumps(state.data)
    stored = encode(manager, state, payload)
    if await call(manager, store, store.replace, state.id, stored, ttl_of(manager, state)):
        state.written(payload, None)


async def save(manager: SessionManager, state: SessionState, store: AsyncStore) -> None:
    if state.destroyed:
        await delete_doomed(manager, state, store)
        return
    if state.data is None:
        await load(manager, state, store)
    payload = manager.serializer.dumps(cast(SessionData, state.data))
    send = await write(manager, state, store, payload)
    if state.doomed:
        await delete_doomed(manager, state, store)
    state.saved = True
    state.cookie_due = state.cookie_due or send


def _info_changed(manager: SessionManager, state: SessionState) -> bool:
    """Whether the application's record (``Session.info``, read this request) changed."""
    info = state.info
    return info is not None and (manager.serializer.dumps(info) if info else b"") != state.meta.info


def _refresh_due(manager: SessionManager, state: SessionState) -> bool:
    """With ``touch_after``: whether this request must refresh (rewrite) the session."""
    return bool(
        manager.touch_after
        and state.stored
        and int(manager.clock()) - state.meta.active >= manager.touch_after
    )


class Outcome(enum.Enum):
    """What the response must tell the client about its session after a commit."""

    NOTHING = "nothing"
    SEND = "send"  # the (new or refreshed) session id
    CLEAR = "clear"  # that the session it holds is gone


async def commit(manager: SessionManager, state: SessionState, store: AsyncStore) -> Outcome:
    if state.failure is not None:  # the store was down when the session was opened
        if state.destroyed or state.touch or state.max_age_changed:
            raise state.failure  # asked for store I/O: it would only wait for the same error
        return Outcome.NOTHING  # never used: the request succeeds without the store
    send = state.cookie_due
    if state.destroyed:
        if state.doomed:
            await delete_doomed(manager, state, store)
        return Outcome.CLEAR if state.from_cookie else Outcome.NOTHING
    if state.data is None:
        if state.stored:
            if not manager.touch_after:
                send = await refresh(manager, state, store) or send
        elif manager.save_uninitialized:
            await load(manager, state, store)
    if state.data is not None:
        payload = _to_write(manager, state)
        if payload is not None:
            send = await write(manager, state, store, payload) or send
        elif _refresh_wanted(manager, state):
            send = await refresh(manager, state, store) or send
    if state.doomed:
        await delete_doomed(manager, state, store)
    return _outcome(state, send)


def commit_inline(manager: SessionManager, state: SessionState) -> Outcome:
    """:func:`commit` on the synchronous store (or one that never blocks). A commit with
    nothing to write and one that writes over a stored session with a compare-and-set run
    here without coroutines, which cost them 10,000-15,000 instructions; the others are
    :func:`commit` itself."""
    if state.data is None or not state.stored or state.failure is not None or state.doomed:
        return drive(commit(manager, state, manager.inline_store))
    send = state.cookie_due
    payload = _to_write(manager, state)
    if payload is None:
        if _refresh_wanted(manager, state):
            send = drive(refresh(manager, state, manager.inline_store)) or send
    elif manager.versions is not None and state.version is not None and not _binds(state):
        send = _update_inline(manager, state, manager.versions, payload) or send
    else:
        send = drive(write(manager, state, manager.inline_store, payload)) or send
    return _outcome(state, send)


def _update_inline(
    manager: SessionManager, state: SessionState, versions: SupportsVersions, payload: bytes
) -> bool:
    """:func:`_update`'s compare-and-set on the synchronous store (``versions``);
    :func:`_update` goes on from what it answered if another request's save came in
    between."""
    ttl = ttl_of(manager, state)  # before encode stamps a creation time, as in _update
    stored = encode(manager, state, payload)
    swap = guarded(manager, versions.replace_versioned, state.id, stored, ttl, state.version)
    if swap.stored:
        assert swap.entry is not None
        state.written(payload, swap.entry.version)
        return resend_on_refresh(manager, state)
    return drive(_update(manager, state, manager.inline_store, payload, first=swap))


def _to_write(manager: SessionManager, state: SessionState) -> bytes | None:
    """The payload to write for a session whose data the request has, or None if nothing
    asks for a write (its data unchanged, no resave, rolling refresh or metadata change)."""
    if state.stored:
        write_anyway = manager.resave and not state.saved
    else:
        write_anyway = manager.save_uninitialized
    rewrite = (
        write_anyway
        or state.meta.user_id != state.base_user  # bound to another user
        or (state.info is not None and _info_changed(manager, state))
    )
    if manager.rolling and not (state.touch or state.max_age_changed):
        rewrite = rewrite or _refresh_due(manager, state)
    data = state.data
    if data is None or not (rewrite or state.exposed):
        return None  # only immutable values were read: the data cannot have changed
    payload = manager.serializer.dumps(data)
    return payload if rewrite or payload != state.base else None


def _refresh_wanted(manager: SessionManager, state: SessionState) -> bool:
    """Whether a session whose data the request has, and which is not written, is touched
    (see :func:`refresh`)."""
    if not state.stored or state.saved:
        return False
    if state.touch or state.max_age_changed:
        return True
    return manager.rolling and not manager.touch_after


def _binds(state: SessionState) -> bool:
    """Whether a write must bind the session to its user in the per-user index."""
    user_id = state.meta.user_id
    return user_id is not None and (not state.stored or user_id != state.base_user)


def _outcome(state: SessionState, send: bool) -> Outcome:
    if state.destroyed or (state.from_cookie and not state.stored):
        return Outcome.CLEAR  # the session the client holds is gone
    return Outcome.SEND if send else Outcome.NOTHING


async def refresh(manager: SessionManager, state: SessionState, store: AsyncStore) -> bool:
    """Touch an unchanged stored session if rolling, touch() or a new max-age asks for it."""
    if not (manager.rolling or state.touch or state.max_age_changed):
        return False
    if await call(manager, store, store.touch, state.id, ttl_of(manager, state)):
        return resend_on_refresh(manager, state)
    state.found_gone()
    return False


# -- a user's sessions


def _index(manager: SessionManager, store: AsyncStore) -> AsyncSupportsUserIndex:
    if not manager.user_index:
        raise UnsupportedOperationError(
            f"session store {manager.store_name} keeps no per-user index, so it cannot list "
            "or end a user's sessions"
        )
    return cast(AsyncSupportsUserIndex, store)


async def user_sessions(
    manager: SessionManager, user_id: str, store: AsyncStore
) -> list[SessionInfo]:
    index = _index(manager, store)
    found = await call(manager, index, index.user_sessions, check_user_id(user_id))
    listed = []
    for sid, raw in found.items():
        try:
            meta, _ = manager.codec.unpack(sid, raw)
            info = manager.loads_stored(meta.info) if meta.info else {}
        except Exception:  # noqa: BLE001, S112 - stored data is untrusted; skip what is bad
            continue
        if meta.user_id != user_id or _expired(manager, meta):
            continue  # bound to another user since, or past its absolute timeout
        listed.append(SessionInfo(sid, when(meta.created), when(meta.active), info))
    listed.sort(key=lambda item: item.last_active or EPOCH, reverse=True)
    return listed


async def destroy_user_sessions(
    manager: SessionManager, user_id: str, keep: Session | str | None, store: AsyncStore
) -> int:
    index = _index(manager, store)
    kept = keep if isinstance(keep, str) or keep is None else keep._state.id
    return await call(manager, index, index.delete_user_sessions, check_user_id(user_id), kept)
