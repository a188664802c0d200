"""Session ids: 256 random bits from :mod:`secrets`, as 43 URL-safe base64 characters."""

from __future__ import annotations

import re
import secrets

from .errors import InvalidSessionIdError

_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_match_id = _ID_SHAPE.fullmatch


def new_session_id() -> str:
    """Return a fresh session id."""
    return secrets.token_urlsafe(32)


def is_valid_session_id(sid: object) -> bool:
    """Tell whether ``sid`` has the shape of an id made by :func:`new_session_id`."""
    return type(sid) is str and _match_id(sid) is not None


def check_session_id(sid: str) -> str:
    """Return ``sid`` unchanged, or raise :class:`InvalidSessionIdError` if it is malformed.

    Stores call this before every write so that no id can become a path outside the store
    or a malformed key, whatever the caller passes.
    """
    if type(sid) is not str or _match_id(sid) is None:
        raise InvalidSessionIdError()
    return sid


def check_ttl(ttl: int) -> int:
    """Return ``ttl`` if it is a whole number of seconds of at least 1, else raise ValueError."""
    if type(ttl) is not int or ttl < 1:
        raise ValueError(f"ttl must be an int of at least 1 second, got {ttl!r}")
    return ttl
