"""What the sync store and its async twin share: the settings, a client, the
steps of every operation, and what a failed try leads to. Each twin adds only its runner:
the loop that sends a request and waits for the reply, blocking or awaiting."""

from __future__ import annotations

import time
from typing import ClassVar, Generic, TypeVar

from sessionkit.errors import SessionKitError

from .clients import Flavour, build
from .errors import CLIENT_ERRORS, translate
from .keys import KeySpace
from .operations import Operations
from .settings import RedisSettings

C = TypeVar("C")


class RedisTwin(Generic[C]):
    """A client of ``flavour`` (``C``) for ``settings``, and the store's operations on it."""

    flavour: ClassVar[Flavour]
    is_async: ClassVar[bool]

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        try:
            client, self._sentinel = build(settings, self.flavour)
        except CLIENT_ERRORS as exc:  # a cluster client asks its nodes for the slots now
            raise self._error(exc) from exc
        #: The underlying redis-py client.
        self.client: C = client
        self._keys = KeySpace(settings.prefix)
        self._ops = Operations(self._keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings.masked_url!r})"

    def _retry_after(self, exc: Exception, retry: int, started: float) -> float:
        """The seconds to wait before retry number ``retry`` of an operation that began at
        ``started`` (``time.monotonic()``) and failed with ``exc``; or raise what it means."""
        wait = self.settings.policy.delay(exc, retry, time.monotonic() - started)
        if wait is None:
            raise self._error(exc) from exc
        return wait

    def _error(self, exc: Exception) -> SessionKitError:
        return translate(exc, self.settings.masked_url, self.settings.database)
