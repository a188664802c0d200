"""Pyramid integration: ``request.session`` is the sessionkit session, through the generic
WSGI middleware.

::

    from pyramid.config import Configurator
    from sessionkit.adapters.wsgi import SessionMiddleware

    with Configurator() as config:
        config.include("sessionkit.adapters.pyramid")
        ...
        app = SessionMiddleware(config.make_wsgi_app(), manager)

The session factory hands out the session that :class:`~sessionkit.adapters.wsgi.SessionMiddleware`
opened: a :class:`sessionkit.Session`, with ``regenerate()`` at login and ``destroy()`` at
logout (it is not Pyramid's ``ISession``: no ``invalidate``, ``flash`` or CSRF methods). CSRF
tokens are therefore kept with Pyramid's ``SessionCSRFStoragePolicy``, which stores them in the
session like any other value. Store errors reach the middleware (unless an exception view of
the application catches them), which answers 503 or 409.
"""

from __future__ import annotations

from typing import Any

from pyramid.csrf import SessionCSRFStoragePolicy  # type: ignore[import-untyped]

from ..session import Session
from .wsgi import get_session


def session_of(request: Any) -> Session:
    """The session factory: the session of the request's WSGI environ."""
    return get_session(request.environ)


def includeme(config: Any) -> None:
    """``config.include("sessionkit.adapters.pyramid")`` makes ``request.session`` sessionkit's."""
    config.set_session_factory(session_of)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
