"""Django: the four views, bare, on Django's own session engines or on sessionkit's.

Django is configured once per process (``settings.configure``), for the implementation built
first; the bare handler is then the same project with no middleware. The peer is Django's
``cache`` engine on django-redis (redis-py with hiredis), ``PyMemcacheCache``,
``FileBasedCache`` and ``LocMemCache``, and its ``db`` engine on SQLite; both with Django's
defaults (JSON serializer, signed and compressed by ``SessionBase.encode``) and Django's session
middleware. sessionkit's engine gets ``SESSIONKIT_STORE`` and ``SESSIONKIT_SERIALIZER``, and
sessionkit's middleware, as its documentation says to configure it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .apps import Built, Store, serializer_of
from .drive import WSGIDriver
from .sessions import SECRET, TTL, contents, stand_in

SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
# What sessionkit's Django page tells a project to use in place of Django's.
SESSIONKIT_MIDDLEWARE = "sessionkit.adapters.django.SessionMiddleware"


def cache_config(store: Store) -> dict[str, Any]:
    backend, servers = store.backend, store.servers
    if backend == "redis":
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": servers.redis_url}
    if backend == "memcached":
        host, port = servers.memcached_address
        return {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": f"{host}:{port}",
        }
    if backend == "file":
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(store.directory()),
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def configure(impl: str, store: Store) -> None:
    import django
    from django.conf import settings

    options: dict[str, Any] = {}
    if impl.startswith("sessionkit"):
        options.update(
            SESSION_ENGINE="sessionkit.adapters.django",
            SESSIONKIT_STORE=store.sessionkit_url(),
            SESSIONKIT_SERIALIZER=serializer_of(impl),
        )
    elif store.backend == "sqlite":
        options["SESSION_ENGINE"] = "django.contrib.sessions.backends.db"
    else:
        options["SESSION_ENGINE"] = "django.contrib.sessions.backends.cache"
        options["CACHES"] = {"default": cache_config(store)}
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(store.directory() / "django.db"),
            }
        },
        SESSION_COOKIE_AGE=TTL,
        USE_TZ=True,
        **options,
    )
    django.setup()
    if options["SESSION_ENGINE"].endswith(".db"):
        from django.contrib.sessions.models import Session
        from django.db import connection

        with connection.schema_editor() as editor:
            editor.create_model(Session)


def build(impl: str, store: Store) -> Built:
    from django.conf import settings

    if not settings.configured:
        configure(impl, store)
    from django.core.handlers.wsgi import WSGIHandler

    if impl == "bare":
        settings.MIDDLEWARE = []
    elif impl.startswith("sessionkit"):
        settings.MIDDLEWARE = [SESSIONKIT_MIDDLEWARE]
    else:
        settings.MIDDLEWARE = [SESSION_MIDDLEWARE]
    handler = WSGIHandler()
    return Built(WSGIDriver(handler), settings.SESSION_COOKIE_NAME, store.directories)


# The project's views and URLconf (ROOT_URLCONF is this module).


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


# The bare handler's session (it has no session middleware): a dict, held by the project.
PLAIN = stand_in()


def read(request: HttpRequest) -> HttpResponse:
    session = getattr(request, "session", PLAIN)
    return HttpResponse(str(session["user"]["id"]), content_type="text/plain")


def modify(request: HttpRequest) -> HttpResponse:
    session = getattr(request, "session", PLAIN)
    session["views"] = session["views"] + 1
    return HttpResponse(str(session["views"]), content_type="text/plain")


def seed(request: HttpRequest, size: str) -> HttpResponse:
    request.session.update(contents(size))
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bare", bare),
    path("read", read),
    path("modify", modify),
    path("seed/<str:size>", seed),
]
