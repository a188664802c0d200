"""A Django session engine on any sessionkit store.

In ``settings.py``::

    SESSION_ENGINE = "sessionkit.adapters.django"
    SESSIONKIT_STORE = "redis://127.0.0.1:6379/0?prefix=myapp:"
    SESSIONKIT_STORE_OPTIONS = {}        # optional keyword options for the store's factory

Django keeps doing what it does with its own engines: the cookie (``SESSION_COOKIE_*``),
expiry (``SESSION_COOKIE_AGE``, ``set_expiry``), the serializer and the signing of the stored
data (``SessionBase.encode``). This engine stores that data under a sessionkit id (43 random
URL-safe characters; a cookie with a key of any other shape starts a new session) with a TTL
of ``get_expiry_age()``, so the store enforces expiry.

Saves are create-only or update-only: ``save(must_create=True)`` uses the store's atomic
``add`` and raises ``CreateError`` if the key exists; other saves use ``replace`` and raise
``UpdateError`` if the session is gone, so a request that read the session before a concurrent
logout cannot bring it back (Django then answers with ``SessionInterrupted``).
``clear_expired()`` (``manage.py clearsessions``) purges stores that need it (file, SQL); the
others expire entries by themselves.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.contrib.sessions.backends.base import (  # type: ignore[import-untyped]
    CreateError,
    SessionBase,
    UpdateError,
)
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

from ..ids import is_valid_session_id, new_session_id
from ..registry import open_store
from ..store import Store, SupportsPurge

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def get_store() -> Store:
    """The store that ``settings.SESSIONKIT_STORE`` names, opened once per URL."""
    url = getattr(settings, "SESSIONKIT_STORE", None)
    if not url:
        raise ImproperlyConfigured(
            "set SESSIONKIT_STORE to a store URL to use the sessionkit session engine"
        )
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = open_store(url, **getattr(settings, "SESSIONKIT_STORE_OPTIONS", {}))
            _stores[url] = store
        return store


class SessionStore(SessionBase):  # type: ignore[misc]
    """Django's ``SessionBase`` on a sessionkit store."""

    _session_key: str | None  # a property of SessionBase that validates what it is given

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self.store = self.get_store()

    @classmethod
    def get_store(cls) -> Store:
        """The store sessions live in; a subclass may override it."""
        return get_store()

    def _get_new_session_key(self) -> str:
        # 256 random bits: a collision is left to save(must_create=True), which never merges.
        return new_session_id()

    def _validate_session_key(self, key: Any) -> bool:
        return is_valid_session_id(key)

    def _ttl(self) -> int | None:
        """The store TTL, or None if the session has already expired."""
        age: int = self.get_expiry_age()
        return age if age >= 1 else None

    def load(self) -> dict[str, Any]:
        raw = self.store.get(self.session_key) if self.session_key else None
        if raw is None:
            self._session_key = None
            return {}
        data: dict[str, Any] = self.decode(raw.decode("utf-8", "replace"))
        return data

    def exists(self, session_key: str) -> bool:
        return is_valid_session_id(session_key) and self.store.get(session_key) is not None

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
        data = self.encode(self._get_session(no_load=must_create)).encode()
        ttl = self._ttl()
        if ttl is None:  # expired already: what would be saved is gone at once
            self.store.delete(self.session_key)
            return
        if must_create:
            if not self.store.add(self.session_key, data, ttl):
                raise CreateError
        elif not self.store.replace(self.session_key, data, ttl):
            raise UpdateError

    def delete(self, session_key: str | None = None) -> None:
        key = self.session_key if session_key is None else session_key
        if key is not None and is_valid_session_id(key):
            self.store.delete(key)

    @classmethod
    def clear_expired(cls) -> None:
        store = cls.get_store()
        if isinstance(store, SupportsPurge):
            store.purge_expired()
