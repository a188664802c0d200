"""Django's ``SESSION_*`` settings that each request reads, read once per configuration.

Each ``settings.NAME`` costs a Python call through ``LazySettings`` (about 1,500
instructions), and a request that saves its session reads a dozen. They are read again when
``override_settings`` (or pytest-django's ``settings``) changes one, as Django's own caches do.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from django.conf import settings  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]


class SessionSettings(NamedTuple):
    cookie_name: str
    cookie_age: int
    expire_at_browser_close: bool
    save_every_request: bool
    # set_cookie's keyword arguments, but for max_age and expires
    cookie: dict[str, Any]


_current: SessionSettings | None = None
# Held while the settings are read and while they are forgotten, so that a change cannot
# come between a read and its being kept.
_lock = threading.Lock()


def session_settings() -> SessionSettings:
    """The settings as they are now."""
    current = _current
    return _read() if current is None else current


def _read() -> SessionSettings:
    global _current
    with _lock:
        current = _current
        if current is not None:
            return current
        current = _current = SessionSettings(
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
    return current


def _settings_changed(*, setting: str, **_: Any) -> None:
    global _current
    if setting.startswith("SESSION_"):
        with _lock:
            _current = None


setting_changed.connect(_settings_changed)
