"""Flask integration: ``flask.session`` becomes a sessionkit session, behaving as Flask's own.

::

    from flask import Flask, session
    from sessionkit.adapters.flask import SessionKit

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "..."
    app.config["SESSIONKIT_STORE"] = "redis://127.0.0.1:6379/0"
    SessionKit(app)

``flask.session`` is then a :class:`FlaskSession`: a :class:`sessionkit.Session` that is also
Flask's ``SessionMixin``. The browser holds only a signed id; the data lives in the store,
written with the tagged JSON serializer, so tuples, bytes, datetimes, UUIDs, Decimals and
``Markup`` (flashed messages included) come back as Flask's cookie session gives them back.
``modified`` is True once the request wrote to the session (any assignment, deletion or
``clear``, as Flask counts them) or changed a value in it (nested changes included: they are
found by comparing the data), and stays True after the save; ``accessed`` once the request
used it; ``new`` if it was not in the store. As in Flask, a session written to has its cookie
re-sent; if its data did not change, the store refreshes its expiry instead of rewriting it.
A request that never uses its session costs no store I/O and no serialisation (but see
``SESSION_REFRESH_EACH_REQUEST``); a changed session is serialised once.

Flask's settings, read on every request, once, when its session is opened (so
``SECRET_KEY`` and the cookie settings can change while the application runs; a subclass of
:class:`SessionKitInterface` that overrides a ``get_cookie_*`` method is asked instead, as
Flask's interface asks it):

- ``SECRET_KEY`` signs the cookie and protects what the store holds (``SESSIONKIT_PROTECT``);
  ``SECRET_KEY_FALLBACKS`` still open both. Without a key, Flask's null session: reading
  works, writing raises Flask's "session is unavailable" error.
- ``SESSION_COOKIE_NAME``, ``SESSION_COOKIE_HTTPONLY``, ``SESSION_COOKIE_PARTITIONED`` (which
  implies Secure, as Werkzeug does), ``SESSION_COOKIE_PATH`` (else ``APPLICATION_ROOT``).
- ``SESSION_COOKIE_DOMAIN``, written as Werkzeug writes it: no port, no leading dot, IDNA.
- ``SESSION_COOKIE_SECURE``: ``True`` or ``False`` as in Flask; sessionkit also takes
  ``"auto"``, Secure on https requests only.
- ``SESSION_COOKIE_SAMESITE``: ``"Lax"``, ``"Strict"``, ``"None"`` or ``None`` (no attribute,
  Flask's default); any other value raises ``ValueError`` as Werkzeug does.
- ``PERMANENT_SESSION_LIFETIME``: the cookie's Max-Age and the store TTL of a permanent session
  (``session.permanent = True``). A session that is not permanent has a browser-session cookie
  and is kept by the store for the same time after its last write, as Flask refuses its own
  cookie after that time (``SESSIONKIT_TTL`` sets another).
- ``SESSION_REFRESH_EACH_REQUEST`` (default True): a permanent session has its cookie re-sent
  and its expiry refreshed on every request, whether the request uses it or not. On a request
  that does not use it, that refresh is a store ``touch`` (no read, no rewrite): the cookie
  says, under its signature, whether the session is permanent.

An emptied session is deleted from the store and its cookie deleted. These keys of
sessionkit's own are read once, by :class:`SessionKit`:

- ``SESSIONKIT_STORE``: the store URL (default ``memory://``, one process only), with
  ``SESSIONKIT_STORE_OPTIONS`` (a dict of keyword options for the store's factory).
- ``SESSIONKIT_SECRET``: signing secrets to use instead of ``SECRET_KEY`` and its fallbacks
  (a str or bytes, or a sequence, newest first; read on every request too).
- ``SESSIONKIT_TTL``: seconds the store keeps a session that is not permanent.
- ``SESSIONKIT_SERIALIZER`` (default ``"tagged"``), ``SESSIONKIT_PROTECT``,
  ``SESSIONKIT_ROLLING``, ``SESSIONKIT_TOUCH_AFTER``, ``SESSIONKIT_ABSOLUTE_TIMEOUT``,
  ``SESSIONKIT_SAVE_UNINITIALIZED``, ``SESSIONKIT_RESAVE``, ``SESSIONKIT_MAX_SIZE``,
  ``SESSIONKIT_CONCURRENCY``, ``SESSIONKIT_ON_CONFLICT``: the
  :class:`~sessionkit.SessionManager` options of those names.
- ``SESSIONKIT_PRIORITY``: the cookie's Priority attribute (none by default; read per request).

Where Flask leaves the choice open, sessionkit's choices hold: the cookie carries a random
256-bit id signed with HMAC-SHA256, never data; an id the store does not know is replaced,
never adopted; cookies that browsers refuse are refused (``SameSite=None`` without Secure, a
``__Host-`` or ``__Secure-`` name without what it requires raise ``ValueError``); a 5xx
response saves nothing; data is JSON, never pickle, at most ``SESSIONKIT_MAX_SIZE`` bytes.

When the store is unavailable, the request is answered ``503 Service Unavailable`` with
``Retry-After`` (whether the session's first use or the save met the failure), and a
:class:`~sessionkit.SessionConflictError` (``SESSIONKIT_ON_CONFLICT = "raise"``) with ``409
Conflict``; one log line per such request at most, rate-limited. A request that never uses its
session succeeds all the same: only the refresh of a permanent session is skipped (and logged).
``SessionKit(app, respond_to_errors=False)`` leaves both errors to Flask instead.

Or pass a ready manager: ``SessionKit(app, manager=SessionManager(...))``. Its store and store
options are used; the cookie, the keys (of the cookie and of the store's protection) and the
lifetime follow Flask's settings above. One manager serves one application.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from operator import itemgetter
from typing import Any, NamedTuple

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin

from ..cookies import CookieOptions, Priority, cookie_values
from ..errors import SessionConflictError, SessionKitError, StoreUnavailableError
from ..manager import SessionManager
from ..registry import open_store
from ..serializers import DEFERRED
from ..session import Session
from ..signing import SALT, CookieSigner, Secret
from ._http import ErrorAnswer, FailureLog, answer_for, is_server_error

_OPTION_KEYS = {
    "SESSIONKIT_SERIALIZER": "serializer",
    "SESSIONKIT_PROTECT": "protect",
    "SESSIONKIT_ROLLING": "rolling",
    "SESSIONKIT_TOUCH_AFTER": "touch_after",
    "SESSIONKIT_ABSOLUTE_TIMEOUT": "absolute_timeout",
    "SESSIONKIT_SAVE_UNINITIALIZED": "save_uninitialized",
    "SESSIONKIT_RESAVE": "resave",
    "SESSIONKIT_MAX_SIZE": "max_size",
    "SESSIONKIT_CONCURRENCY": "concurrency",
    "SESSIONKIT_ON_CONFLICT": "on_conflict",
}
#: The cookie value of a permanent session starts with this; the rest is signed under a salt
#: of its own, so the mark cannot be added to or removed from a cookie without the key.
PERMANENT = "p."
PERMANENT_SALT = SALT + b".permanent"


class Signers(NamedTuple):
    """The cookie signers for one set of keys."""

    keys: tuple[Secret, ...]
    browser: CookieSigner  # cookies of sessions that are not permanent
    permanent: CookieSigner


class Cookie(NamedTuple):
    """The valid session cookie a request came with."""

    sid: str
    value: str | None  # None if an older key signed it: it cannot be sent back as it is
    permanent: bool
    signers: Signers


#: Flask's settings read on every request (but the cookie's, when a subclass of the interface
#: gives those through its own ``get_cookie_*`` methods), and sessionkit's own.
_SETTINGS = (
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "PERMANENT_SESSION_LIFETIME",
    "SESSION_REFRESH_EACH_REQUEST",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_PATH",
    "APPLICATION_ROOT",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_PARTITIONED",
)
_read_settings = itemgetter(*_SETTINGS)
_COOKIE_GETTERS = (
    "get_cookie_name",
    "get_cookie_domain",
    "get_cookie_path",
    "get_cookie_secure",
    "get_cookie_httponly",
    "get_cookie_samesite",
    "get_cookie_partitioned",
)


class Settings:
    """Flask's settings as a request found them, with the signers and the lifetime they
    give; the cookie's attributes are checked when first needed (a session the request
    never used sends no cookie, so bad cookie settings fail only requests that send one)."""

    def __init__(
        self,
        values: tuple[Any, ...],
        signers: Signers | None,
        lifetime: int,
        refresh_each_request: bool,
        cookie: tuple[Any, ...],
    ) -> None:
        self.values = values
        self.signers = signers
        self.lifetime = lifetime
        self.refresh_each_request = refresh_each_request
        self.cookie_name: str = cookie[0]
        self._cookie_settings = cookie
        self._cookie: CookieOptions | None = None

    @property
    def cookie(self) -> CookieOptions:
        """The session cookie's attributes; ValueError for settings Werkzeug would refuse."""
        if self._cookie is None:
            self._cookie = cookie_options(*self._cookie_settings)
        return self._cookie


