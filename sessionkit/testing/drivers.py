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


class _EventLoopThread:
    """An event loop running in a daemon thread, for calls made from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncFacade:
    """An async store driven from synchronous code: its calls run on an event loop of its
    own in a background thread, so several threads may call it at once. Made by
    :func:`facade_for`, which adds the optional methods the async store has."""

    def __init__(self, runner: _EventLoopThread, twin: AsyncStore) -> None:
        self._runner = runner
        self.twin = twin

    def get(self, sid: str) -> bytes | None:
        return self._runner.run(self.twin.get(sid))

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        self._runner.run(self.twin.set(sid, data, ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._runner.run(self.twin.add(sid, data, ttl))

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._runner.run(self.twin.replace(sid, data, ttl))

    def delete(self, sid: str) -> bool:
        return self._runner.run(self.twin.delete(sid))

    def touch(self, sid: str, ttl: int) -> bool:
        return self._runner.run(self.twin.touch(sid, ttl))

    def close(self) -> None:
        """Close the twin, then stop and close the loop."""
        try:
            self._runner.run(self.twin.close())
        finally:
            self._runner.stop()


class _Versions(SyncFacade):
    def get_versioned(self, sid: str) -> Entry | None:
        return self._runner.run(cast(AsyncSupportsVersions, self.twin).get_versioned(sid))

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        twin = cast(AsyncSupportsVersions, self.twin)
        return self._runner.run(twin.replace_versioned(sid, data, ttl, version))


class _UserIndex(SyncFacade):
    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        self._runner.run(cast(AsyncSupportsUserIndex, self.twin).bind_user(user_id, sid, ttl))

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return self._runner.run(cast(AsyncSupportsUserIndex, self.twin).user_sessions(user_id))

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        twin = cast(AsyncSupportsUserIndex, self.twin)
        return self._runner.run(twin.delete_user_sessions(user_id, keep))


class _VersionsAndUserIndex(_Versions, _UserIndex):
    pass


def facade_for(make: Callable[[], AsyncStore]) -> SyncFacade:
    """A :class:`SyncFacade` over the async store ``make`` returns (called on the facade's
    event loop, since some async clients belong to the loop they are made or first used on),
    with the optional capabilities that store has and no others."""
    runner = _EventLoopThread()

    async def made() -> AsyncStore:
        return make()

    twin = runner.run(made())
    versions = isinstance(twin, AsyncSupportsVersions)
    index = isinstance(twin, AsyncSupportsUserIndex)
    kind = {
        (False, False): SyncFacade,
        (True, False): _Versions,
        (False, True): _UserIndex,
        (True, True): _VersionsAndUserIndex,
    }[versions, index]
    return kind(runner, twin)
