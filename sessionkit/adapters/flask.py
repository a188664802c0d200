"""Flask integration: ``flask.session`` becomes a sessionkit session.

::

    from flask import Flask, session
    from sessionkit.adapters.flask import SessionKit

    app = Flask(__name__)
    app.config["SESSIONKIT_STORE"] = "redis://127.0.0.1:6379/0"
    app.config["SECRET_KEY"] = "..."
    SessionKit(app)

``flask.session`` is then a :class:`FlaskSession`: a :class:`sessionkit.Session` that is also
Flask's ``SessionMixin`` (``permanent``, ``modified``, ``new``, ``accessed``). A session that is
never used costs no store I/O. ``session.permanent = True`` gives the cookie a max-age (the
permanent lifetime below); otherwise the cookie is a browser-session cookie, and the store keeps
the session for ``SESSIONKIT_TTL`` seconds after its last write. With Flask's
``SESSION_REFRESH_EACH_REQUEST`` (the default), a permanent session used by a request has its
expiry refreshed and its cookie re-sent. ``session.modified = True`` asks for such a refresh.

Configuration keys:

- ``SESSIONKIT_STORE``: the store URL (default ``memory://``, one process only).
- ``SESSIONKIT_STORE_OPTIONS``: a dict of keyword options for the store's factory.
- ``SESSIONKIT_SECRET``: the signing secret, or a list of them, newest first; default
  ``SECRET_KEY`` followed by ``SECRET_KEY_FALLBACKS``. One of them is required.
- ``SESSIONKIT_MAX_AGE``: seconds a permanent session lives (default
  ``PERMANENT_SESSION_LIFETIME``).
- ``SESSIONKIT_TTL``: seconds the store keeps a non-permanent session (default: the permanent
  lifetime).
- ``SESSIONKIT_ROLLING``, ``SESSIONKIT_SAVE_UNINITIALIZED``, ``SESSIONKIT_RESAVE``,
  ``SESSIONKIT_MAX_SIZE``, ``SESSIONKIT_SERIALIZER``, ``SESSIONKIT_PRIORITY``: the
  :class:`~sessionkit.SessionManager` options of the same names.
- Flask's own ``SESSION_COOKIE_NAME``, ``SESSION_COOKIE_DOMAIN``, ``SESSION_COOKIE_PATH``
  (else ``APPLICATION_ROOT``), ``SESSION_COOKIE_HTTPONLY``, ``SESSION_COOKIE_PARTITIONED`` and
  ``SESSION_COOKIE_SAMESITE`` (when set; sessionkit's default is ``lax``) shape the cookie.
  ``SESSION_COOKIE_SECURE = True`` always marks it Secure; the default ``False`` means "Secure
  on https requests" (sessionkit's ``secure="auto"``).

Or pass a ready manager: ``SessionKit(app, manager=SessionManager(...))``; its ``max_age``, if
not None, is then the permanent lifetime.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin

from ..errors import ConfigurationError
from ..manager import SessionManager
from ..registry import open_store
from ..session import Session
from ._http import is_server_error

_OPTION_KEYS = {
    "SESSIONKIT_ROLLING": "rolling",
    "SESSIONKIT_SAVE_UNINITIALIZED": "save_uninitialized",
    "SESSIONKIT_RESAVE": "resave",
    "SESSIONKIT_MAX_SIZE": "max_size",
    "SESSIONKIT_SERIALIZER": "serializer",
    "SESSIONKIT_PRIORITY": "priority",
}


class FlaskSession(Session, SessionMixin):
    """A sessionkit session with Flask's session interface on top."""

    _proxy_accessed = False
    refresh_asked = False  # set by ``modified = True``

    @property
    def new(self) -> bool:  # type: ignore[override]
        """True if the session was not in the store when the request began."""
        return self.is_new

    @property
    def modified(self) -> bool:
        """True if the data differs from what the store holds (nested changes included)."""
        return Session.modified.fget(self)  # type: ignore[attr-defined,no-any-return]

    @modified.setter
    def modified(self, value: bool) -> None:
        # Changes are found by comparing the data, so there is nothing to flag; as in Flask,
        # setting it makes the response carry the session: its expiry is refreshed.
        if value:
            self.refresh_asked = True
            self.touch()

    @property
    def accessed(self) -> bool:
        """True once the request used ``flask.session`` or loaded the session's data."""
        return self._proxy_accessed or self.loaded

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self._proxy_accessed = value

    @property
    def loaded(self) -> bool:
        """True once the session's data was read or written during this request."""
        return Session.accessed.fget(self)  # type: ignore[attr-defined,no-any-return]

    def apply_permanence(self, lifetime: int, refresh: bool) -> None:
        """Give the cookie the lifetime that ``permanent`` asks for."""
        if not self.permanent:
            if self.modified:
                self.max_age = None  # re-sent as a browser-session cookie
            else:
                self._state.max_age = None
            return
        # Set directly, not through the max_age setter, which would refresh the session on
        # every request; Flask's configuration decides that.
        self._state.max_age = lifetime
        if refresh:
            self.touch()


