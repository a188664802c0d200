"""What a store holds for one session: a small header of metadata, then the serialised data.

::

    0x01 | created (u32) | last active (u32) | len(user id) (u16) | len(info) (u32)
         | user id (UTF-8) | info (serialised) | data (serialised)

Times are whole seconds since the epoch. The header lets the manager keep a session's
creation time (for ``absolute_timeout``), when it was last written, the user it is bound to
and what the application chose to record about it, in the same bytes and the same round trip
as the data; stores still see opaque bytes. Bytes that do not start with the version byte
are read as data alone, without metadata (sessions written before the header existed).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .protect import Protection, keep
from .store import new_record

_VERSION = 1
_HEADER = struct.Struct(">BIIHI")
_unpack_fixed = struct.Struct(">IIHI").unpack_from
_HEAD = _HEADER.size
#: The largest stored session whose bytes are kept to be recognised (see
#: :class:`SessionCodec`): above it, checking them costs little beside reading the session.
KNOWN_SIZE = 8192


class Meta(NamedTuple):
    """A session's metadata, as stored beside its data (immutable: changes make a new one)."""

    created: int = 0  #: seconds since the epoch; 0 while unknown
    active: int = 0  #: when the session was last written (or refreshed)
    user_id: str | None = None
    info: bytes = b""  #: the application's record, serialised (empty: none)


NO_META = Meta()


def encode(meta: Meta, data: bytes) -> bytes:
    """The bytes to store for ``data`` with ``meta``."""
    user_id, info = meta.user_id, meta.info
    user = user_id.encode() if user_id else b""
    header = _HEADER.pack(_VERSION, meta.created, meta.active, len(user), len(info))
    return b"".join((header, user, info, data))


def decode(raw: bytes) -> tuple[Meta, bytes]:
    """``(metadata, serialised data)`` from stored bytes; raises ValueError if malformed."""
    if not raw or raw[0] != _VERSION:
        return NO_META, raw
    if len(raw) < _HEAD:
        raise ValueError("truncated session header")
    created, active, user_length, info_length = _unpack_fixed(raw, 1)
    user_end = _HEAD + user_length
    info_end = user_end + info_length
    if info_end > len(raw):
        raise ValueError("truncated session header")
    user = raw[_HEAD:user_end].decode() if user_length else None
    meta: Meta = new_record(Meta, (created, active, user, raw[user_end:info_end]))
    return meta, raw[info_end:]


class SessionCodec:
    """Turns a session's metadata and serialised data into the bytes a store holds, and
    back: the header above, sealed by a :class:`~sessionkit.protect.Protection` if one is
    given. The manager and the Django engine share it.

    The bytes last packed or unpacked for a session (up to :data:`KNOWN_SIZE` of them, for
    the last :data:`~sessionkit.protect.CIPHERS_KEPT` sessions) are kept with what they
    hold: when the store gives back exactly those bytes, as it does for every request after
    the one that wrote them, they unpack by a comparison, without their signature or
    encryption being checked again (at 300 B, 1,500 instructions in place of 15,000). Only
    bytes that were sealed here or opened here are kept; a new secret makes a new codec.
    """

    def __init__(self, protection: Protection | None = None) -> None:
        self.protection = protection
        self._known: dict[str, tuple[bytes, Meta, bytes]] = {}

    def pack(self, sid: str, meta: Meta, data: bytes) -> bytes:
        if meta.user_id is None and not meta.info:  # the usual case: one concatenation
            raw = _HEADER.pack(_VERSION, meta.created, meta.active, 0, 0) + data
        else:
            if meta.user_id == "":  # stored as no user: kept as decoding would give it back
                meta = meta._replace(user_id=None)
            raw = encode(meta, data)
        if self.protection is not None:
            raw = self.protection.seal(sid, raw)
        if len(raw) <= KNOWN_SIZE:
            keep(self._known, sid, (raw, meta, data))
        return raw

    def unpack(self, sid: str, raw: bytes) -> tuple[Meta, bytes]:
        """``(metadata, serialised data)``; ValueError if the bytes are malformed or, when
        protected, fail to verify or decrypt (planted, moved from another id, tampered)."""
        known = self._known.get(sid)
        if known is not None and known[0] == raw:
            return known[1], known[2]
        plain = raw if self.protection is None else self.protection.open(sid, raw)
        meta, data = decode(plain)
        if len(raw) <= KNOWN_SIZE:
            keep(self._known, sid, (raw, meta, data))
        return meta, data
