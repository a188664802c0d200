"""Reading memcached URLs and options."""

from __future__ import annotations

import pytest
from sessionkit_memcached import OPTION_DEFAULTS, MemcachedSettings, MemcachedStore

import sessionkit
from sessionkit.errors import ConfigurationError


def test_defaults() -> None:
    settings = MemcachedSettings.from_url("memcached://")
    assert settings.servers == (("127.0.0.1", 11211),)
    assert settings.prefix == OPTION_DEFAULTS["prefix"] == "session:"
    assert settings.connect_timeout == OPTION_DEFAULTS["connect_timeout"]
    assert settings.timeout == OPTION_DEFAULTS["timeout"]
    assert settings.pool_size is None
    assert settings.dead_retry == OPTION_DEFAULTS["dead_retry"]
    assert settings.max_item_size == 1024 * 1024


@pytest.mark.parametrize(
    ("url", "servers"),
    [
        ("memcached://cache", (("cache", 11211),)),
        ("memcached://cache:11300/", (("cache", 11300),)),
        ("memcached://h1:11211,h2:11212", (("h1", 11211), ("h2", 11212))),
        ("memcached://[::1]:11211", (("::1", 11211),)),
        ("memcached+unix:///run/memcached.sock", ("/run/memcached.sock",)),
    ],
)
def test_url_forms(url: str, servers: tuple[object, ...]) -> None:
    assert MemcachedSettings.from_url(url).servers == servers


def test_query_options_and_keyword_overrides() -> None:
    url = "memcached://h?prefix=app:&connect_timeout=0.5&timeout=3&pool_size=8&dead_retry=5"
    settings = MemcachedSettings.from_url(url + "&max_item_size=2097152")
    assert (settings.prefix, settings.connect_timeout, settings.timeout) == ("app:", 0.5, 3.0)
    assert (settings.pool_size, settings.dead_retry) == (8, 5.0)
    assert settings.max_item_size == 2 * 1024 * 1024
    overridden = MemcachedSettings.from_url(url, prefix="", timeout=1, pool_size=0)
    assert (overridden.prefix, overridden.timeout, overridden.pool_size) == ("", 1.0, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://h?prefx=a:", "did you mean 'prefix'"),
        ("memcached://h/0", "no databases"),
        ("memcached://user:secret@h", "no user or password"),
        ("memcached://h,h", "listed twice"),
        ("memcached+unix://", "memcached.sock"),
        ("memcached://h?timeout=0", "positive"),
        ("memcached://h?pool_size=-1", "at least 0"),
        ("memcached://h?max_item_size=10", "at least 1024"),
        ("memcached://h?prefix=a%20b", "printable ASCII"),
        ("memcached://h?prefix=a%0Ab", "printable ASCII"),
        ("memcached://h?prefix=%C3%A9", "printable ASCII"),
        (f"memcached://h?prefix={'p' * 123}", "at most 122"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        MemcachedSettings.from_url(url)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [{"prefx": "a"}, {"timeout": "1"}, {"timeout": True}, {"pool_size": 1.5}, {"prefix": 1}],
)
def test_bad_keyword_options(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        MemcachedSettings.from_url("memcached://h", **overrides)


def test_open_store_finds_both_schemes() -> None:
    for url in ("memcached://127.0.0.1:11211", "memcached+unix:///tmp/none.sock"):
        store = sessionkit.open_store(url)
        assert isinstance(store, MemcachedStore)
        store.close()
    assert "sessionkit-memcached" in sessionkit.available_backends()["memcached+unix"]
