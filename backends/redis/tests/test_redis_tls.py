"""``rediss://`` against a server that speaks TLS only, its certificate signed by a throwaway
CA (the shipped contract runs there too, in test_redis_contract.py)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest

from sessionkit import SessionManager
from sessionkit.ids import new_session_id

from .helpers import FAST, open_redis, unavailable_errors

# The host to connect to, and the CA file to trust (None: the system's CAs).
UNTRUSTED = {
    "another CA": ("127.0.0.1", "stranger_ca"),
    "the system CAs": ("127.0.0.1", None),
    "another host name": ("localhost", "ca"),  # the certificate names 127.0.0.1 only
}


@pytest.mark.parametrize("case", list(UNTRUSTED))
def test_a_certificate_the_client_does_not_trust_makes_the_store_unavailable(
    tls_server: Any, certificates: Any, case: str
) -> None:
    host, ca = UNTRUSTED[case]
    url = f"rediss://{host}:{tls_server.port}/0?{FAST}"
    if ca is not None:
        url += f"&ssl_ca_certs={quote(str(getattr(certificates, ca)))}"
    store = open_redis(url)

    try:
        for error in unavailable_errors(store, lambda: store.get(new_session_id())):
            assert error.url == store.settings.masked_url
            assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    finally:
        store.close()


def test_the_host_name_check_can_be_turned_off(tls_server: Any, certificates: Any) -> None:
    ca = quote(str(certificates.ca))
    store = open_redis(
        f"rediss://localhost:{tls_server.port}/0?ssl_ca_certs={ca}&ssl_check_hostname=false"
        "&prefix=tls-hostname:"
    )
    sid = new_session_id()

    async def read_through_the_twin() -> bytes | None:
        astore = store.async_store()
        try:
            return await astore.get(sid)
        finally:
            await astore.close()

    try:
        store.set(sid, b"over TLS", 60)
        assert store.get(sid) == b"over TLS"
        assert asyncio.run(read_through_the_twin()) == b"over TLS"
    finally:
        store.delete(sid)
        store.close()


def test_the_async_twin_over_tls_through_the_manager(tls_url: str) -> None:
    manager = SessionManager(
        f"{tls_url}&prefix=tls-async:", secret="test-secret-0123456789abcdefghijklmnopqrstuv"
    )

    async def requests() -> None:
        try:
            session = await manager.aopen(None)
            session["user"] = "ada"
            set_cookie = await manager.acommit(session)
            assert set_cookie is not None
            again = await manager.aopen(set_cookie.split(";", 1)[0])
            assert again["user"] == "ada"
            again.destroy()
            await manager.acommit(again)
        finally:
            await manager.aclose()

    asyncio.run(requests())
