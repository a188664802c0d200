"""Signing the session id carried by the cookie, with itsdangerous and key rotation.

The cookie value is ``<id>.<signature>`` in itsdangerous's format: HMAC-SHA256 under a key
that itsdangerous derives from the secret and the salt ``sessionkit.cookie``, base64url
without padding. Signing goes through :class:`itsdangerous.Signer`. Verification, which every
request pays for, computes the same HMAC from SHA-256 states primed once per key with the inner
and outer pads (RFC 2104), encodes it as ``Signer.sign`` does and compares the two encodings
with the constant-time :func:`hmac.compare_digest`. That is a fraction of the cost of
``Signer.unsign`` (setting up an OpenSSL HMAC context per call costs more than the hashing,
and decoding the client's base64 more than encoding ours), and it accepts every signature
``Signer.sign`` writes; it is stricter only in refusing the base64 variants that differ in the
unused low bits of the last character, which no signer produces.
"""

from __future__ import annotations

import hashlib
import hmac
from binascii import b2a_base64
from collections.abc import Sequence

from itsdangerous import Signer

from .errors import ConfigurationError
from .ids import is_valid_session_id

SALT = b"sessionkit.cookie"
_SIGNATURE_LENGTH = 43  # 32 bytes of HMAC-SHA256 in unpadded base64url
_URLSAFE = bytes.maketrans(b"+/", b"-_")

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


def normalise_secrets(secret: Secrets | None) -> list[bytes]:
    """The secrets as bytes, newest first; raise :class:`ConfigurationError` if none is usable."""
    if secret is None:
        raise ConfigurationError("a secret is required to sign session cookies")
    items = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    keys = [item.encode() if isinstance(item, str) else item for item in items]
    if not keys or not all(isinstance(key, bytes) and key for key in keys):
        raise ConfigurationError("secret must be a non-empty str or bytes, or a sequence of them")
    return keys


def _signer(secret: bytes) -> Signer:
    return Signer(secret, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)


class _PrimedHMAC:
    """HMAC-SHA256 under one key, with the padded key hashed once instead of on every call."""

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # derived keys are 32 bytes, within SHA-256's block
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def signature(self, message: bytes) -> bytes:
        """The digest as itsdangerous writes it: base64url without padding."""
        return b2a_base64(self.digest(message), newline=False)[:_SIGNATURE_LENGTH].translate(
            _URLSAFE
        )


class CookieSigner:
    """Signs session ids with the first secret; verifies with any of them.

    ``secret`` is given newest first: put a new secret at the front, keep the old ones
    behind it until every cookie signed with them has expired, then drop them.
    (itsdangerous takes its list the other way round, oldest first.)
    """

    def __init__(self, secret: Secrets | None) -> None:
        secrets = normalise_secrets(secret)
        self._signer = _signer(secrets[0])
        self._macs = [_PrimedHMAC(_signer(item).derive_key()) for item in secrets]

    def sign(self, sid: str) -> str:
        return self._signer.sign(sid.encode("ascii")).decode("ascii")

    def unsign(self, value: str) -> str | None:
        """The session id in ``value``, or None if the signature or the id's shape is wrong."""
        verified = self.verify(value)
        return verified[0] if verified else None

    def verify(self, value: str) -> tuple[str, bool] | None:
        """``(session id, signed with the newest secret)``, or None if ``value`` is not valid.

        When the newest secret signed it, ``value`` is what :meth:`sign` would return, so the
        caller may send it back as it is.
        """
        sid, dot, signature = value.rpartition(".")
        if not dot or len(signature) != _SIGNATURE_LENGTH or not is_valid_session_id(sid):
            return None
        given = signature.encode()
        message = sid.encode("ascii")
        for index, mac in enumerate(self._macs):
            if hmac.compare_digest(mac.signature(message), given):
                return sid, index == 0
        return None