class FlaskSession(Session, SessionMixin):
    """A sessionkit session with Flask's session interface on top."""

    cookie: Cookie | None = None
    _request: Request | None = None  # the request it was opened for
    _settings: Settings | None = None  # Flask's settings, as the request found them
    _used = False  # set by Flask when the request uses ``flask.session``
    _changed = False  # written to by this request, or ``modified = True``

    @property
    def new(self) -> bool:  # type: ignore[override]
        """True if the session was not in the store when the request began."""
        return self.is_new

    @property
    def modified(self) -> bool:
        """True once this request wrote to the session or changed a value in it, also after
        the session was saved."""
        return self._changed or Session.modified.fget(self)  # type: ignore[attr-defined]

    @modified.setter
    def modified(self, value: bool) -> None:
        # As in Flask, True asks for the session to be saved (its cookie re-sent and its
        # expiry refreshed, even if nothing changed). Changes to the data are found by
        # comparing it, so they are saved whatever False says.
        self._changed = value

    def __setitem__(self, key: str, value: Any) -> None:
        Session.__setitem__(self, key, value)
        self._changed = True

    def __delitem__(self, key: str) -> None:
        Session.__delitem__(self, key)
        self._changed = True

    def clear(self) -> None:
        Session.clear(self)
        self._changed = True

    @property
    def accessed(self) -> bool:
        """True once the request used ``flask.session`` or the session's data."""
        return self._used or self._state.data is not None

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self._used = value


