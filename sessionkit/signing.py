"""Signing the session id carried by the cookie, with itsdangerous and key rotation.

The cookie value is ``<id>.<signature>`` in itsdangerous's format: HMAC-SHA256 under a key
that itsdangerous derives from the secret and the salt ``sessionkit.cookie``, base64url
without padding. Signing and verifying compute that HMAC (RFC 2104) from two SHA-256 states
primed once per key with the inner and outer padded key (:class:`PrimedHMAC`) and encode it
as ``Signer.sign`` does; verification compares the two encodings with the constant-time
:func:`hmac.compare_digest` (which is cheaper than decoding the client's base64). It accepts
every signature ``Signer.sign`` writes; it is stricter only in refusing the base64 variants
that differ in the unused low bits of the last character, which no signer produces. A value
that verified is remembered (:data:`VERIFIED_KEPT`): the next request with the same cookie
costs a dict lookup.

Why not a copy of an :func:`hmac.new` object, primed once as well: its ``copy`` and
``digest`` are Python methods around OpenSSL's context, 19,100 instructions a verification
against 13,600 here (callgrind), on every request.
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
MIN_SECRET_BYTES = 32
_SIGNATURE_LENGTH = 43  # 32 bytes of HMAC-SHA256 in unpadded base64url
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_BLOCK = 64  # SHA-256's block size in bytes
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))

#: Cookie values a signer verified lately, kept with what :meth:`CookieSigner.verify` gave:
#: a browser sends the same cookie with every request, and its HMAC costs 20,000 instructions
#: to check again (a lookup here: 1,000). Only values that verified are kept, so nothing is
#: remembered of a forged one; the table is emptied when full, and a signer is made anew when
#: the secrets change. A lookup compares a value with a kept one only when their keyed hashes
#: (``hash()``, salted per process) are equal, so its timing tells nothing of kept values.
VERIFIED_KEPT = 4096

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


def normalise_secrets(secret: Secrets | None, *, allow_short: bool) -> list[bytes]:
    """The secrets as bytes, newest first; raise :class:`ConfigurationError` if none is usable.

    :param allow_short: accept secrets shorter than :data:`MIN_SECRET_BYTES` bytes. A short
        secret can be guessed offline from a single signed cookie, so refuse them unless the
        caller opts in. Messages never include a secret.
    """
    if secret is None:
        raise ConfigurationError("a secret is required to sign session cookies")
    items = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    keys = [item.encode() if isinstance(item, str) else item for item in items]
    if not keys or not all(isinstance(key, bytes) and key for key in keys):
        raise ConfigurationError("secret must be a non-empty str or bytes, or a sequence of them")
    if not allow_short:
        for position, key in enumerate(keys, 1):
            if len(key) < MIN_SECRET_BYTES:
                which = "the secret" if len(keys) == 1 else f"secret number {position}"
                raise ConfigurationError(
                    f"{which} is shorter than {MIN_SECRET_BYTES} bytes: a secret needs at least "
                    f"{MIN_SECRET_BYTES} bytes of randomness, e.g. "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`; "
                    "pass allow_short_secret=True to accept a short one"
                )
    return keys


def _signer(secret: bytes, salt: bytes = SALT) -> Signer:
    return Signer(secret, salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)


class PrimedHMAC:
    """HMAC-SHA256 under one key (RFC 2104), its inner and outer SHA-256 states primed once.

    ``PrimedHMAC(key).digest(message) == hmac.digest(key, message, "sha256")`` for every key
    and message (tests/test_signing.py checks it).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _encode(digest: bytes) -> bytes:
    """``digest`` as itsdangerous writes it: base64url without padding."""
    return b2a_base64(digest, newline=False)[:_SIGNATURE_LENGTH].translate(_URLSAFE)


class CookieSigner:
    """Signs session ids with the first secret; verifies with any of them.

    ``secret`` is given newest first: put a new secret at the front, keep the old ones
    behind it until every cookie signed with them has expired, then drop them.
    (itsdangerous takes its list the other way round, oldest first.)

    :param allow_short: accept secrets shorter than 32 bytes (see :func:`normalise_secrets`).
    :param salt: signers of different salts never accept each other's signatures.
    """

    def __init__(
        self, secret: Secrets | None, *, allow_short: bool = True, salt: bytes = SALT
    ) -> None:
        keys = normalise_secrets(secret, allow_short=allow_short)
        self._macs = [PrimedHMAC(_signer(key, salt).derive_key()) for key in keys]
        self._verified: dict[str, tuple[str, bool]] = {}

    def sign(self, sid: str) -> str:
        """``Signer.sign``'s value, from the primed HMAC of the newest secret (itsdangerous
        derives its key again on every call: 60,800 instructions a signature, against
        16,800 here)."""
        signature = _encode(self._macs[0].digest(sid.encode("ascii")))
        return f"{sid}.{signature.decode('ascii')}"

    def verify(self, value: str) -> tuple[str, bool] | None:
        """``(session id, signed with the newest secret)``, or None if ``value`` is not valid.

        When the newest secret signed it, ``value`` is what :meth:`sign` would return, so the
        caller may send it back as it is.
        """
        known = self._verified.get(value)
        if known is not None:
            return known
        sid, dot, signature = value.rpartition(".")
        if (
            not dot
            or len(signature) != _SIGNATURE_LENGTH
            or not signature.isascii()
            or not is_valid_session_id(sid)
        ):
            return None
        given = signature.encode("ascii")
        message = sid.encode("ascii")
        for index, mac in enumerate(self._macs):
            if hmac.compare_digest(_encode(mac.digest(message)), given):
                verified = sid, index == 0
                if len(self._verified) >= VERIFIED_KEPT:
                    self._verified.clear()
                self._verified[value] = verified
                return verified
        return None
