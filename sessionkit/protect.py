"""Protecting what the store holds, so that whoever can read or write the store can neither
read sessions (``encrypt``) nor plant one (``sign`` and ``encrypt``).

Both modes use AES-256-GCM (from the ``cryptography`` package) under a key of the session's
own: keyed BLAKE2b of the session id under a master key. A key per session binds the bytes to
their id (bytes moved to another id do not open) and keeps the writes under one key far below
the 2**32 that random 96-bit nonces allow, however busy the site.

- ``sign``: GCM's tag over the stored bytes, given as associated data with nothing to encrypt
  (GMAC), under a random 96-bit nonce per write. Bytes changed, truncated, planted or moved
  from one id to another fail to verify. GHASH runs on the CPU's carry-less multiply: at 4 KB
  the tag costs a fifth of a keyed BLAKE2b's instructions, at 60 KB a sixteenth of its time.
- ``encrypt``: the same cipher encrypting the bytes, with the id as associated data.

The master keys derive from the manager's secrets with HKDF-SHA256 (RFC 5869), under contexts
apart from the cookie's, so one rotation list rotates both: the newest secret protects every
write, each secret still opens what it protected. A session's cipher is kept for its next use
(a request opens its session, then seals it again) among the last :data:`CIPHERS_KEPT`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from typing import Any, Literal, Protocol

from .errors import ConfigurationError
from .store import in_process

Mode = Literal["sign", "encrypt"]

_SIGNED = b"\x02"
_ENCRYPTED = b"\x03"
_NONCE_SIZE = 12
_TAG_SIZE = 16
_SIGNED_BYTE = _SIGNED[0]
_NONCE_END = 1 + _NONCE_SIZE
_TAG_END = _NONCE_END + _TAG_SIZE  # a signed entry: tag byte, nonce, tag, then the bytes
SIGN_CONTEXT = b"sessionkit/store/sign/v2"
ENCRYPT_CONTEXT = b"sessionkit/store/encrypt/v1"
#: Per-session ciphers kept, per master key, for the same session's next seal or open (and
#: sessions' bytes known to be authentic, see :class:`~sessionkit.codec.SessionCodec`).
CIPHERS_KEPT = 1024


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


class _SessionKeys:
    """AES-256-GCM ciphers under per-session keys, for each secret's master key."""

    def __init__(self, secrets: list[bytes], context: bytes, mode: str) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise ConfigurationError(
                f"protect={mode!r} needs the cryptography package (a dependency of "
                "sessionkit): pip install cryptography"
            ) from None
        self._aesgcm = AESGCM
        self._masters = [
            hashlib.blake2b(key=hkdf_sha256(secret, context), digest_size=32) for secret in secrets
        ]
        self._kept: list[dict[str, Any]] = [{} for _ in secrets]
        self.count = len(secrets)

    def cipher(self, index: int, sid: str) -> Any:
        """The cipher of session ``sid`` under secret number ``index`` (0: the newest)."""
        kept = self._kept[index]
        cipher = kept.get(sid)
        if cipher is None:
            derive = self._masters[index].copy()
            derive.update(sid.encode())
            cipher = self._aesgcm(derive.digest())
            keep(kept, sid, cipher)
        return cipher

    def seal(self, sid: str, plain: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """``(nonce, ciphertext and tag)`` of ``plain`` under the newest secret's key."""
        nonce = os.urandom(_NONCE_SIZE)
        return nonce, self.cipher(0, sid).encrypt(nonce, plain, aad)

    def open(self, sid: str, nonce: bytes, sealed: bytes, aad: bytes) -> bytes | None:
        """The plain bytes of what :meth:`seal` made under any secret's key; None if none
        opens it."""
        for index in range(self.count):
            try:
                plain: bytes = self.cipher(index, sid).decrypt(nonce, sealed, aad)
            except Exception:  # noqa: BLE001, S112 - cryptography's InvalidTag: try the next key
                continue
            return plain
        return None


class Signed:
    """GMAC under a per-session key; see the module docstring."""

    def __init__(self, secrets: list[bytes]) -> None:
        self._keys = _SessionKeys(secrets, SIGN_CONTEXT, "sign")

    def seal(self, sid: str, plain: bytes) -> bytes:
        nonce, tag = self._keys.seal(sid, b"", plain)
        return b"".join((_SIGNED, nonce, tag, plain))

    def open(self, sid: str, sealed: bytes) -> bytes:
        if len(sealed) < _TAG_END or sealed[0] != _SIGNED_BYTE:
            raise ValueError("the stored session is not signed")
        plain = sealed[_TAG_END:]
        tag = sealed[_NONCE_END:_TAG_END]
        if self._keys.open(sid, sealed[1:_NONCE_END], tag, plain) is None:
            raise ValueError("the stored session's signature does not verify")
        return plain


class Encrypted:
    """AES-256-GCM under a per-session key; see the module docstring."""

    def __init__(self, secrets: list[bytes]) -> None:
        self._keys = _SessionKeys(secrets, ENCRYPT_CONTEXT, "encrypt")

    def seal(self, sid: str, plain: bytes) -> bytes:
        nonce, sealed = self._keys.seal(sid, plain, sid.encode())
        return b"".join((_ENCRYPTED, nonce, sealed))

    def open(self, sid: str, sealed: bytes) -> bytes:
        if sealed[:1] != _ENCRYPTED or len(sealed) < _TAG_END:
            raise ValueError("the stored session is not encrypted")
        nonce, body = sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :]
        plain = self._keys.open(sid, nonce, body, sid.encode())
        if plain is None:
            raise ValueError("the stored session does not decrypt")
        return plain


def keep(kept: dict[str, Any], sid: str, value: Any) -> None:
    """Keep ``value`` for ``sid`` among the last :data:`CIPHERS_KEPT` sessions' (the oldest
    goes; another thread may have taken it, or be adding one, in between)."""
    if len(kept) < CIPHERS_KEPT or sid in kept:  # the usual case, without the loop
        kept[sid] = value
        return
    for _ in range(3):  # another thread's change can make one eviction fail: try again
        if len(kept) < CIPHERS_KEPT or sid in kept:
            break
        with contextlib.suppress(StopIteration, RuntimeError, KeyError):
            del kept[next(iter(kept))]
    kept[sid] = value


def check_mode(mode: object) -> Mode | None:
    """``mode`` if it names a protection (or none); ConfigurationError if not."""
    if mode is None or mode == "sign" or mode == "encrypt":
        return mode
    raise ConfigurationError("protect must be 'sign', 'encrypt' or None")


def effective_mode(mode: Mode | None, store: object) -> Mode | None:
    """The protection a store gets for ``mode`` (checked with :func:`check_mode`): none for
    one that keeps its sessions in this process's memory (:func:`~sessionkit.store.in_process`).
    Only this process can read or write those, and it holds the secret: sealing them would
    stop nobody, and costs a MAC per write."""
    return None if in_process(store) else mode


def protection(mode: Mode | None, secrets: list[bytes]) -> Protection | None:
    """The protection a manager's ``protect`` option names."""
    mode = check_mode(mode)
    if mode is None:
        return None
    return Signed(secrets) if mode == "sign" else Encrypted(secrets)