class SessionKitInterface(SessionInterface):
    """The Flask session interface backed by a :class:`~sessionkit.SessionManager`.

    :param manager: loads and saves the sessions (its cookie settings are not used).
    :param fixed_ttl: the manager's ``ttl`` was chosen (``SESSIONKIT_TTL``, or a ready
        manager's); otherwise it follows ``PERMANENT_SESSION_LIFETIME``.
    :param respond_to_errors: answer 503 for an unavailable store and 409 for a refused
        merge (default); False lets those errors propagate to Flask.
    """

    def __init__(
        self, manager: SessionManager, *, fixed_ttl: bool = True, respond_to_errors: bool = True
    ) -> None:
        self.manager = manager
        self.fixed_ttl = fixed_ttl
        self.respond_to_errors = respond_to_errors
        self.failures = FailureLog()
        self._signers: Signers | None = None
        self._settings: Settings | None = None
        cls = type(self)
        self._custom_cookie = any(
            getattr(cls, name) is not getattr(SessionInterface, name) for name in _COOKIE_GETTERS
        )

    # -- Flask's settings, per request

    def settings(self, app: Flask) -> Settings:
        """Flask's settings as they are now, and the signers, lifetime and cookie they give.

        Read on every request, as Flask's own interface reads them, in one lookup: what they
        give is made again only when one of them changed.
        """
        config = app.config
        try:
            flask_values = _read_settings(config)
        except KeyError:  # one of Flask's defaults was removed
            flask_values = tuple(config.get(key) for key in _SETTINGS)
        get = config.get
        values: tuple[Any, ...] = (
            flask_values,
            get("SESSIONKIT_SECRET"),
            get("SESSIONKIT_PRIORITY"),
        )
        if self._custom_cookie:
            values = (*values, self._cookie_settings(app))
        cached = self._settings
        if cached is not None and cached.values == values:
            return cached
        return self._new_settings(app, values)

    def _new_settings(self, app: Flask, values: tuple[Any, ...]) -> Settings:
        config = dict(zip(_SETTINGS, values[0], strict=True))
        config["SESSIONKIT_SECRET"] = values[1]
        keys = secret_keys(config)
        signers = self._signers
        if keys is not None and (signers is None or signers.keys != keys):
            # The manager signs what it sends and seals the store with Flask's keys, which
            # Flask takes of any length.
            self.manager.allow_short_secret = True
            self.manager.use_secret(keys)
            permanent = CookieSigner(keys, salt=PERMANENT_SALT)
            signers = self._signers = Signers(keys, self.manager.signer, permanent)
        lifetime = int(app.permanent_session_lifetime.total_seconds())
        if not self.fixed_ttl:
            self.manager.ttl = lifetime
        cookie = values[3] if self._custom_cookie else self._cookie_settings(app)
        # A copy: keys may come in a list, which the application may change in place.
        kept = tuple(_copied(value) for value in values)
        settings = self._settings = Settings(
            kept,
            signers if keys is not None else None,
            lifetime,
            bool(config["SESSION_REFRESH_EACH_REQUEST"]),
            cookie,
        )
        return settings

    def _cookie_settings(self, app: Flask) -> tuple[Any, ...]:
        """The cookie's settings through the interface's ``get_cookie_*`` methods, which a
        subclass may override (by default they read Flask's settings of those names)."""
        return (
            self.get_cookie_name(app),
            self.get_cookie_path(app),
            self.get_cookie_domain(app),
            self.get_cookie_secure(app),
            self.get_cookie_httponly(app),
            self.get_cookie_samesite(app),
            self.get_cookie_partitioned(app),
            app.config.get("SESSIONKIT_PRIORITY"),
        )

    def signers(self, app: Flask) -> Signers | None:
        """The signers for the application's current keys; None if it has none."""
        return self.settings(app).signers

    # -- a request's session

    def open_session(self, app: Flask, request: Request) -> FlaskSession | None:
        settings = self.settings(app)
        signers = settings.signers
        if signers is None:
            return None  # Flask hands out its null session
        for value in cookie_values(request.environ.get("HTTP_COOKIE"), settings.cookie_name):
            permanent = value.startswith(PERMANENT)
            if permanent:
                verified = signers.permanent.verify(value[len(PERMANENT) :])
            else:
                verified = signers.browser.verify(value)
            if verified is not None:
                sid, newest = verified
                session = FlaskSession(self.manager, sid, from_cookie=True)
                session.cookie = Cookie(sid, value if newest else None, permanent, signers)
                break
        else:
            session = FlaskSession(self.manager, self.manager.new_id(), from_cookie=False)
        session._settings = settings
        # Kept for the save: flask.request, a context-local proxy, costs 9,000 instructions
        # more a use.
        session._request = request
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, FlaskSession)
        if is_server_error(response.status_code):
            return
        state = session._state
        settings = session._settings or self.settings(app)
        permanent = self.apply_flask_rules(session, settings)
        self.sign_ahead(session, permanent, settings)
        # Settings that would fail are found before anything is written. A session the
        # request did not use sends a cookie only when SESSIONKIT_ROLLING refreshes it or
        # SESSIONKIT_SAVE_UNINITIALIZED stores it: its cookie's settings are read then.
        used = state.data is not None or state.touch or state.max_age_changed
        cookie = settings.cookie if used else None
        base = state.base
        try:
            set_cookie = self.manager.commit(
                session, https=self._https(session, cookie), cookie=cookie
            )
        except (StoreUnavailableError, SessionConflictError) as error:
            if not self.respond_to_errors:
                raise
            if state.data is None:
                # Only a refresh of a session the request never used failed: the response
                # stands, without the cookie; the next request refreshes it.
                kept = ErrorAnswer(response.status_code, "", [], b"")
                self.failures.failed(kept, error, request.method, request.path)
            else:
                self.answer(error, response)
            return
        session._changed = session._changed or state.destroyed or state.base != base
        if set_cookie is not None:
            if cookie is None:  # rendered with the manager's attributes: Flask's instead
                value = set_cookie.partition(";")[0].partition("=")[2]
                cookie = settings.cookie
                max_age = state.max_age if value else 0
                set_cookie = cookie.render(value, max_age, https=self._https(session, cookie))
            response.headers.add("Set-Cookie", set_cookie)
        if set_cookie is not None or session.accessed:
            vary_on_cookie(response)

    @staticmethod
    def _https(session: FlaskSession, cookie: CookieOptions | None) -> bool:
        """Whether the request came over https, where the cookie's Secure depends on it."""
        if cookie is None or cookie.secure != "auto":
            return False
        return (session._request or request).is_secure

    def apply_flask_rules(self, session: FlaskSession, settings: Settings) -> bool:
        """Set the session's lifetime, refresh and deletion as Flask would; return whether
        it is permanent."""
        state = session._state
        data = state.data
        was_permanent = session.cookie is not None and session.cookie.permanent
        if data is None:  # the request never used it: the cookie says what it is
            permanent = was_permanent
        elif not data and state.stored and state.base != self.manager.empty:
            session.destroy()  # emptied by this request: deleted, and so is its cookie
            return False
        else:
            flag = data.get("_permanent")
            if type(flag) is DEFERRED:  # not read from the stored bytes yet
                flag = session["_permanent"]
            permanent = bool(flag)
        state.max_age = settings.lifetime if permanent else None
        if session._changed or permanent != was_permanent:
            # Flask sends the cookie of a session written to: the manager re-sends it, and
            # refreshes the session's expiry if the data did not change.
            state.max_age_changed = True
        elif permanent and settings.refresh_each_request:
            session.touch()
        return permanent

    def sign_ahead(self, session: FlaskSession, permanent: bool, settings: Settings) -> None:
        """Give the manager the cookie value to send, if it is not one it would sign itself."""
        state = session._state
        cookie = session.cookie
        if (
            cookie is not None
            and cookie.value
            and cookie.sid == state.id
            and cookie.permanent == permanent
        ):
            state.signed = (state.id, cookie.value)  # the request's own, still good
            return
        if permanent:
            signers = cookie.signers if cookie is not None else settings.signers
            assert signers is not None  # the session was opened with them
            state.signed = (state.id, PERMANENT + signers.permanent.sign(state.id))
        else:
            state.signed = None

    # -- store errors

    def _error_answer(self, error: SessionKitError) -> ErrorAnswer:
        answer = answer_for(error)
        assert answer is not None
        self.failures.failed(answer, error, request.method, request.path)
        return answer

    def answer(self, error: SessionKitError, response: Response) -> None:
        """Turn ``response``, whose session could not be saved, into the error's answer."""
        answer = self._error_answer(error)
        response.headers.clear()
        response.status = f"{answer.status} {answer.reason}"
        response.set_data(answer.body)
        response.content_type = "text/plain; charset=utf-8"
        response.headers.extend(answer.headers)

    def error_response(self, error: SessionKitError) -> Response:
        """A Flask error handler: the answer to a store error raised while the app ran."""
        answer = self._error_answer(error)
        headers = [("Content-Type", "text/plain; charset=utf-8"), *answer.headers]
        return Response(answer.body, answer.status, headers)


