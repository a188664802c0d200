"""A user's sessions, read and ended through the manager: awaited on the ASGI server's event
loop, called directly under WSGI. The views await either, so they are written once."""

from __future__ import annotations

from typing import Protocol

from ..manager import SessionManager
from ..session import Session
from ..users import SessionInfo


class UserSessions(Protocol):
    async def listed(self, user_id: str) -> list[SessionInfo]:
        """The user's live sessions, most recently active first."""

    async def end_others(self, user_id: str, keep: Session) -> int:
        """End every session of the user but ``keep``; how many were ended."""


class AsyncUserSessions:
    """For code on an event loop: the manager's async calls."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    async def listed(self, user_id: str) -> list[SessionInfo]:
        return await self.manager.auser_sessions(user_id)

    async def end_others(self, user_id: str, keep: Session) -> int:
        return await self.manager.adestroy_user_sessions(user_id, keep=keep)


class BlockingUserSessions:
    """For WSGI: the manager's synchronous calls, so awaiting them never suspends."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    async def listed(self, user_id: str) -> list[SessionInfo]:
        return self.manager.user_sessions(user_id)

    async def end_others(self, user_id: str, keep: Session) -> int:
        return self.manager.destroy_user_sessions(user_id, keep=keep)
