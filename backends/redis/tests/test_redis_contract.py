"""The shipped store contract on a single node, a Redis Cluster and Sentinel, each run with
a key prefix unique to this run and with no prefix at all (on throwaway servers only); and
once over TLS, once with Sentinels that require a password of their own, and once with
Sentinels, master and replica all on TLS with a client certificate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import quote

import pytest

import sessionkit
from sessionkit.store import Store
from sessionkit.testing import StoreContract

# The contract is not about timeouts (test_redis_faults.py is): on a busy machine, eight
# threads opening TLS connections to Sentinels and a master at once can take more than the
# default second to connect.
PATIENT = "timeout=10&connect_timeout=5"


class RedisContract(StoreContract):
    server: ClassVar[str]  # the fixture giving the server's URL
    prefixed: ClassVar[bool] = True
    # frozen_clock stays False: Redis expires keys on its own clock, which a test cannot
    # move, so the expiry tests wait for it (1 to 2 s each).

    @pytest.fixture(autouse=True)
    def _url(self, request: pytest.FixtureRequest, run_prefix: str) -> Iterator[None]:
        base = request.getfixturevalue(self.server)
        prefix = run_prefix if self.prefixed else ""
        separator = "&" if "?" in base else "?"
        self.url = f"{base}{separator}prefix={quote(prefix)}&{PATIENT}"
        yield
        store = self.create_store()
        store.clear()  # type: ignore[attr-defined]
        store.close()

    def create_store(self) -> Store:
        return sessionkit.open_store(self.url)


class TestSharedServer(RedisContract):
    server = "shared_redis_url"


class TestSingleNodeWithoutPrefix(RedisContract):
    server = "single_url"
    prefixed = False


class TestCluster(RedisContract):
    server = "cluster_url"


class TestClusterWithoutPrefix(RedisContract):
    server = "cluster_url"
    prefixed = False


class TestSentinel(RedisContract):
    server = "sentinel_url"


class TestSentinelWithoutPrefix(RedisContract):
    server = "sentinel_url"
    prefixed = False


class TestSentinelWithPasswords(RedisContract):
    server = "secured_sentinel_url"


class TestTLS(RedisContract):
    server = "tls_url"


class TestSentinelOverTLS(RedisContract):
    server = "tls_sentinel_url"
