"""A Django session engine on any sessionkit store.

In ``settings.py``::

    SESSION_ENGINE = "sessionkit.adapters.django"
    SESSIONKIT_STORE = "redis://127.0.0.1:6379/0?prefix=myapp:"   # required
    SESSIONKIT_STORE_OPTIONS = {}      # optional keyword options for the store's factory
    SESSIONKIT_PROTECT = "sign"        # "sign" (default), "encrypt" or None
    SESSIONKIT_SERIALIZER = "json"     # a sessionkit serializer name
    MIDDLEWARE = [..., "sessionkit.adapters.django.SessionMiddleware", ...]  # optional: 503s

Django keeps doing what it does with its own engines: the cookie (``SESSION_COOKIE_*``) and
expiry (``SESSION_COOKIE_AGE``, ``set_expiry``). What is stored is sessionkit's own: the data
serialised by a sessionkit serializer, with a small header (created and last-active times, the
user id Django's auth put in the session), sealed as ``SESSIONKIT_PROTECT`` says with keys
derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` (so rotating Django's key rotates
them; a store in this process's memory, ``memory://``, is not sealed, as with a manager),
under the session key, with a TTL of ``get_expiry_age()``: the store enforces expiry.
Django's ``SESSION_SERIALIZER`` and ``SessionBase.encode`` are not used for that (they cost
several times more); ``encode``/``decode`` still work as Django documents them.

Keys are sessionkit ids (43 random URL-safe characters); any key of 8 to 128 URL-safe
characters is accepted from a cookie, as Django's own engines accept keys of 8 characters
and up. Saves are create-only or update-only, so a request that read the session before a
concurrent logout cannot bring it back (Django then raises ``SessionInterrupted``). Saves of
existing sessions are compare-and-set on stores with versions: a parallel request's changes
are merged, not overwritten (see :mod:`sessionkit.merge`). ``cycle_key()`` (Django's login)
writes the new key before deleting the old one, and keeps the old data only if the old
session still existed, so a login racing a logout never brings the logged-out data back.

A user's sessions: :func:`user_sessions` lists them and :func:`destroy_user_sessions` ends
them ("log out everywhere", or "other devices" with ``keep=request.session.session_key``,
e.g. after a password change) on stores with a per-user index.

``sessionkit.adapters.django.SessionMiddleware`` (in place of Django's) answers 503 with
``Retry-After`` when the store is unavailable and 409 when ``on_conflict="raise"`` refused a
merge, instead of a 500. ``clear_expired()`` (``manage.py clearsessions``) purges stores that
need it (file, SQL).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.contrib.sessions.backends.base import (  # type: ignore[import-untyped]
    CreateError,
    SessionBase,
    UpdateError,
)
from django.contrib.sessions.exceptions import SessionInterrupted  # type: ignore[import-untyped]
from django.contrib.sessions.middleware import (  # type: ignore[import-untyped]
    SessionMiddleware as DjangoSessionMiddleware,
)
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.utils.cache import patch_vary_headers  # type: ignore[import-untyped]
from django.utils.http import http_date  # type: ignore[import-untyped]
from django.utils.module_loading import import_string  # type: ignore[import-untyped]

from ..codec import NO_META, Meta, SessionCodec
from ..errors import (
    SessionConflictError,
    SessionKitError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from ..ids import is_valid_session_id, new_session_id
from ..lifecycle import MERGE_ATTEMPTS
from ..merge import merge
from ..protect import Protection, check_mode, protection
from ..registry import open_store
from ..serializers import (
    LAZY_FROM,
    Serializer,
    get_serializer,
    read_value,
    reads_lazily,
    session_reader,
    stored_reader,
)
from ..signing import normalise_secrets
from ..store import (
    Store,
    SupportsPurge,
    SupportsUserIndex,
    SupportsVersions,
    Version,
    in_process,
    new_record,
)
from ..users import EPOCH, SessionInfo, when
from ._django_cookies import session_key, set_session_cookie
from ._django_data import DeferredValues
from ._django_settings import FromSettings, session_settings
from ._http import FailureLog, answer_for

log = logging.getLogger("sessionkit")
security_log = logging.getLogger("django.security.SuspiciousSession")

AUTH_USER_KEY = "_auth_user_id"  # where django.contrib.auth keeps the logged-in user's id


class Engine:
    """What the engine needs from the settings, made once per configuration: the store, and
    how sessions are sealed and read.

    As with a :class:`~sessionkit.SessionManager`, a store that keeps its sessions in this
    process's memory (``memory://``) gets them unsealed whatever ``SESSIONKIT_PROTECT`` says,
    and read as trusted (see :func:`sessionkit.protect.effective_mode`): :attr:`in_process`
    is how, for such a store (the configured one, or one a subclass's ``get_store`` gives).
    """

    def __init__(
        self, store: Store, serializer: Serializer, sealing: Protection | None, *, trusted: bool
    ) -> None:
        self.store = store
        self.capabilities = capabilities(store)
        self.serializer = serializer
        self.codec = SessionCodec(sealing)
        self.loads_stored = stored_reader(serializer, protected=trusted)
        self.loads_session = session_reader(serializer, protected=trusted)
        self.lazy = reads_lazily(serializer, protected=trusted)
        self.in_process: Engine = (
            self if sealing is None and trusted else Engine(store, serializer, None, trusted=True)
        )

    @classmethod
    def from_settings(cls) -> Engine:
        url = getattr(settings, "SESSIONKIT_STORE", None)
        if not url:
            raise ImproperlyConfigured(
                "set SESSIONKIT_STORE to a store URL to use the sessionkit session engine"
            )
        mode = check_mode(getattr(settings, "SESSIONKIT_PROTECT", "sign"))
        serializer = get_serializer(getattr(settings, "SESSIONKIT_SERIALIZER", "json"))
        store = open_store(url, **getattr(settings, "SESSIONKIT_STORE_OPTIONS", {}))
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
        sealing = protection(mode, normalise_secrets(secrets, allow_short=True))
        return cls(store, serializer, sealing, trusted=mode is not None)

    def for_store(self, store: Store) -> Engine:
        """How sessions are sealed and read in ``store``."""
        return self.in_process if capabilities(store)[2] else self

    def load_value(self, value: Any) -> Any:
        """Read a value that a lazy load left as stored (see ``SessionManager.load_value``)."""
        return read_value(self.serializer, value)

    @staticmethod
    def key() -> tuple[Any, ...]:
        return (
            getattr(settings, "SESSIONKIT_STORE", None),
            repr(getattr(settings, "SESSIONKIT_STORE_OPTIONS", {})),
            getattr(settings, "SESSIONKIT_SERIALIZER", "json"),
            getattr(settings, "SESSIONKIT_PROTECT", "sign"),
            settings.SECRET_KEY,
            tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())),
        )


_engines: dict[tuple[Any, ...], Engine] = {}
ENGINE_SETTINGS = frozenset(
    {
        "SESSIONKIT_STORE",
        "SESSIONKIT_STORE_OPTIONS",
        "SESSIONKIT_SERIALIZER",
        "SESSIONKIT_PROTECT",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
    }
)


def _engine_for_settings() -> Engine:
    """The engine for the settings as they are: one per configuration, kept for when
    ``override_settings`` brings that configuration back."""
    key = Engine.key()
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = Engine.from_settings()
    return engine


#: The engine for the current settings, made once per configuration (a bound method: a call
#: less per request).
get_engine = FromSettings(_engine_for_settings, ENGINE_SETTINGS.__contains__).get


_capabilities: dict[type, tuple[bool, bool, bool]] = {}


def capabilities(store: Store) -> tuple[bool, bool, bool]:
    """``(versioned writes, per-user index, in this process)`` of a store, asked once per
    store class."""
    kind = type(store)
    found = _capabilities.get(kind)
    if found is None:
        found = _capabilities[kind] = (
            isinstance(store, SupportsVersions),
            isinstance(store, SupportsUserIndex),
            in_process(store),
        )
    return found


def get_store() -> Store:
    """The store that ``settings.SESSIONKIT_STORE`` names, opened once per configuration."""
    return get_engine().store


class SessionStore(SessionBase):  # type: ignore[misc]
    """Django's ``SessionBase`` on a sessionkit store."""

    _session_key: str | None  # a property of SessionBase that validates what it is given
    _clock: Callable[[], float] = time.time

    def __init__(self, session_key: str | None = None) -> None:
        # What SessionBase.__init__ does, but for importing SESSION_SERIALIZER on every
        # request (11,000 instructions): only encode() and decode() use it, see serializer.
        self._session_key = session_key
        self.accessed = False
        self.modified = False
        engine = get_engine()
        if getattr(type(self).get_store, "__func__", None) is _default_get_store:
            # get_store() and capabilities() as the engine has them, without their calls
            self.store = engine.store
            self._versioned, self._user_index, local = engine.capabilities
        else:  # a subclass's, or one patched in
            self.store = store = self.get_store()
            self._versioned, self._user_index, local = capabilities(store)
        self.engine = engine.in_process if local else engine  # for_store, without its call
        self._base: tuple[bytes, Version | None, Meta] | None = None  # as loaded or saved
        self._meta = NO_META  # what the last save stored beside the data

    @cached_property
    def serializer(self) -> Any:
        """Django's ``SESSION_SERIALIZER``, which ``encode()`` and ``decode()`` use."""
        return import_string(settings.SESSION_SERIALIZER)

    @classmethod
    def get_store(cls) -> Store:
        """The store sessions live in; a subclass may override it."""
        return get_engine().store

    def _get_new_session_key(self) -> str:
        # 256 random bits: a collision is left to save(must_create=True), which never merges.
        return new_session_id()

    def _validate_session_key(self, key: Any) -> bool:
        return is_valid_session_id(key)

    def get_expiry_age(self, **kwargs: Any) -> int:
        # SessionBase's reads the clock (and raises two KeyErrors) first, for a figure that
        # needs the time only when set_expiry() gave a date: 11,000 instructions less on the
        # middleware's call and on save()'s.
        if not kwargs and not self.get("_session_expiry"):
            age: int = self.get_session_cookie_age()
            return age
        return super().get_expiry_age(**kwargs)  # type: ignore[no-any-return]

    def get_session_cookie_age(self) -> int:
        return session_settings().cookie_age

    def get_expire_at_browser_close(self) -> bool:
        expiry = self.get("_session_expiry")
        if expiry is None:
            return session_settings().expire_at_browser_close
        return expiry == 0  # type: ignore[no-any-return]

    def _ttl(self) -> int | None:
        """The store TTL, or None if the session has already expired."""
        age = self.get_expiry_age()
        return age if age >= 1 else None

    # -- reading

    def _get_session(self, no_load: bool = False) -> dict[str, Any]:
        # SessionBase's, but for the AttributeError that it raises and catches on its first
        # call of a request (4,000 instructions): getattr with a default creates none.
        self.accessed = True
        data: dict[str, Any] | None = getattr(self, "_session_cache", None)
        if data is None:
            data = self._session_cache = {} if no_load or self.session_key is None else self.load()
        return data

    _session = property(_get_session)

    def load(self) -> dict[str, Any]:
        key = self.session_key
        if key is None:
            return {}
        entry = self._read(key)
        if entry is None:
            self._session_key = None
            return {}
        engine = self.engine
        try:
            meta, body = engine.codec.unpack(key, entry[0])
            data: dict[str, Any] = engine.loads_session(body)
        except Exception as exc:  # noqa: BLE001 - stored data is untrusted
            security_log.warning("unusable session data (%s); starting an empty session", exc)
            self._session_key = None
            return {}
        self._base = (body, entry[1], meta)
        if engine.lazy and len(body) >= LAZY_FROM:  # read value by value: see loads_lazy
            return DeferredValues(data, engine.load_value)
        return data

    def _read(self, key: str) -> tuple[bytes, Version | None] | None:
        if self._versioned:
            return self.store.get_versioned(key)  # type: ignore[attr-defined,no-any-return]
        raw = self.store.get(key)
        return None if raw is None else (raw, None)

    def exists(self, session_key: str) -> bool:
        return is_valid_session_id(session_key) and self.store.get(session_key) is not None

    # -- writing

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
            return
        key = self.session_key
        data = self._get_session(no_load=must_create)
        ttl = self._ttl()
        if ttl is None:  # expired already: what would be saved is gone at once
            self.store.delete(key)
            return
        if must_create:
            self._create(key, data, ttl)
        elif self._versioned and self._base is not None:
            self._update_versioned(key, data, ttl)
        else:
            payload = self.engine.serializer.dumps(data)
            if not self.store.replace(key, self._pack(key, data, payload), ttl):
                raise UpdateError
            self._written(key, payload, None)

    def _pack(self, key: str, data: dict[str, Any], payload: bytes) -> bytes:
        now = int(self._clock())
        created = self._base[2].created if self._base is not None else 0
        user = data.get(AUTH_USER_KEY)
        user_id = None if user is None else str(user)
        self._meta = new_record(Meta, (created or now, now, user_id, b""))
        return self.engine.codec.pack(key, self._meta, payload)

    def _create(self, key: str, data: dict[str, Any], ttl: int) -> None:
        self._base = None
        payload = self.engine.serializer.dumps(data)
        if not self.store.add(key, self._pack(key, data, payload), ttl):
            raise CreateError
        self._written(key, payload, None)

    def _update_versioned(self, key: str, data: dict[str, Any], ttl: int) -> None:
        """A compare-and-set save that merges what a parallel request stored meanwhile."""
        assert self._base is not None
        body, version, _ = self._base
        serializer = self.engine.serializer
        for _ in range(MERGE_ATTEMPTS):
            payload = serializer.dumps(data)
            if version is None:  # written earlier by a store that cannot tell the version
                current = self._read(key)
                stored, entry = False, current
            else:
                swap = self.store.replace_versioned(  # type: ignore[attr-defined]
                    key, self._pack(key, data, payload), ttl, version
                )
                stored, entry = swap.stored, swap.entry
            if stored:
                self._written(key, payload, entry[1] if entry else None)
                return
            if entry is None:
                raise UpdateError
            try:
                theirs_meta, theirs_body = self.engine.codec.unpack(key, entry[0])
                theirs = self.engine.loads_stored(theirs_body)
            except Exception:  # noqa: BLE001 - unusable stored data: ours replaces it
                theirs_meta, theirs_body, theirs = NO_META, entry[0], {}
            if isinstance(data, DeferredValues):
                data.read_all()
            merged = merge(self.engine.loads_stored(body), data, theirs, "ours")
            data.clear()
            data.update(merged)
            body, version = theirs_body, entry[1]
            self._base = (body, version, theirs_meta)
        raise SessionConflictError((), f"the session kept changing for {MERGE_ATTEMPTS} attempts")

    def _written(self, key: str, payload: bytes, version: Version | None) -> None:
        previous = self._base[2].user_id if self._base is not None else None
        self._base = (payload, version, self._meta)
        user = self._meta.user_id
        if user is not None and user != previous and self._user_index:
            self.store.bind_user(user, key, self._ttl() or 1)  # type: ignore[attr-defined]

    def delete(self, session_key: str | None = None) -> None:
        key = self.session_key if session_key is None else session_key
        if key is not None and is_valid_session_id(key):
            self.store.delete(key)

    def cycle_key(self) -> None:
        """A new key with the same data (Django's login): the new key is written first, and
        the data is kept only if the old session still existed when it was deleted."""
        data = self._session
        key = self.session_key
        self.create()
        self._session_cache = data
        if key and is_valid_session_id(key) and self.store.delete(key) is False:
            self._session_cache = {}  # a logout raced this login: its data stays gone
            self.modified = True
            self.save()

    @classmethod
    def clear_expired(cls) -> None:
        store = cls.get_store()
        if isinstance(store, SupportsPurge):
            store.purge_expired()


# SessionStore's own get_store, which SessionStore() answers without calling it.
_default_get_store = SessionStore.__dict__["get_store"].__func__


# -- a user's sessions


def user_sessions(user_id: object) -> list[SessionInfo]:
    """The live sessions of a Django user (``request.user.pk``), most recently active first."""
    engine = get_engine()
    engine = engine.for_store(engine.store)
    index = _index(engine.store)
    listed = []
    for sid, raw in index.user_sessions(str(user_id)).items():
        try:
            meta, _ = engine.codec.unpack(sid, raw)
        except ValueError:
            continue
        if meta.user_id == str(user_id):
            listed.append(SessionInfo(sid, when(meta.created), when(meta.active), {}))
    listed.sort(key=lambda item: item.last_active or EPOCH, reverse=True)
    return listed


def destroy_user_sessions(user_id: object, keep: str | None = None) -> int:
    """End every session of a Django user but ``keep`` (a session key); return how many."""
    return _index(get_engine().store).delete_user_sessions(str(user_id), keep)


def _index(store: Store) -> SupportsUserIndex:
    if not capabilities(store)[1]:
        raise UnsupportedOperationError(
            "the session store keeps no per-user index, so it cannot list or end a user's sessions"
        )
    return store  # type: ignore[return-value]


class SessionMiddleware(DjangoSessionMiddleware):  # type: ignore[misc]
    """Django's session middleware, answering 503 (with Retry-After) when the store is
    unavailable and 409 for a refused merge, in place of a 500.

    Its steps do what Django's (5.2) do, at a fraction of the cost: the session cookie is
    found without parsing every cookie, and set without rendering it afresh (see
    ``sessionkit.adapters._django_cookies``); the ``SESSION_*`` settings are read once
    per configuration; the ``Vary: Cookie`` header is set directly on a response that has no
    ``Vary`` yet (Django's ``patch_vary_headers`` parses and rebuilds it, 17,000
    instructions), and the cookie's ``expires`` date is formatted once a second, not on every
    save (``http_date``, 27,000).
    """

    failures = FailureLog()

    def __call__(self, request: HttpRequest) -> Any:
        # MiddlewareMixin's, without asking whether the middleware has each step. async_mode
        # and __acall__ are the mixin's own (Django 3.1 and up), so the async path stays
        # Django's; tests/adapters/test_django_cookies.py runs it through AsyncClient.
        if self.async_mode:
            return self.__acall__(request)
        response = self.process_request(request) or self.get_response(request)
        return self.process_response(request, response)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        request.session = self.SessionStore(session_key(request, session_settings().cookie_name))
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return self._finish(request, response)
        except (StoreUnavailableError, SessionConflictError) as error:
            return self._answer(request, error)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if isinstance(exception, (StoreUnavailableError, SessionConflictError)):
            return self._answer(request, exception)
        return None

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Save a changed session and set its cookie, or delete the cookie of a session
        emptied; vary on ``Cookie`` whenever the session was used or the cookie is set."""
        try:
            session = request.session
            accessed, modified, empty = session.accessed, session.modified, session.is_empty()
        except AttributeError:  # a middleware before this one answered: no session
            return response
        vary = accessed
        options = session_settings()
        if empty:
            if session_key(request, options.cookie_name) is not None:
                response.delete_cookie(
                    options.cookie_name,
                    path=options.cookie["path"],
                    domain=options.cookie["domain"],
                    samesite=options.cookie["samesite"],
                )
                vary = True
        elif (modified or options.save_every_request) and response.status_code < 500:
            if session.get_expire_at_browser_close():
                max_age, expires = None, None
            else:
                max_age = session.get_expiry_age()
                expires = _http_date(int(time.time() + max_age))
            try:
                session.save()
            except UpdateError as error:
                # Django's own words, which code and Django's tests match on.
                raise SessionInterrupted(
                    "The request's session was deleted before the request completed. "
                    "The user may have logged out in a concurrent request, for example."
                ) from error
            set_session_cookie(
                response,
                options.cookie_name,
                session.session_key,
                max_age=max_age,
                expires=expires,
                **options.cookie,
            )
            vary = True
        if vary:
            if response.has_header("Vary"):
                patch_vary_headers(response, ("Cookie",))
            else:
                response.headers["Vary"] = "Cookie"
        return response

    def _answer(self, request: HttpRequest, error: SessionKitError) -> HttpResponse:
        answer = answer_for(error)
        assert answer is not None
        self.failures.failed(answer, error, request.method or "?", request.path)
        response = HttpResponse(answer.body, status=answer.status, content_type="text/plain")
        for name, value in answer.headers:
            response[name] = value
        return response


# The cookie's expiry date, as Django's http_date gives it, for a whole second since the epoch.
_http_date = functools.lru_cache(maxsize=4)(http_date)
