"""Session keys: the store's prefix followed by the session id."""

from __future__ import annotations

from sessionkit.ids import is_valid_session_id

_GLOB_SPECIAL = "\\*?[]"
_ID_LENGTH = 43
SCAN_BATCH = 1000


class KeySpace:
    """The keys one store owns: ``prefix + id`` where the id has the generated shape.

    ``count`` and ``clear`` only ever touch keys of this shape, so a store with an empty or
    short prefix leaves every other key in the database alone.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._raw_prefix = prefix.encode()
        escaped = "".join("\\" + char if char in _GLOB_SPECIAL else char for char in prefix)
        self.pattern = escaped + "?" * _ID_LENGTH

    def owns(self, key: bytes) -> bool:
        """Tell whether ``key`` (as SCAN returns it) is a session key of this store."""
        if not key.startswith(self._raw_prefix):
            return False
        try:
            sid = key[len(self._raw_prefix) :].decode("ascii")
        except UnicodeDecodeError:
            return False
        return is_valid_session_id(sid)
