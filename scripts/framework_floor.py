"""What a framework's own session machinery costs, measured with a session that does nothing.

For the peer comparison's closest cells (see docs/performance/benchmarks.md), this
separates the framework's part of a request's session cost from the session library's. Each
figure is CPU instructions per request (callgrind, the measured loop only; see
``scripts/callgrind.py``), with a 300 B session on ``memory://``:

- Django: the same project with sessionkit's middleware, on sessionkit's engine and on an
  engine that does nothing (``load`` returns a copy of the session, ``save`` nothing), for
  ``/read`` and ``/modify``; and the project without the session middleware (``/bare``).
- Flask: the app on sessionkit (``json`` serializer, as in the peer comparison), on a session
  interface that hands out a dict and adds the two headers a saved session adds, and without
  a session, for ``/modify`` (``/bare``).

Usage::

    .venv/bin/python scripts/framework_floor.py            # both, about a minute
    .venv/bin/python scripts/framework_floor.py django
"""

from __future__ import annotations

import io
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.peers.sessions import SECRET, contents  # noqa: E402

REQUESTS = 200
DATA = contents("300B")


def django_loops() -> dict[str, Callable[[], object]]:
    import django
    from django.conf import settings
    from django.contrib.sessions.backends.base import SessionBase

    settings.configure(
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="tests.benchmarks.peers.app_django",
        INSTALLED_APPS=["django.contrib.sessions"],
        SESSION_ENGINE="sessionkit.adapters.django",
        SESSIONKIT_STORE="memory://",
        USE_TZ=True,
    )
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from sessionkit.adapters.django import SessionStore

    class NothingStore(SessionBase):  # type: ignore[misc]
        def __init__(self, session_key: str | None = None) -> None:
            # SessionBase's, but for importing SESSION_SERIALIZER, as sessionkit's engine
            self._session_key = session_key
            self.accessed = self.modified = False

        def load(self) -> dict[str, Any]:
            return dict(DATA)

        def save(self, must_create: bool = False) -> None:
            pass

    seeded = SessionStore()
    seeded.update(DATA)
    seeded.save()
    cookie = f"sessionid={seeded.session_key}"

    nothing = types.ModuleType("nothing_engine")  # an engine module, as SESSION_ENGINE names
    nothing.SessionStore = NothingStore  # type: ignore[attr-defined]
    sys.modules[nothing.__name__] = nothing

    def handler(middleware: list[str], engine: str = "sessionkit.adapters.django") -> Any:
        settings.MIDDLEWARE = middleware
        settings.SESSION_ENGINE = engine  # the middleware reads it when the handler is made
        return WSGIHandler()

    ours = ["sessionkit.adapters.django.SessionMiddleware"]
    apps = {
        "bare": handler([]),
        "sessionkit": handler(ours),
        "nothing": handler(ours, nothing.__name__),
    }

    def call(app: Any, path: str) -> Callable[[], object]:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "x", "SERVER_PORT": "80",
            "SCRIPT_NAME": "", "wsgi.url_scheme": "http", "HTTP_COOKIE": cookie,
        }  # fmt: skip

        def request() -> object:
            body = app({**environ, "wsgi.input": io.BytesIO()}, lambda *_: None)
            return b"".join(body)

        return request

    return {
        "django, no session middleware, /bare": call(apps["bare"], "/bare"),
        "django, engine that does nothing, /read": call(apps["nothing"], "/read"),
        "django, sessionkit, /read": call(apps["sessionkit"], "/read"),
        "django, engine that does nothing, /modify": call(apps["nothing"], "/modify"),
        "django, sessionkit, /modify": call(apps["sessionkit"], "/modify"),
    }


def flask_loops() -> dict[str, Callable[[], object]]:
    from flask import Flask, Response
    from flask.sessions import SecureCookieSession, SessionInterface
    from werkzeug.test import EnvironBuilder

    from sessionkit.adapters.flask import SessionKit, vary_on_cookie
    from tests.benchmarks.peers.app_flask import NoSession, flask_app

    class NothingInterface(SessionInterface):
        def open_session(self, app: Flask, request: Any) -> SecureCookieSession:
            return SecureCookieSession(DATA)

        def save_session(self, app: Flask, session: Any, response: Response) -> None:
            if session.modified:
                response.headers.add("Set-Cookie", f"session={'a' * 87}; HttpOnly; Path=/")
                vary_on_cookie(response)

    def installed(interface: Callable[[Any], object]) -> Any:
        def setup(app: Any) -> None:
            app.config.update(SESSIONKIT_STORE="memory://", SESSIONKIT_SERIALIZER="json")
            interface(app)

        return flask_app(setup, []).driver

    drivers = {
        "bare": installed(lambda app: setattr(app, "session_interface", NoSession())),
        "nothing": installed(lambda app: setattr(app, "session_interface", NothingInterface())),
        "sessionkit": installed(SessionKit),
    }
    seeded = drivers["sessionkit"].request("/seed/300B", None)
    cookie = next(v for k, v in seeded.headers if k == "Set-Cookie").split(";")[0]

    def call(driver: Any, path: str) -> Callable[[], object]:
        environ = EnvironBuilder(path=path, headers={"Cookie": cookie}).get_environ()
        return lambda: b"".join(driver.app(dict(environ), lambda *_: None))

    return {
        "flask, no session, /bare": call(drivers["bare"], "/bare"),
        "flask, interface that does nothing, /modify": call(drivers["nothing"], "/modify"),
        "flask, sessionkit, /modify": call(drivers["sessionkit"], "/modify"),
    }


def measure(framework: str) -> None:
    """Run this script's loops for ``framework`` under callgrind and print the figures."""
    names = list(_loops(framework))  # set up once outside callgrind, to name the loops
    with tempfile.TemporaryDirectory() as tmp:
        dumps = callgrind.run(
            Path(tmp) / "callgrind.out",
            [sys.executable, __file__, "--loops", framework],
            expected=len(names),
            set_up_first=True,
        )
        for name, dump in zip(names, dumps, strict=True):
            print(f"{callgrind.instructions(dump) / REQUESTS:>10,.0f}  {name}")


def _loops(framework: str) -> dict[str, Callable[[], object]]:
    return django_loops() if framework == "django" else flask_loops()


def run_loops(framework: str) -> None:
    loops = _loops(framework)
    callgrind.instrumentation_on()
    for request in loops.values():
        for _ in range(10):
            request()
        callgrind.before()
        for _ in range(REQUESTS):
            request()
        callgrind.after()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--loops"]:
        run_loops(sys.argv[2])
    else:
        for chosen in sys.argv[1:] or ["django", "flask"]:
            measure(chosen)
