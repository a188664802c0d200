"""Session ids: sessionkit issues 256 random bits as 43 URL-safe base64 characters.

Cookies and stores accept any id of the URL-safe alphabet from 8 to 128 characters, so that
ids made elsewhere (Django's 32-character keys, sessions imported from another system) work;
128 characters keep every store key and file name far below its limit.
"""

from __future__ import annotations

import re
import secrets

from .errors import ConfigurationError, InvalidSessionIdError, InvalidTTLError

MIN_ID_LENGTH = 8
MAX_ID_LENGTH = 128
_ID_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{MIN_ID_LENGTH},{MAX_ID_LENGTH}}}")
_match_id = _ID_SHAPE.fullmatch


def new_session_id() -> str:
    """Return a fresh session id."""
    return secrets.token_urlsafe(32)


# Ids found valid lately. A request checks its id several times (its cookie, the store's read
# and write), each time 3,000 instructions with the pattern against 200 for a set lookup.
_valid: set[str] = set()
_VALID_KEPT = 4096


def is_valid_session_id(sid: object) -> bool:
    """Tell whether ``sid`` is an id a store may hold: 8 to 128 URL-safe characters."""
    return type(sid) is str and (sid in _valid or _has_the_shape(sid))


def check_session_id(sid: str) -> str:
    """Return ``sid`` unchanged, or raise :class:`InvalidSessionIdError` if it is malformed.

    Stores call this before every write so that no id can become a path outside the store
    or a malformed key, whatever the caller passes.
    """
    if type(sid) is not str or (sid not in _valid and not _has_the_shape(sid)):
        raise InvalidSessionIdError()  # is_valid_session_id's test, without its call
    return sid


def _has_the_shape(sid: str) -> bool:
    if _match_id(sid) is None:
        return False
    if len(_valid) >= _VALID_KEPT:
        _valid.clear()
    _valid.add(sid)
    return True


def check_ttl(ttl: int) -> int:
    """Return ``ttl`` if it is a whole number of seconds of at least 1, else raise
    :class:`InvalidTTLError` (a ``ValueError``)."""
    if type(ttl) is not int or ttl < 1:
        raise InvalidTTLError(ttl)
    return ttl


MAX_USER_ID_LENGTH = 256


def check_user_id(user_id: str) -> str:
    """Return ``user_id`` if it can key a per-user index: a non-empty str of at most 256
    characters with no control characters; else raise :class:`~sessionkit.ConfigurationError`."""
    if (
        type(user_id) is not str
        or not 0 < len(user_id) <= MAX_USER_ID_LENGTH
        or not user_id.isprintable()
    ):
        raise ConfigurationError(
            f"a user id must be a printable str of 1 to {MAX_USER_ID_LENGTH} characters"
        )
    return user_id
