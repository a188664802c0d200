"""Reading store URLs and options: the forms, the defaults, and what is refused."""

from __future__ import annotations

import pytest
from sessionkit_redis import OPTION_DEFAULTS, RedisSettings, RedisStore

import sessionkit
from sessionkit.errors import ConfigurationError
from sessionkit.url import mask_url


def test_every_scheme_is_an_installed_backend() -> None:
    backends = sessionkit.available_backends()
    for scheme in ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"):
        assert backends[scheme].startswith("sessionkit-redis ")


def test_defaults() -> None:
    settings = RedisSettings.from_url("redis://127.0.0.1")
    assert settings.topology == "single"
    assert settings.nodes == (("127.0.0.1", 6379),)
    assert settings.prefix == OPTION_DEFAULTS["prefix"] == "session:"
    assert (settings.policy.timeout, settings.policy.retries) == (2.0, 1)
    assert settings.max_connections is None
    assert settings.database == 0
    # Two tries share the 2 s, less the longest backoff between them (20 ms).
    assert dict(settings.connection) == {
        "username": None,
        "password": None,
        "socket_timeout": 0.99,
        "socket_connect_timeout": 0.99,
        "health_check_interval": 0,
        "db": 0,
    }


def test_single_node_with_credentials_and_options() -> None:
    settings = RedisSettings.from_url(
        "redis://app:s3cret@cache.internal:6380/4?prefix=web:&timeout=3.14"
        "&connect_timeout=0.25&max_connections=20&health_check_interval=30&retries=3"
    )
    assert settings.nodes == (("cache.internal", 6380),)
    assert settings.prefix == "web:"
    assert settings.masked_url.startswith("redis://app:***@cache.internal")
    assert (settings.policy.retries, settings.max_connections) == (3, 20)
    assert settings.connection["db"] == settings.database == 4
    assert settings.connection["username"] == "app"
    assert settings.connection["password"] == "s3cret"
    # 3.14 s less the longest backoffs (20, 40 and 80 ms), shared by four tries.
    assert settings.connection["socket_timeout"] == pytest.approx(0.75)
    assert settings.connection["socket_connect_timeout"] == 0.25
    assert settings.connection["health_check_interval"] == 30


def test_a_connect_timeout_never_exceeds_a_tries_share() -> None:
    settings = RedisSettings.from_url("redis://h?timeout=1&retries=0&connect_timeout=5")
    assert settings.connection["socket_timeout"] == 1.0
    assert settings.connection["socket_connect_timeout"] == 1.0


def test_a_timeout_too_short_for_the_retries_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="too short for retries=5"):
        RedisSettings.from_url("redis://h?timeout=0.3&retries=5")


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
    assert dict(settings.sentinel) == {
        "username": None,
        "password": None,
        "socket_timeout": 0.99,
        "socket_connect_timeout": 0.99,
    }


def test_sentinel_ssl_gives_the_sentinels_the_same_tls_options() -> None:
    settings = RedisSettings.from_url(
        "redis+sentinel://s1/m?ssl=true&sentinel_ssl=true&ssl_ca_certs=/ca.pem"
        "&ssl_certfile=/client.pem&ssl_keyfile=/client.key&ssl_check_hostname=false"
    )
    tls = {name: value for name, value in settings.connection.items() if name.startswith("ssl")}
    assert tls == {
        "ssl": True,
        "ssl_ca_certs": "/ca.pem",
        "ssl_certfile": "/client.pem",
        "ssl_keyfile": "/client.key",
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": False,
    }
    assert {name: settings.sentinel[name] for name in tls} == tls
    plain = RedisSettings.from_url("redis+sentinel://s1/m?ssl=true")
    assert not any(name.startswith("ssl") for name in plain.sentinel)


def test_sentinel_credentials_are_apart_from_the_data_servers() -> None:
    settings = RedisSettings.from_url(
        "redis+sentinel://app:data-pw@s1,s2/mymaster/0?timeout=4.02"
        "&sentinel_username=watcher&sentinel_password=s%26n+t%2Bx%3D"
    )
    assert settings.sentinel["username"] == "watcher"
    assert settings.sentinel["password"] == "s&n t+x="  # percent-decoded, "+" is a space
    assert settings.sentinel["socket_timeout"] == pytest.approx(2.0)
    assert (settings.connection["username"], settings.connection["password"]) == ("app", "data-pw")
    assert settings.masked_url == (
        "redis+sentinel://app:***@s1,s2/mymaster/0?timeout=4.02"
        "&sentinel_username=watcher&sentinel_password=***"
    )
    assert "s%26n" not in repr(settings)
    assert "data-pw" not in repr(settings)


