"""Signing the session id carried by the cookie, with itsdangerous and key rotation."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer
from itsdangerous.signer import HMACAlgorithm

from .errors import ConfigurationError
from .ids import is_valid_session_id

SALT = b"sessionkit.cookie"

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


class _SHA256(HMACAlgorithm):
    """HMAC-SHA256 computed in one call of the C implementation; verification stays
    itsdangerous's constant-time comparison."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, "sha256")


class _CachedKeySigner(Signer):
    """A :class:`Signer` that derives each key once, not on every sign and verify."""

    def __init__(self, secret_keys: list[bytes]) -> None:
        super().__init__(
            secret_keys,
            salt=SALT,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
            algorithm=_SHA256(),
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
        keys = normalise_secrets(secret)
        self._current = _CachedKeySigner(keys[:1])
        self._older = _CachedKeySigner(list(reversed(keys[1:]))) if len(keys) > 1 else None

    def sign(self, sid: str) -> str:
        return self._current.sign(sid.encode("ascii")).decode("ascii")

    def unsign(self, value: str) -> str | None:
        """The session id in ``value``, or None if the signature or the id's shape is wrong."""
        verified = self.verify(value)
        return verified[0] if verified else None

    def verify(self, value: str) -> tuple[str, bool] | None:
        """``(session id, signed with the newest secret)``, or None if ``value`` is not valid.

        When the newest secret signed it, ``value`` is what :meth:`sign` would return, so the
        caller may send it back as it is.
        """
        try:
            raw = value.encode("ascii")
        except UnicodeError:
            return None
        current = True
        try:
            sid = self._current.unsign(raw).decode("ascii")
        except BadSignature:
            if self._older is None:
                return None
            try:
                sid = self._older.unsign(raw).decode("ascii")
            except BadSignature:
                return None
            current = False
        return (sid, current) if is_valid_session_id(sid) else None
