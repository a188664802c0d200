"""The cookie signer: itsdangerous's format, key rotation, strict verification."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer

from sessionkit import SessionManager
from sessionkit.errors import ConfigurationError
from sessionkit.ids import new_session_id
from sessionkit.signing import (
    SALT,
    VERIFIED_KEPT,
    CookieSigner,
    PrimedHMAC,
    normalise_secrets,
)


def itsdangerous_signer(*secrets_oldest_first: str) -> Signer:
    return Signer(
        list(secrets_oldest_first), salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256
    )


@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_the_primed_hmac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    """Keys shorter, as long as and longer than a SHA-256 block; one object, reused."""
    mac = PrimedHMAC(key)
    expected = hmac.digest(key, message, "sha256")
    assert mac.digest(message) == expected
    assert mac.digest(message) == expected  # its primed states are copied, never fed


def test_signatures_are_itsdangerous_signatures() -> None:
    sid = new_session_id()
    value = CookieSigner(["new", "old"]).sign(sid)
    assert itsdangerous_signer("old", "new").unsign(value.encode()) == sid.encode()
    assert value == itsdangerous_signer("new").sign(sid.encode()).decode()


def test_verifies_what_itsdangerous_signed_with_any_secret() -> None:
    sid = new_session_id()
    signer = CookieSigner(["new", "older", "oldest"])
    assert signer.verify(itsdangerous_signer("new").sign(sid.encode()).decode()) == (sid, True)
    for old in ("older", "oldest"):
        assert signer.verify(itsdangerous_signer(old).sign(sid.encode()).decode()) == (sid, False)
    assert signer.verify(itsdangerous_signer("stranger").sign(sid.encode()).decode()) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v.replace(".", "!"),
        lambda v: v + "A",
        lambda v: v[:-1],
        lambda v: v[:-10] + "*" + v[-9:],
        lambda v: v[:-10] + "é" + v[-9:],
        lambda v: v.split(".")[0],
        lambda v: "." + v.split(".")[1],
        lambda v: "x" + v,
    ],
)
def test_malformed_values_are_rejected(mangle: object) -> None:
    signer = CookieSigner("secret")
    value = signer.sign(new_session_id())
    assert signer.verify(mangle(value)) is None  # type: ignore[operator]


@given(st.text(max_size=120))
def test_arbitrary_text_never_verifies_or_raises(text: str) -> None:
    assert CookieSigner("secret").verify(text) is None


@pytest.mark.parametrize("secret", [None, "", b"", [], ["ok", ""], [1]])
def test_unusable_secrets_are_configuration_errors(secret: object) -> None:
    with pytest.raises(ConfigurationError):
        CookieSigner(secret)  # type: ignore[arg-type]


@given(st.binary(min_size=1, max_size=100))
def test_verifies_what_itsdangerous_signed_under_any_secret(secret: bytes) -> None:
    sid = new_session_id()
    signed = Signer(secret, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)
    value = signed.sign(sid.encode()).decode()
    assert CookieSigner(secret).verify(value) == (sid, True)
    assert CookieSigner([secret + b"!", secret]).verify(value) == (sid, False)


@pytest.mark.parametrize("odd", ["\ud800", "é", "\x00", "\u2028", "\U0001f600"])
def test_a_signature_with_a_character_outside_ascii_is_refused(odd: str) -> None:
    signer = CookieSigner("secret")
    value = signer.sign(new_session_id())
    for at in (-1, -20, -43):
        mangled = value[:at] + odd + (value[at + 1 :] if at != -1 else "")
        assert len(mangled) == len(value)
        assert signer.verify(mangled) is None


def test_a_surrogate_in_the_signature_gives_a_fresh_session() -> None:
    manager = SessionManager("memory://", secret="secret-0123456789abcdefghijklmnopqrstuv")
    session = manager.open(None)
    session["user"] = "ann"
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    cookie = set_cookie.split(";")[0]
    reopened = manager.open(cookie[:-1] + "\udc80")
    assert reopened.is_new
    assert reopened.id != session.id
    assert dict(reopened) == {}


STRONG = "0123456789abcdef0123456789abcdef"  # 32 bytes


@pytest.mark.parametrize(
    "secret",
    ["Q", b"hunter2", "k" * 31, [STRONG, "old-short-one"], ["é" * 15, STRONG]],
)
def test_short_secrets_are_refused_when_not_allowed_without_echoing_them(
    secret: str | bytes | list[str],
) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes of randomness") as caught:
        CookieSigner(secret, allow_short=False)
    message = str(caught.value)
    assert "secrets.token_urlsafe(32)" in message
    assert "allow_short_secret=True" in message
    for item in [secret] if isinstance(secret, (str, bytes)) else secret:
        text = item.decode() if isinstance(item, bytes) else item
        if text != STRONG:
            assert text not in message
    with pytest.raises(ConfigurationError):
        normalise_secrets(secret, allow_short=False)


def test_secrets_of_32_bytes_and_more_pass_and_short_ones_pass_when_allowed() -> None:
    assert normalise_secrets([STRONG, b"\xff" * 32], allow_short=False) == [
        STRONG.encode(),
        b"\xff" * 32,
    ]
    assert normalise_secrets("é" * 16, allow_short=False) == ["é".encode() * 16]  # 32 bytes
    assert CookieSigner("x").verify(CookieSigner("x", allow_short=True).sign(new_session_id()))


def test_only_the_encoding_signers_write_is_accepted() -> None:
    """43 base64 characters carry 258 bits for a 256-bit digest: changing the two spare bits
    of the last character gives a value that decodes to the same digest. Signers never write
    it, and verification refuses it."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    signer = CookieSigner("secret")
    value = signer.sign(new_session_id())
    variant = value[:-1] + alphabet[alphabet.index(value[-1]) ^ 1]
    assert itsdangerous_signer("secret").validate(variant.encode())  # the same digest
    assert signer.verify(value) is not None
    assert signer.verify(variant) is None


def test_a_value_that_verified_is_not_checked_again_and_a_forged_one_always_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = CookieSigner("k" * 32)
    value = signer.sign(new_session_id())
    forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    computed: list[bytes] = []
    digest = PrimedHMAC.digest

    def counted(self: PrimedHMAC, message: bytes) -> bytes:
        computed.append(message)
        return digest(self, message)

    monkeypatch.setattr(PrimedHMAC, "digest", counted)
    assert signer.verify(value) == signer.verify(value) == (value.rpartition(".")[0], True)
    assert len(computed) == 1
    assert signer.verify(forged) is None
    assert signer.verify(forged) is None
    assert len(computed) == 3  # a value that did not verify is checked every time


def test_the_values_kept_are_bounded() -> None:
    signer = CookieSigner("k" * 32)
    values = [signer.sign(new_session_id()) for _ in range(VERIFIED_KEPT + 10)]
    assert all(signer.verify(value) is not None for value in values)
    assert 0 < len(signer._verified) <= VERIFIED_KEPT
    assert signer.verify(values[0]) == (values[0].rpartition(".")[0], True)


def test_a_rotation_forgets_what_the_old_secrets_verified() -> None:
    old = CookieSigner("old-secret-" * 3)
    value = old.sign(new_session_id())
    assert old.verify(value) is not None
    assert CookieSigner("new-secret-" * 3).verify(value) is None
    assert CookieSigner(["new-secret-" * 3, "old-secret-" * 3]).verify(value) == (
        value.rpartition(".")[0],
        False,
    )