class SessionKit:
    """Installs sessionkit as ``app.session_interface``; see the module docstring.

    :param app: the application, or None to call :meth:`init_app` later.
    :param manager: a ready manager; by default one is made from ``app.config``.
    :param respond_to_errors: answer 503 for an unavailable store and 409 for a refused
        merge (default); False lets those errors propagate to Flask's own handling.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        manager: SessionManager | None = None,
        respond_to_errors: bool = True,
    ) -> None:
        self.manager = manager
        self.respond_to_errors = respond_to_errors
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        manager = self.manager or make_manager(app)
        fixed_ttl = self.manager is not None or bool(app.config.get("SESSIONKIT_TTL"))
        interface = SessionKitInterface(
            manager, fixed_ttl=fixed_ttl, respond_to_errors=self.respond_to_errors
        )
        app.session_interface = interface
        app.extensions["sessionkit"] = manager
        if self.respond_to_errors:
            app.register_error_handler(StoreUnavailableError, interface.error_response)
            app.register_error_handler(SessionConflictError, interface.error_response)


def _copied(value: Any) -> Any:
    """``value``, with every list in it (within tuples) copied."""
    if type(value) is list:
        return list(value)
    if type(value) is tuple:
        return tuple(_copied(item) for item in value)
    return value


def cookie_options(
    name: str,
    path: str | None,
    domain: str | None,
    secure: bool | str,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
    priority: Priority | None,
) -> CookieOptions:
    """The session cookie's attributes from Flask's settings of those names."""
    if domain:  # as Werkzeug writes it
        domain = domain.partition(":")[0].lstrip(".").encode("idna").decode("ascii")
    return CookieOptions(
        name=name,
        path=path or "/",
        domain=domain or None,
        secure="auto" if secure == "auto" else bool(secure or partitioned),
        httponly=bool(httponly),
        samesite=samesite,  # type: ignore[arg-type]
        partitioned=bool(partitioned),
        priority=priority,
    )


def vary_on_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``, as Flask's own interface does; without Werkzeug's
    header set (30,000 instructions a response) when the response has no Vary header yet."""
    headers = response.headers
    for name, _ in headers:
        if name.lower() == "vary":
            response.vary.add("Cookie")
            return
    headers.add("Vary", "Cookie")


