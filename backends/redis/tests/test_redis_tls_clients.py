"""Client certificates: a TLS-only server that requires one (``tls-auth-clients yes``), and
Sentinels that speak TLS only (``sentinel_ssl``), sync and async."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest
from sessionkit_redis import RedisStore

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id

from .helpers import FAST, open_redis, unavailable_errors


def client_auth_url(server: Any, certificates: Any, *, client_certificate: bool) -> str:
    password = quote(server.password, safe="")
    url = f"rediss://:{password}@127.0.0.1:{server.port}/0"
    url += f"?ssl_ca_certs={quote(str(certificates.ca))}"
    if client_certificate:
        url += f"&ssl_certfile={quote(str(certificates.client_cert))}"
        url += f"&ssl_keyfile={quote(str(certificates.client_key))}"
    return url


def round_trips(store: RedisStore) -> None:
    """set, get and delete through ``store``, and a set/get/delete through its async twin."""
    sid = new_session_id()

    async def async_round_trip() -> tuple[bytes | None, bytes | None]:
        astore = store.async_store()
        try:
            await astore.set(sid, b"async", 60)
            data = await astore.get(sid)
            await astore.delete(sid)
            return data, await astore.get(sid)
        finally:
            await astore.close()

    try:
        store.set(sid, b"sync", 60)
        assert store.get(sid) == b"sync"
        store.delete(sid)
        assert store.get(sid) is None
        assert asyncio.run(async_round_trip()) == (b"async", None)
    finally:
        store.close()


def test_a_client_certificate_opens_a_server_that_requires_one(
    client_auth_server: Any, certificates: Any
) -> None:
    url = client_auth_url(client_auth_server, certificates, client_certificate=True)
    round_trips(open_redis(f"{url}&prefix=tls-client:"))


def test_without_a_client_certificate_every_operation_is_unavailable(
    client_auth_server: Any, certificates: Any
) -> None:
    url = client_auth_url(client_auth_server, certificates, client_certificate=False)
    store = open_redis(f"{url}&{FAST}&prefix=tls-client:")
    sid = new_session_id()
    operations = {
        "get": lambda target: target.get(sid),
        "set": lambda target: target.set(sid, b"x", 60),
        "add": lambda target: target.add(sid, b"x", 60),
        "replace": lambda target: target.replace(sid, b"x", 60),
        "touch": lambda target: target.touch(sid, 60),
        "delete": lambda target: target.delete(sid),
    }

    async def async_errors() -> list[StoreUnavailableError]:
        astore = store.async_store()
        errors = []
        try:
            for operation in operations.values():
                with pytest.raises(StoreUnavailableError) as info:
                    await operation(astore)
                errors.append(info.value)
        finally:
            await astore.close()
        return errors

    try:
        errors = []
        for operation in operations.values():
            with pytest.raises(StoreUnavailableError) as info:
                operation(store)
            errors.append(info.value)
        errors += asyncio.run(async_errors())
        for error in errors:
            assert error.url == store.settings.masked_url
            assert ":***@127.0.0.1" in error.url
            message = str(error)
            assert "ConnectionError" in message
            assert client_auth_server.password not in message
            assert quote(client_auth_server.password, safe="") not in message
    finally:
        store.close()


def without(url: str, *options: str) -> str:
    """``url`` without the query ``options`` named."""
    base, query = url.split("?", 1)
    kept = [item for item in query.split("&") if item.split("=", 1)[0] not in options]
    return f"{base}?{'&'.join(kept)}"


def by_name(url: str) -> str:
    """``url`` naming the Sentinels ``localhost``, which their certificate does not name (the
    master's address, 127.0.0.1, still comes from the Sentinels)."""
    return url.replace("127.0.0.1:", "localhost:")


def test_sentinels_over_tls_lead_to_the_master_over_tls(tls_sentinel_url: str) -> None:
    round_trips(open_redis(f"{tls_sentinel_url}&prefix=sentinel-tls:"))


def test_the_sentinels_host_name_check_can_be_turned_off(tls_sentinel_url: str) -> None:
    url = by_name(tls_sentinel_url)
    round_trips(open_redis(f"{url}&ssl_check_hostname=false&prefix=sentinel-tls-name:"))


# How the URL is spoilt: each Sentinel then refuses (or is refused) the connection.
SENTINELS_REFUSE = {
    "plain text": lambda url: without(url, "sentinel_ssl"),
    "no client certificate": lambda url: without(url, "ssl_certfile", "ssl_keyfile"),
    "another host name": by_name,
}


@pytest.mark.parametrize("case", list(SENTINELS_REFUSE))
def test_sentinels_that_refuse_the_connection_make_the_store_unavailable(
    tls_sentinel_url: str, case: str
) -> None:
    spoil = SENTINELS_REFUSE[case]
    store = open_redis(f"{spoil(tls_sentinel_url)}&{FAST}")

    try:
        for error in unavailable_errors(store, lambda: store.set(new_session_id(), b"x", 60)):
            assert error.url == store.settings.masked_url
            message = str(error)
            assert "MasterNotFoundError" in message
            assert message.count("network:ConnectionError") == 2, "one for each Sentinel"
            assert "ConnectionPool" not in message, "a Sentinel is named by its address"
    finally:
        store.close()
