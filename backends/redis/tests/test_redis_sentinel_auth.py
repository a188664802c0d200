"""Sentinels that require a password of their own, apart from the master's: the
``sentinel_password`` and ``sentinel_username`` options, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest

from sessionkit.ids import new_session_id

from .helpers import FAST, open_redis, unavailable_errors


def credentials(secured: Any, how: str) -> tuple[str, dict[str, str]]:
    """The query and the keyword options that give the Sentinels' credentials ``how``."""
    if how == "password":
        return f"sentinel_password={quote(secured.password, safe='')}", {}
    if how == "user":
        return f"sentinel_username={secured.username}&sentinel_password={secured.user_password}", {}
    return "", {"sentinel_password": secured.password}  # keyword: kept out of the URL


@pytest.mark.parametrize("how", ["password", "user", "keyword"])
def test_the_sentinels_credentials_lead_to_the_master(secured_sentinels: Any, how: str) -> None:
    query, options = credentials(secured_sentinels, how)
    store = open_redis(f"{secured_sentinels.url}?{query}&prefix=sentinel-auth:", **options)
    sid = new_session_id()

    async def read_and_delete() -> bytes | None:
        astore = store.async_store()
        try:
            data = await astore.get(sid)
            await astore.delete(sid)
            return data
        finally:
            await astore.close()

    try:
        store.set(sid, b"through authenticated sentinels", 60)
        assert store.get(sid) == b"through authenticated sentinels"
        assert asyncio.run(read_and_delete()) == b"through authenticated sentinels"
        assert store.get(sid) is None
    finally:
        store.close()


@pytest.mark.parametrize(
    "query",
    [
        "",  # the master's password alone does not open the Sentinels
        "sentinel_password=wrong-secret",
        "sentinel_username=nobody&sentinel_password=wrong-secret",
    ],
)
def test_without_the_sentinels_credentials_the_store_is_unavailable(
    secured_sentinels: Any, query: str
) -> None:
    store = open_redis(f"{secured_sentinels.url}?{query}&{FAST}")
    secrets = [
        secured_sentinels.password,
        quote(secured_sentinels.password, safe=""),
        secured_sentinels.user_password,
        "data&pw",  # the start of the master's password, in the URL percent-encoded
        "data%26pw",
        "wrong-secret",
    ]

    try:
        for error in unavailable_errors(store, lambda: store.set(new_session_id(), b"x", 60)):
            assert error.url == store.settings.masked_url
            message = str(error)
            assert "MasterNotFoundError" in message
            assert message.count("AuthenticationError") == 2, "one for each Sentinel"
            assert "ConnectionPool" not in message, "a Sentinel is named by its address"
            assert ("sentinel_password=***" in message) == ("sentinel_password" in query)
            for text in (message, repr(store), repr(store.settings)):
                assert not any(secret in text for secret in secrets)
    finally:
        store.close()


def test_the_cli_prints_the_url_without_the_sentinels_password(
    secured_sentinels: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from sessionkit.cli import main

    query, _ = credentials(secured_sentinels, "password")
    assert main(["check", f"{secured_sentinels.url}?{query}&prefix=sentinel-cli:"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ")
    assert "sentinel_password=***" in out
    assert quote(secured_sentinels.password, safe="") not in out
