"""What several Redis test modules share: opening a store by URL, and the errors of a store
that cannot reach its server, seen from sync and async code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sessionkit_redis import RedisStore

import sessionkit
from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id

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
