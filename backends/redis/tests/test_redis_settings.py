"""Reading store URLs and options: the forms, the defaults, and what is refused."""

from __future__ import annotations

import pytest
from sessionkit_redis import OPTION_DEFAULTS, RedisSettings, RedisStore

import sessionkit
from sessionkit.errors import ConfigurationError


def test_every_scheme_is_an_installed_backend() -> None:
    backends = sessionkit.available_backends()
    for scheme in ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"):
        assert backends[scheme].startswith("sessionkit-redis ")


def test_defaults() -> None:
    settings = RedisSettings.from_url("redis://127.0.0.1")
    assert settings.topology == "single"
    assert settings.nodes == (("127.0.0.1", 6379),)
    assert settings.prefix == OPTION_DEFAULTS["prefix"] == "session:"
    assert settings.retries == 1
    assert settings.max_connections is None
    assert dict(settings.connection) == {
        "username": None,
        "password": None,
        "socket_timeout": 5.0,
        "socket_connect_timeout": 5.0,
        "health_check_interval": 0,
        "db": 0,
    }


def test_single_node_with_credentials_and_options() -> None:
    settings = RedisSettings.from_url(
        "redis://app:s3cret@cache.internal:6380/4?prefix=web:&socket_timeout=0.5"
        "&connect_timeout=2&max_connections=20&health_check_interval=30&retries=3"
    )
    assert settings.nodes == (("cache.internal", 6380),)
    assert settings.prefix == "web:"
    assert settings.masked_url.startswith("redis://app:***@cache.internal")
    assert (settings.retries, settings.max_connections) == (3, 20)
    assert settings.connection["db"] == 4
    assert settings.connection["username"] == "app"
    assert settings.connection["password"] == "s3cret"
    assert settings.connection["socket_timeout"] == 0.5
    assert settings.connection["socket_connect_timeout"] == 2.0
    assert settings.connection["health_check_interval"] == 30


def test_tls() -> None:
    settings = RedisSettings.from_url(
        "rediss://h:6380?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=optional&ssl_check_hostname=false"
    )
    assert settings.connection["ssl"] is True
    assert settings.connection["ssl_ca_certs"] == "/etc/ca.pem"
    assert settings.connection["ssl_cert_reqs"] == "optional"
    assert settings.connection["ssl_check_hostname"] is False


def test_unix_socket() -> None:
    settings = RedisSettings.from_url("redis+unix:///run/redis/redis.sock?db=2")
    assert settings.connection["unix_socket_path"] == "/run/redis/redis.sock"
    assert settings.connection["db"] == 2
    assert settings.nodes == ()


def test_sentinel() -> None:
    settings = RedisSettings.from_url("redis+sentinel://s1,s2:26380/mymaster/3?ssl=true")
    assert settings.topology == "sentinel"
    assert settings.nodes == (("s1", 26379), ("s2", 26380))
    assert settings.service_name == "mymaster"
    assert settings.connection["db"] == 3
    assert settings.connection["ssl"] is True


def test_cluster() -> None:
    settings = RedisSettings.from_url("redis+cluster://n1:7000,n2")
    assert settings.topology == "cluster"
    assert settings.nodes == (("n1", 7000), ("n2", 6379))
    assert "db" not in settings.connection


def test_keyword_options_override_the_query() -> None:
    settings = RedisSettings.from_url("redis://h?prefix=a:", prefix="b:", socket_timeout=1)
    assert settings.prefix == "b:"
    assert settings.connection["socket_timeout"] == 1.0


def test_empty_prefix_is_allowed() -> None:
    assert RedisSettings.from_url("redis://h?prefix=").prefix == ""


@pytest.mark.parametrize(
    "url",
    [
        "redis://h?prefx=a:",  # misspelt option
        "redis://h?db=1",  # the database is in the path
        "redis://h/x",
        "redis://h1,h2",  # several hosts need sentinel or cluster
        "redis://h?ssl_ca_certs=/ca.pem",  # TLS option without TLS
        "rediss://h?ssl_cert_reqs=maybe",
        "redis://h?socket_timeout=0",
        "redis://h?retries=-1",
        "redis+unix://host/run/redis.sock",
        "redis+unix://",
        "redis+sentinel://s1:26379",  # no service name
        "redis+sentinel://s1:26379/a/b/c",
        "redis+cluster://n1:7000/2",
        "redis+cluster://",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url(url)


def test_misspelt_option_gets_a_suggestion() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'prefix'"):
        RedisSettings.from_url("redis://h?prefx=a:")


@pytest.mark.parametrize("options", [{"prefix": 1}, {"retries": "2"}, {"ssl": 1}, {"nope": 1}])
def test_bad_keyword_options_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url("redis+sentinel://s1/m", **options)


def test_errors_never_show_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisSettings.from_url("redis://user:hunter2@h/x")
    assert "hunter2" not in str(info.value)


def test_settings_repr_never_shows_the_password() -> None:
    settings = RedisSettings.from_url("redis://user:hunter2@h/0")
    assert settings.connection["password"] == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "redis://user:***@h/0" in repr(settings)


def test_open_store_builds_a_redis_store_without_connecting() -> None:
    store = sessionkit.open_store("redis://127.0.0.1:1/0?prefix=x:")
    try:
        assert isinstance(store, RedisStore)
        assert repr(store) == "RedisStore('redis://127.0.0.1:1/0?prefix=x:')"
    finally:
        store.close()