def secret_keys(config: Mapping[str, Any]) -> tuple[Secret, ...] | None:
    """The application's signing keys, newest first; None if it has none."""
    secret = config.get("SESSIONKIT_SECRET")
    if secret is not None:
        return (secret,) if isinstance(secret, (str, bytes)) else tuple(secret)
    key = config["SECRET_KEY"]  # app.secret_key, without its descriptor
    if not key:
        return None
    fallbacks = config.get("SECRET_KEY_FALLBACKS")
    return (key, *fallbacks) if fallbacks else (key,)


def make_manager(app: Flask) -> SessionManager:
    """A :class:`~sessionkit.SessionManager` configured from ``app.config``."""
    config = app.config
    options: dict[str, Any] = {
        name: config[key] for key, name in _OPTION_KEYS.items() if key in config
    }
    options.setdefault("serializer", "tagged")
    store = open_store(
        config.get("SESSIONKIT_STORE", "memory://"), **config.get("SESSIONKIT_STORE_OPTIONS", {})
    )
    return SessionManager(
        store,
        # Without a key yet, a random one that nothing can carry: the interface gives the
        # manager the application's keys whenever they change, before using it.
        secret_keys(config) or secrets.token_urlsafe(32),
        max_age=None,
        ttl=config.get("SESSIONKIT_TTL") or int(app.permanent_session_lifetime.total_seconds()),
        allow_short_secret=True,  # Flask takes any SECRET_KEY; so does its adapter
        **options,
    )
