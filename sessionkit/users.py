"""What a listing of a user's sessions shows of each one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

EPOCH = datetime.fromtimestamp(0, timezone.utc)


def when(seconds: int) -> datetime | None:
    """A stored time (whole seconds since the epoch; 0 for unknown) as an aware datetime."""
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None


@dataclass(frozen=True)
class SessionInfo:
    """One of a user's live sessions, as :meth:`SessionManager.user_sessions` lists it.

    ``id`` is the session id: a bearer credential, to use on the server (e.g. to end that
    session with :meth:`SessionManager.destroy_user_sessions`'s ``keep`` or to mark the
    current one), never to send to a browser; show ``id_hint`` instead.
    """

    id: str = field(repr=False)
    created: datetime | None
    last_active: datetime | None
    info: dict[str, Any]

    @property
    def id_hint(self) -> str:
        """The first 6 characters of the id: enough to tell sessions apart on a page."""
        return self.id[:6]
