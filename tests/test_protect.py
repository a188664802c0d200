"""Protection of what the store holds: HKDF, signing and encryption (every store runs the
planted-session cases through the contract suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionkit import SessionManager
from sessionkit.codec import KNOWN_SIZE, Meta, SessionCodec
from sessionkit.errors import ConfigurationError
from sessionkit.protect import (
    CIPHERS_KEPT,
    Encrypted,
    Mode,
    Signed,
    _SessionKeys,
    hkdf_sha256,
    protection,
)
from sessionkit.stores.file import FileStore
from sessionkit.stores.memory import MemoryStore

SECRET = b"a-secret-for-the-protection-tests-0123"


def test_hkdf_matches_rfc_5869_test_case_1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = hkdf_sha256(ikm, info, 42, salt)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


@pytest.mark.parametrize("kind", [Signed, Encrypted])
def test_sealed_bytes_open_only_for_their_id_and_keys(kind: type[Signed | Encrypted]) -> None:
    sid, other = "a" * 43, "b" * 43
    sealed = kind([SECRET]).seal(sid, b"payload")
    assert kind([SECRET]).open(sid, sealed) == b"payload"
    assert kind([b"newer-" + SECRET, SECRET]).open(sid, sealed) == b"payload"
    for wrong in (
        lambda: kind([SECRET]).open(other, sealed),
        lambda: kind([b"another-" + SECRET]).open(sid, sealed),
        lambda: kind([SECRET]).open(sid, sealed[:-1]),
        lambda: kind([SECRET]).open(sid, b""),
        lambda: kind([SECRET]).open(sid, b"payload"),
    ):
        with pytest.raises(ValueError):
            wrong()


def test_encryption_hides_the_data_and_never_repeats_itself() -> None:
    sid = "a" * 43
    box = Encrypted([SECRET])
    first, second = box.seal(sid, b"card=4111"), box.seal(sid, b"card=4111")
    assert b"4111" not in first
    assert first != second


@pytest.mark.parametrize("kind", [Signed, Encrypted])
def test_a_session_cipher_is_kept_for_its_next_use_and_the_kept_are_bounded(
    kind: type[Signed | Encrypted],
) -> None:
    box = kind([SECRET])
    sids = [f"{n:043d}" for n in range(CIPHERS_KEPT + 10)]
    sealed = {sid: box.seal(sid, sid.encode()) for sid in sids}
    assert len(box._keys._kept[0]) == CIPHERS_KEPT  # the oldest ten were let go
    for sid in reversed(sids):  # kept or derived again, each opens its own bytes
        assert box.open(sid, sealed[sid]) == sid.encode()
    assert len(box._keys._kept[0]) == CIPHERS_KEPT
    with pytest.raises(ValueError):
        box.open(sids[1], sealed[sids[0]])  # a kept cipher never opens another id's bytes


def test_signing_leaves_the_bytes_readable_and_never_repeats_itself() -> None:
    sid = "a" * 43
    box = Signed([SECRET])
    first, second = box.seal(sid, b"card=4111"), box.seal(sid, b"card=4111")
    assert first.endswith(b"card=4111")
    assert first != second  # a fresh nonce per write


def test_the_sign_and_encrypt_keys_differ_from_the_cookie_key() -> None:
    manager = SessionManager(MemoryStore(), SECRET.decode())
    sid = "a" * 43
    cookie_signature = manager.signer.sign(sid).rpartition(".")[2]
    sealed = Signed([SECRET]).seal(sid, b"")
    assert cookie_signature.encode() not in sealed


def test_an_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        protection("rot13", [SECRET])  # type: ignore[arg-type]


def test_unprotected_sessions_can_be_chosen(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    manager = SessionManager(store, SECRET.decode(), protect=None)
    session = manager.open(None)
    session["user"] = "ann"
    manager.commit(session)
    assert store.get(session.id).endswith(b'{"user":"ann"}')  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["sign", "encrypt"])
def test_a_store_in_this_process_holds_sessions_unprotected(mode: Mode, tmp_path: Path) -> None:
    """Only this process reaches a memory store, and it holds the secret: a seal would stop
    nobody. A store outside the process keeps the protection asked for."""
    memory = SessionManager("memory://", SECRET.decode(), protect=mode)
    on_disk = SessionManager(f"file://{tmp_path}", SECRET.decode(), protect=mode)
    assert (memory.protect, on_disk.protect) == (None, mode)
    for manager in (memory, on_disk):
        session = manager.open(None)
        session["user"] = "ann"
        cookie = manager.commit(session)
        raw = manager.store.get(session.id)
        assert raw is not None
        assert (b'"user":"ann"' in raw) is (manager is memory or mode == "sign")
        sealed_as = {"sign": b"\x02", "encrypt": b"\x03"}[mode]  # the mode's first byte
        assert raw[:1] == (b"\x01" if manager is memory else sealed_as)  # \x01: the header
        assert cookie is not None
        assert manager.open(cookie.split(";")[0])["user"] == "ann"
    assert memory.loads_stored == memory.serializer.loads_trusted  # only this process wrote them
    with pytest.raises(ConfigurationError, match="protect must be"):
        SessionManager("memory://", SECRET.decode(), protect="rot13")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [Signed, Encrypted])
def test_bytes_a_codec_sealed_or_opened_unpack_again_without_their_check(
    kind: type[Signed | Encrypted], monkeypatch: pytest.MonkeyPatch
) -> None:
    sid, other = "a" * 43, "b" * 43
    codec = SessionCodec(kind([SECRET]))
    meta = Meta(1, 2, "ann", b"")
    sealed = codec.pack(sid, meta, b"payload")
    theirs = SessionCodec(kind([SECRET])).pack(other, Meta(3, 4), b"theirs")
    checked: list[str] = []
    open_tag = _SessionKeys.open

    def counted(self: _SessionKeys, sid: str, *args: bytes) -> bytes | None:
        checked.append(sid)
        return open_tag(self, sid, *args)

    monkeypatch.setattr(_SessionKeys, "open", counted)
    assert codec.unpack(sid, sealed) == codec.unpack(sid, bytes(sealed)) == (meta, b"payload")
    assert codec.unpack(other, theirs) == codec.unpack(other, theirs) == (Meta(3, 4), b"theirs")
    assert checked == [other]  # its own seal known; the other opened once, then known
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for wrong in (lambda: codec.unpack(sid, tampered), lambda: codec.unpack(other, sealed)):
        with pytest.raises(ValueError):
            wrong()
    assert checked == [other, sid, other]  # neither taken for what was known
    assert codec.unpack(sid, sealed) == (meta, b"payload")  # a failure forgets nothing known


def test_what_a_codec_kept_equals_what_decoding_gives() -> None:
    codec = SessionCodec(Signed([SECRET]))
    sid = "a" * 43
    packed = codec.pack(sid, Meta(1, 2, "", b""), b"x")  # an empty user id is no user
    assert codec.unpack(sid, packed) == SessionCodec(Signed([SECRET])).unpack(sid, packed)
    assert codec.unpack(sid, packed)[0].user_id is None


def test_only_small_sessions_are_known_and_only_so_many() -> None:
    codec = SessionCodec(Signed([SECRET]))
    codec.pack("a" * 43, Meta(), bytes(KNOWN_SIZE))
    assert "a" * 43 not in codec._known
    for n in range(CIPHERS_KEPT + 10):
        codec.pack(f"{n:043d}", Meta(), b"x")
    assert len(codec._known) == CIPHERS_KEPT
