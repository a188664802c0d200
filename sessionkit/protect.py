"""Protecting what the store holds, so that whoever can read or write the store can neither
read sessions (``encrypt``) nor plant one (``sign`` and ``encrypt``).

- ``sign``: a MAC over the session id and the stored bytes: keyed BLAKE2b-256 (RFC 7693's
  keyed mode, a PRF like HMAC, at a third of HMAC-SHA256's cost per byte in instructions);
  bytes moved from one id to another, changed, truncated or planted fail to verify.
- ``encrypt``: AES-256-GCM (from the ``cryptography`` package) under a key of the session's
  own (keyed BLAKE2b of the session id under the master key), with a random 96-bit nonce per
  write and the id as associated data. A key per session keeps the writes under one key far
  below the 2**32 that random 96-bit nonces allow, however busy the site.

The master keys derive from the manager's secrets with HKDF-SHA256 (RFC 5869), under contexts
apart from the cookie's, so one rotation list rotates both: the newest secret protects every
write, each secret still opens what it protected.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Literal, Protocol

from .errors import ConfigurationError

Mode = Literal["sign", "encrypt"]

_SIGNED = b"\x02"
_ENCRYPTED = b"\x03"
_MAC_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
SIGN_CONTEXT = b"sessionkit/store/sign/v1"
ENCRYPT_CONTEXT = b"sessionkit/store/encrypt/v1"


def hkdf_sha256(secret: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """HKDF with SHA-256 (RFC 5869): extract a key from ``secret``, expand it for ``info``."""
    key = hmac.digest(salt or bytes(32), secret, "sha256")
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.digest(key, block + info + bytes([counter]), "sha256")
        output += block
        counter += 1
    return output[:length]


class Protection(Protocol):
    """Seals the bytes stored for a session and opens them again."""

    def seal(self, sid: str, plain: bytes) -> bytes: ...

    def open(self, sid: str, sealed: bytes) -> bytes:
        """The plain bytes; ValueError if ``sealed`` is not what :meth:`seal` made for ``sid``
        with one of the secrets."""


def _keyed(secret: bytes, context: bytes) -> hashlib.blake2b:
    """A keyed BLAKE2b-256 under the master key HKDF derives from ``secret`` for ``context``:
    copied, then fed a message, it gives that message's MAC."""
    return hashlib.blake2b(key=hkdf_sha256(secret, context), digest_size=32)


class Signed:
    """A keyed BLAKE2b MAC over the session id and the data; see the module docstring."""

    def __init__(self, secrets: list[bytes]) -> None:
        self._macs = [_keyed(secret, SIGN_CONTEXT) for secret in secrets]

    def _mac(self, index: int, sid: str, plain: bytes) -> bytes:
        mac = self._macs[index].copy()
        mac.update(sid.encode())
        mac.update(b"\x00")  # ids never hold a NUL: the two parts cannot be confused
        mac.update(plain)
        return mac.digest()

    def seal(self, sid: str, plain: bytes) -> bytes:
        return b"".join((_SIGNED, self._mac(0, sid, plain), plain))

    def open(self, sid: str, sealed: bytes) -> bytes:
        if sealed[:1] != _SIGNED or len(sealed) < 1 + _MAC_SIZE:
            raise ValueError("the stored session is not signed")
        given, plain = sealed[1 : 1 + _MAC_SIZE], sealed[1 + _MAC_SIZE :]
        for index in range(len(self._macs)):
            if hmac.compare_digest(self._mac(index, sid, plain), given):
                return plain
        raise ValueError("the stored session's signature does not verify")


class Encrypted:
    """AES-256-GCM under a per-session key; see the module docstring."""

    def __init__(self, secrets: list[bytes]) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise ConfigurationError(
                "protect='encrypt' needs the cryptography package: "
                "pip install 'sessionkit[encrypt]'"
            ) from None
        self._aesgcm = AESGCM
        self._masters = [_keyed(secret, ENCRYPT_CONTEXT) for secret in secrets]

    def _cipher(self, index: int, sid: str) -> Any:
        derive = self._masters[index].copy()
        derive.update(sid.encode())
        return self._aesgcm(derive.digest())

    def seal(self, sid: str, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        sealed: bytes = self._cipher(0, sid).encrypt(nonce, plain, sid.encode())
        return b"".join((_ENCRYPTED, nonce, sealed))

    def open(self, sid: str, sealed: bytes) -> bytes:
        if sealed[:1] != _ENCRYPTED or len(sealed) < 1 + _NONCE_SIZE + _TAG_SIZE:
            raise ValueError("the stored session is not encrypted")
        nonce, body = sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :]
        for index in range(len(self._masters)):
            try:
                plain: bytes = self._cipher(index, sid).decrypt(nonce, body, sid.encode())
            except Exception:  # noqa: BLE001, S112 - cryptography's InvalidTag: try the next key
                continue
            return plain
        raise ValueError("the stored session does not decrypt")


def protection(mode: Mode | None, secrets: list[bytes]) -> Protection | None:
    """The protection a manager's ``protect`` option names."""
    if mode is None:
        return None
    if mode == "sign":
        return Signed(secrets)
    if mode == "encrypt":
        return Encrypted(secrets)
    raise ConfigurationError("protect must be 'sign', 'encrypt' or None")