def test_sentinel_password_as_a_keyword_overrides_the_query() -> None:
    settings = RedisSettings.from_url(
        "redis+sentinel://s1/m?sentinel_password=old", sentinel_password="new"
    )
    assert settings.sentinel["password"] == "new"
    assert settings.masked_url == "redis+sentinel://s1/m?sentinel_password=***"


def test_a_sentinel_password_of_the_wrong_type_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError, match=r"sentinel_password=\*\*\*") as raised:
        RedisSettings.from_url("redis+sentinel://s1/m", sentinel_password=b"hunter2")
    assert "hunter2" not in str(raised.value)


def test_mask_url_masks_the_password_and_the_secret_options() -> None:
    assert mask_url("redis+sentinel://u:pw@s1/m?sentinel_password=x&prefix=a:") == (
        "redis+sentinel://u:***@s1/m?sentinel_password=***&prefix=a:"
    )
    assert mask_url("redis+sentinel://s1/m?prefix=a:&sentinel_password=") == (
        "redis+sentinel://s1/m?prefix=a:&sentinel_password=***"
    )
    assert (
        mask_url("redis://h/0?prefix=sentinel_password=x")
        == "redis://h/0?prefix=sentinel_password=x"
    )


def test_cluster() -> None:
    settings = RedisSettings.from_url("redis+cluster://n1:7000,n2")
    assert settings.topology == "cluster"
    assert settings.nodes == (("n1", 7000), ("n2", 6379))
    assert "db" not in settings.connection


def test_keyword_options_override_the_query() -> None:
    settings = RedisSettings.from_url("redis://h?prefix=a:&timeout=9", prefix="b:", timeout=1.02)
    assert settings.prefix == "b:"
    assert settings.policy.timeout == 1.02
    assert settings.connection["socket_timeout"] == 0.5


def test_empty_prefix_is_allowed() -> None:
    assert RedisSettings.from_url("redis://h?prefix=").prefix == ""


@pytest.mark.parametrize(
    "url",
    [
        "redis://h?prefx=a:",  # misspelt option
        "redis://h?db=1",  # the database is in the path
        "redis://h/x",
        "redis://h/²",  # a digit to str.isdigit, not to int()
        "redis://h1,h2",  # several hosts need sentinel or cluster
        "redis://h?ssl_ca_certs=/ca.pem",  # TLS option without TLS
        "rediss://h?ssl_cert_reqs=maybe",
        "redis://h?timeout=0",
        "redis://h?connect_timeout=-1",
        "redis://h?socket_timeout=1",  # the option is timeout, for the whole operation
        "redis://h?retries=-1",
        "redis+unix://host/run/redis.sock",
        "redis+unix://",
        "redis+unix:///run/redis.sock?ssl=true",  # TLS on a Unix socket
        "redis+unix:///run/redis.sock?ssl_ca_certs=/ca.pem",
        "rediss://h?ssl_keyfile=/client.key",  # a key without its certificate
        "redis+sentinel://s1:26379",  # no service name
        "redis+sentinel://s1:26379/a/b/c",
        "redis+cluster://n1:7000/2",
        "redis+cluster://",
        "redis://h?sentinel_password=pw",  # sentinel options without Sentinel
        "redis+cluster://n1?sentinel_username=u",
        "rediss://h?sentinel_ssl=true",
        "redis+sentinel://s1/m?sentinel_ssl=true",  # TLS for the sentinels only
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url(url)


def test_misspelt_option_gets_a_suggestion() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'prefix'"):
        RedisSettings.from_url("redis://h?prefx=a:")


@pytest.mark.parametrize(
    "options", [{"prefix": 1}, {"retries": "2"}, {"ssl": 1}, {"nope": 1}, {"timeout": "2"}]
)
def test_bad_keyword_options_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url("redis+sentinel://s1/m", **options)


def test_errors_never_show_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisSettings.from_url("redis://user:hunter2@h/x")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("redis+sentinel://s1:99999/m?sentinel_password=hunter2", {}),  # bad port
        ("redis+sentinel://s1/m?sentinel_password=hunter2&prefx=a:", {}),  # misspelt option
        ("redis+sentinel://s1/m?sentinel_password=hunter2&retries=x", {}),
        ("redis+sentinel://s1/m/x?sentinel_password=hunter2", {}),
        ("redis://h?sentinel_password=hunter2", {}),
        ("redis+sentinel://s1/m", {"sentinel_password": b"hunter2"}),
    ],
)
def test_errors_never_show_the_sentinel_password(url: str, options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisSettings.from_url(url, **options)
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