class SessionKitInterface(SessionInterface):
    """The Flask session interface backed by a :class:`~sessionkit.SessionManager`.

    :param manager: opens and commits the sessions.
    :param lifetime: seconds a permanent session's cookie and store entry live.
    """

    def __init__(self, manager: SessionManager, lifetime: int) -> None:
        self.manager = manager
        self.lifetime = lifetime

    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        return self.manager.open(request.headers.get("Cookie"), FlaskSession)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, FlaskSession)
        if is_server_error(response.status_code):
            return
        if session.loaded or session.refresh_asked:
            session.apply_permanence(self.lifetime, app.config["SESSION_REFRESH_EACH_REQUEST"])
        accessed = session.accessed
        set_cookie = self.manager.commit(session, https=request.is_secure)
        if set_cookie is not None:
            response.headers.add("Set-Cookie", set_cookie)
        if accessed or set_cookie is not None:
            response.vary.add("Cookie")


class SessionKit:
    """Installs sessionkit as ``app.session_interface``; see the module docstring.

    :param app: the application, or None to call :meth:`init_app` later.
    :param manager: a ready manager; by default one is made from ``app.config``.
    """

    def __init__(self, app: Flask | None = None, *, manager: SessionManager | None = None) -> None:
        self.manager = manager
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = app.config
        lifetime = config.get("SESSIONKIT_MAX_AGE") or (
            self.manager.max_age if self.manager is not None else None
        )
        if lifetime is None:
            lifetime = int(app.permanent_session_lifetime.total_seconds())
        manager = self.manager or make_manager(app, lifetime)
        app.session_interface = SessionKitInterface(manager, lifetime)
        app.extensions["sessionkit"] = manager


def make_manager(app: Flask, lifetime: int) -> SessionManager:
    """A :class:`~sessionkit.SessionManager` configured from ``app.config``."""
    config = app.config
    secret = config.get("SESSIONKIT_SECRET")
    if secret is None and config.get("SECRET_KEY"):
        secret = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    if not secret:
        raise ConfigurationError("set SECRET_KEY or SESSIONKIT_SECRET to sign session cookies")
    options: dict[str, Any] = {
        name: config[key] for key, name in _OPTION_KEYS.items() if key in config
    }
    if config.get("SESSION_COOKIE_SAMESITE"):
        options["samesite"] = config["SESSION_COOKIE_SAMESITE"].lower()
    store = open_store(
        config.get("SESSIONKIT_STORE", "memory://"), **config.get("SESSIONKIT_STORE_OPTIONS", {})
    )
    return SessionManager(
        store,
        secret,
        cookie_name=config["SESSION_COOKIE_NAME"],
        max_age=None,
        ttl=config.get("SESSIONKIT_TTL") or lifetime,
        secure=True if config["SESSION_COOKIE_SECURE"] else "auto",
        httponly=config["SESSION_COOKIE_HTTPONLY"],
        domain=config.get("SESSION_COOKIE_DOMAIN") or None,
        path=config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/",
        partitioned=config.get("SESSION_COOKIE_PARTITIONED", False),
        **options,
    )
