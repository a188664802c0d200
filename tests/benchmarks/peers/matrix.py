"""The comparison's matrix: frameworks, their peer library per backend, sizes and operations.

A cell is (framework, backend, size, operation). Its peer is the library a user of that
framework would otherwise reach for; where the peer has no store for a backend the cell is
measured for sessionkit alone and has no ratio.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .apps import Built, Store
from .sessions import SIZES

FRAMEWORKS = ("wsgi", "flask", "starlette", "fastapi", "django")
BACKENDS = ("redis", "memcached", "file", "sqlite", "memory")
OPERATIONS = ("read", "modify")
SESSIONKIT = ("sessionkit-json", "sessionkit-orjson")
IMPLS = ("peer", *SESSIONKIT)
__all__ = ["BACKENDS", "FRAMEWORKS", "IMPLS", "OPERATIONS", "SESSIONKIT", "SIZES"]

_ALL = dict.fromkeys(BACKENDS)
# framework -> backend -> the peer's name
PEERS: dict[str, dict[str, str]] = {
    "wsgi": {backend: "Beaker" for backend in _ALL},
    "flask": {backend: "Flask-Session" for backend in _ALL},
    "starlette": {"redis": "starsessions", "memory": "starsessions"},
    "fastapi": {"redis": "starsessions", "memory": "starsessions"},
    "django": {
        "redis": "Django cache + django-redis",
        "memcached": "Django cache + PyMemcacheCache",
        "file": "Django cache + FileBasedCache",
        "sqlite": "Django db",
        "memory": "Django cache + LocMemCache",
    },
}
# framework -> "module:function" building its app for (impl, store)
BUILDERS = {
    "wsgi": "app_wsgi:build",
    "flask": "app_flask:build",
    "starlette": "app_asgi:build_starlette",
    "fastapi": "app_asgi:build_fastapi",
    "django": "app_django:build",
}
ADAPTERS = {
    "wsgi": "sessionkit.adapters.wsgi.SessionMiddleware",
    "flask": "sessionkit.adapters.flask.SessionKit",
    "starlette": "sessionkit.adapters.asgi.SessionMiddleware",
    "fastapi": "sessionkit.adapters.asgi.SessionMiddleware",
    "django": (
        'SESSION_ENGINE = "sessionkit.adapters.django"` with '
        "`sessionkit.adapters.django.SessionMiddleware"
    ),
}


def impls(framework: str, backend: str) -> tuple[str, ...]:
    """The implementations measured on ``backend`` in ``framework``."""
    return IMPLS if backend in PEERS[framework] else SESSIONKIT


def builder(framework: str) -> Callable[[str, Store], Built]:
    module, name = BUILDERS[framework].split(":")
    function: Callable[[str, Store], Built] = getattr(
        import_module(f"{__package__}.{module}"), name
    )
    return function
