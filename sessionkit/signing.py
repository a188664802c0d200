"""Signing the session id carried by the cookie, with itsdangerous and key rotation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer

from .errors import ConfigurationError
from .ids import is_valid_session_id

SALT = b"sessionkit.cookie"

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


class _CachedKeySigner(Signer):
    """A :class:`Signer` that derives each key once, not on every sign and verify."""

    def __init__(self, secret_keys: list[bytes]) -> None:
        super().__init__(
            secret_keys, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256
        )
        self._derived = {key: super(_CachedKeySigner, self).derive_key(key) for key in secret_keys}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_key if secret_key is None else secret_key
        key = key.encode() if isinstance(key, str) else key
        return self._derived.get(key) or super().derive_key(key)


def normalise_secrets(secret: Secrets | None) -> list[bytes]:
    """The secrets as bytes, newest first; raise :class:`ConfigurationError` if none is usable."""
    if secret is None:
        raise ConfigurationError("a secret is required to sign session cookies")
    items = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    keys = [item.encode() if isinstance(item, str) else item for item in items]
    if not keys or not all(isinstance(key, bytes) and key for key in keys):
        raise ConfigurationError("secret must be a non-empty str or bytes, or a sequence of them")
    return keys


class CookieSigner:
    """Signs session ids with the first secret; verifies with any of them.

    ``secrets`` are given newest first: put a new secret at the front, keep the old ones
    behind it until every cookie signed with them has expired, then drop them.
    (itsdangerous takes its list the other way round, oldest first; this class reverses it.)
    """

    def __init__(self, secret: Secrets | None) -> None:
        self._signer = _CachedKeySigner(list(reversed(normalise_secrets(secret))))

    def sign(self, sid: str) -> str:
        return self._signer.sign(sid.encode("ascii")).decode("ascii")

    def unsign(self, value: str) -> str | None:
        """The session id in ``value``, or None if the signature or the id's shape is wrong."""
        try:
            sid = self._signer.unsign(value.encode("ascii")).decode("ascii")
        except (BadSignature, UnicodeError):
            return None
        return sid if is_valid_session_id(sid) else None
