"""Values made from Django's settings once per configuration, and Django's ``SESSION_*``
settings that each request reads, made so.

Each ``settings.NAME`` costs a Python call through ``LazySettings`` (about 1,500
instructions; one the project lacks, an exception too), and a request that saves its session
reads a dozen. A :class:`FromSettings` value is made again when ``override_settings`` (or
pytest-django's ``settings``) changes a setting it reads, as Django's own caches do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from django.conf import settings  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]

T = TypeVar("T")


class FromSettings(Generic[T]):
    """``make()``, made once and again after a change of a setting that ``reads`` names.

    It is made and forgotten under one lock, so that a change cannot come between a reading
    of the settings and its keeping.
    """

    def __init__(self, make: Callable[[], T], reads: Callable[[str], bool]) -> None:
        self._make = make
        self._reads = reads
        self._current: T | None = None
        self._lock = threading.Lock()
        setting_changed.connect(self._changed, weak=False)

    def get(self) -> T:
        """The value for the settings as they are."""
        current = self._current
        return self._made() if current is None else current

    def _made(self) -> T:
        with self._lock:
            current = self._current
            if current is None:
                current = self._current = self._make()
            return current

    def _changed(self, *, setting: str, **_: Any) -> None:
        if self._reads(setting):
            with self._lock:
                self._current = None


class SessionSettings(NamedTuple):
    cookie_name: str
    cookie_age: int
    expire_at_browser_close: bool
    save_every_request: bool
    # set_cookie's keyword arguments, but for max_age and expires
    cookie: dict[str, Any]


def _read_session_settings() -> SessionSettings:
    return SessionSettings(
        cookie_name=settings.SESSION_COOKIE_NAME,
        cookie_age=settings.SESSION_COOKIE_AGE,
        expire_at_browser_close=settings.SESSION_EXPIRE_AT_BROWSER_CLOSE,
        save_every_request=settings.SESSION_SAVE_EVERY_REQUEST,
        cookie={
            "domain": settings.SESSION_COOKIE_DOMAIN,
            "path": settings.SESSION_COOKIE_PATH,
            "secure": settings.SESSION_COOKIE_SECURE or None,
            "httponly": settings.SESSION_COOKIE_HTTPONLY or None,
            "samesite": settings.SESSION_COOKIE_SAMESITE,
        },
    )


#: The ``SESSION_*`` settings as they are (a bound method: a call less per use).
session_settings = FromSettings(
    _read_session_settings, lambda name: name.startswith("SESSION_")
).get
