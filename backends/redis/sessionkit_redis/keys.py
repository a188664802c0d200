"""The keys of one store: ``prefix + id`` for a session, ``prefix + ":user:" + user id`` for
a user's index.

A session id is 8 to 128 characters of ``A-Z a-z 0-9 _ -``, so it never contains ``:``: an
index key can never be a session key of the same store, and ``count`` and ``clear``, which
only touch keys of these two shapes, leave every other key of the database alone even when
the prefix is empty.
"""

from __future__ import annotations

from collections.abc import Callable

from sessionkit.ids import MIN_ID_LENGTH, is_valid_session_id

_GLOB_SPECIAL = "\\*?[]"
# One character of a session id, as a SCAN pattern ("-" first: it is a literal there).
_ID_CHARACTER = "[-A-Za-z0-9_]"
INDEX_MARKER = ":user:"
SCAN_BATCH = 1000


def _glob_literal(text: str) -> str:
    return "".join("\\" + char if char in _GLOB_SPECIAL else char for char in text)


class KeySpace:
    """The keys one store owns under its prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        #: The key of a session id: the prefix's own ``__add__``, no Python call on the way.
        self.session: Callable[[str], str] = prefix.__add__
        self._raw_prefix = prefix.encode()
        literal = _glob_literal(prefix)
        #: SCAN pattern of session keys (and of a few others, which :meth:`owns` rejects).
        self.session_pattern = literal + _ID_CHARACTER * MIN_ID_LENGTH + "*"
        #: SCAN pattern of the users' index keys.
        self.index_pattern = literal + _glob_literal(INDEX_MARKER) + "*"

    def index(self, user_id: str) -> str:
        return self.prefix + INDEX_MARKER + user_id

    def owns(self, key: bytes) -> bool:
        """Tell whether ``key`` (as SCAN returns it) is a session key of this store."""
        if not key.startswith(self._raw_prefix):
            return False
        try:
            sid = key[len(self._raw_prefix) :].decode("ascii")
        except UnicodeDecodeError:
            return False
        return is_valid_session_id(sid)
