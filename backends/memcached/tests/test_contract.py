"""The shipped contract suite on one memcached node and on two, with and without a prefix."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

import sessionkit
from sessionkit.store import Store
from sessionkit.testing import StoreContract

from .conftest import MemcachedServer

RUN_PREFIX = f"sk-contract-{uuid.uuid4().hex[:12]}:"


class MemcachedContract(StoreContract):
    nodes = 1
    prefix = ""
    # Sessions expire on the memcached server's own clock, which no test can move: the
    # expiry tests wait for it (a second or two), so frozen_clock stays False.
    frozen_clock = False

    @pytest.fixture(autouse=True)
    def _url(self, memcached_pair: tuple[MemcachedServer, MemcachedServer]) -> None:
        hosts = ",".join(server.address for server in memcached_pair[: self.nodes])
        self.url = f"memcached://{hosts}?prefix={quote(self.prefix)}"

    def create_store(self) -> Store:
        return sessionkit.open_store(self.url)


class TestOneNode(MemcachedContract):
    prefix = RUN_PREFIX


class TestOneNodeWithoutPrefix(MemcachedContract):
    pass


class TestTwoNodes(MemcachedContract):
    nodes = 2
    prefix = RUN_PREFIX


class TestTwoNodesWithoutPrefix(MemcachedContract):
    nodes = 2
