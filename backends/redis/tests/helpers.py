"""What several Redis test modules share: opening a store by URL, and the errors of a store
that cannot reach its server, seen from sync and async code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sessionkit_redis import RedisStore

import sessionkit
from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id

T = TypeVar("T")

#: Timeouts short enough that a store failing to connect fails the test quickly.
FAST = "timeout=2&connect_timeout=1"


def open_redis(url: str, **options: Any) -> RedisStore:
    store = sessionkit.open_store(url, **options)
    assert isinstance(store, RedisStore)
    return store


def unavailable_errors(
    store: RedisStore, sync_call: Callable[[], object]
) -> tuple[StoreUnavailableError, StoreUnavailableError]:
    """The :class:`StoreUnavailableError` that ``sync_call`` raises, and the one that a get
    through the store's async twin raises."""
    with pytest.raises(StoreUnavailableError) as raised:
        sync_call()

    async def failing_get() -> StoreUnavailableError:
        astore = store.async_store()
        try:
            with pytest.raises(StoreUnavailableError) as info:
                await astore.get(new_session_id())
            return info.value
        finally:
            await astore.close()

    return raised.value, asyncio.run(failing_get())


def once_available(call: Callable[[], T], what: str, deadline: float = 10.0) -> T:
    """``call()``, tried again while it raises StoreUnavailableError, for ``deadline`` s."""
    end = time.monotonic() + deadline
    while True:
        try:
            return call()
        except StoreUnavailableError:
            assert time.monotonic() < end, f"{what} within {deadline} s"
            time.sleep(0.1)
