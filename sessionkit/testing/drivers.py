"""Driving stores from test code: threads that start together, and an async twin behind a
synchronous face so that the whole contract runs against it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from ..store import (
    AsyncStore,
    AsyncSupportsUserIndex,
    AsyncSupportsVersions,
    Entry,
    Swap,
    Version,
)

T = TypeVar("T")


def run_threads(count: int, target: Callable[[int], object]) -> None:
    """Run ``target(i)`` in ``count`` threads that start together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class SyncFacade:
    """An async store driven from synchronous code: its calls run on an event loop of its
    own in a background thread, so several threads may call it at once.

    :param make: makes the async store; called on that event loop, since some async clients
        belong to the loop they are made or first used on.
    """

    def __init__(self, make: Callable[[], AsyncStore]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def made() -> AsyncStore:
            return make()

        self.twin: AsyncStore = self._run(made())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def get(self, sid: str) -> bytes | None:
        return self._run(self.twin.get(sid))

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        self._run(self.twin.set(sid, data, ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._run(self.twin.add(sid, data, ttl))

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._run(self.twin.replace(sid, data, ttl))

    def delete(self, sid: str) -> bool:
        return self._run(self.twin.delete(sid))

    def touch(self, sid: str, ttl: int) -> bool:
        return self._run(self.twin.touch(sid, ttl))

    def get_versioned(self, sid: str) -> Entry | None:
        return self._run(cast(AsyncSupportsVersions, self.twin).get_versioned(sid))

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        twin = cast(AsyncSupportsVersions, self.twin)
        return self._run(twin.replace_versioned(sid, data, ttl, version))

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        self._run(self._index.bind_user(user_id, sid, ttl))

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return self._run(self._index.user_sessions(user_id))

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        return self._run(self._index.delete_user_sessions(user_id, keep))

    @property
    def _index(self) -> AsyncSupportsUserIndex:
        return cast(AsyncSupportsUserIndex, self.twin)

    def close(self) -> None:
        """Close the twin, then stop and close the loop."""
        try:
            self._run(self.twin.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
