"""The cookie signer: itsdangerous's format, key rotation, strict verification."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer

from sessionkit.errors import ConfigurationError
from sessionkit.ids import new_session_id
from sessionkit.signing import SALT, CookieSigner


def itsdangerous_signer(*secrets_oldest_first: str) -> Signer:
    return Signer(
        list(secrets_oldest_first), salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256
    )


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


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=200))
def test_primed_hmac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    import hmac

    from sessionkit.signing import _PrimedHMAC

    assert _PrimedHMAC(key).digest(message) == hmac.digest(key, message, "sha256")


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
