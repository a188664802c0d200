"""Finding stores by URL scheme, and the errors when that fails."""

from __future__ import annotations

import string
from importlib.metadata import EntryPoint
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sessionkit
from sessionkit import registry
from sessionkit.errors import BackendLoadError, ConfigurationError, UnknownBackendError
from sessionkit.stores.memory import MemoryStore
from sessionkit.url import StoreOptions, StoreURL, mask_url, redact


@pytest.fixture
def core_only(monkeypatch: pytest.MonkeyPatch) -> dict[str, EntryPoint]:
    """Pretend only the core's entry points are installed."""
    discovered = {k: v for k, v in registry._discover().items() if k in ("memory", "file")}
    monkeypatch.setattr(registry, "_entry_points", discovered)
    monkeypatch.setattr(registry, "_loaded", {})
    return discovered


def test_core_stores_are_found_through_entry_points() -> None:
    backends = sessionkit.available_backends()
    assert backends["memory"] == f"sessionkit {sessionkit.__version__}"
    assert backends["file"] == f"sessionkit {sessionkit.__version__}"
    assert isinstance(sessionkit.open_store("memory://"), MemoryStore)


def test_the_part_before_plus_is_tried_second() -> None:
    assert isinstance(sessionkit.open_store("memory+anything://"), MemoryStore)


def test_unknown_scheme_lists_installed_and_suggests(core_only: object) -> None:
    with pytest.raises(UnknownBackendError) as raised:
        sessionkit.open_store("memroy://")
    error = raised.value
    assert error.suggestion == "memory"
    assert {"memory", "file"} <= set(error.installed)
    assert "Did you mean 'memory'?" in str(error)


@pytest.mark.parametrize(
    ("url", "distribution"),
    [
        ("redis://127.0.0.1:6379/0", "sessionkit-redis"),
        ("redis+sentinel://h:26379/mymaster", "sessionkit-redis"),
        ("memcached://127.0.0.1:11211", "sessionkit-memcached"),
        ("postgresql+psycopg://u:secret@db/app", "sessionkit-sql"),
        ("mysql+pymysql://db/app", "sessionkit-sql"),
        ("sqlite:///s.db", "sessionkit-sql"),
    ],
)
def test_well_known_scheme_names_its_distribution(
    core_only: object, url: str, distribution: str
) -> None:
    with pytest.raises(UnknownBackendError) as raised:
        sessionkit.open_store(url)
    assert raised.value.distribution == distribution
    assert f"pip install {distribution}" in str(raised.value)
    assert "secret" not in str(raised.value)


def test_a_plugin_that_fails_to_import_reports_its_error(
    core_only: dict[str, EntryPoint],
) -> None:
    core_only["broken"] = EntryPoint("broken", "no_such_module_xyz:factory", registry.GROUP)
    with pytest.raises(BackendLoadError) as raised:
        sessionkit.open_store("broken://")
    assert "ModuleNotFoundError" in str(raised.value)
    assert "no_such_module_xyz" in str(raised.value)


def test_register_backend_refuses_to_replace_silently() -> None:
    sessionkit.register_backend("testscheme", lambda url, **kw: MemoryStore())
    try:
        assert isinstance(sessionkit.open_store("testscheme://"), MemoryStore)
        assert sessionkit.available_backends()["testscheme"] == "registered in this process"
        with pytest.raises(ConfigurationError):
            sessionkit.register_backend("testscheme", lambda url, **kw: MemoryStore())
        with pytest.raises(ConfigurationError):
            sessionkit.register_backend("memory", lambda url, **kw: MemoryStore())
        marker = MemoryStore()
        sessionkit.register_backend("testscheme", lambda url, **kw: marker, replace=True)
        assert sessionkit.open_store("testscheme://") is marker
    finally:
        sessionkit.unregister_backend("testscheme")
    assert "testscheme" not in sessionkit.available_backends()


def test_options_reach_the_factory() -> None:
    store = sessionkit.open_store("memory://", max_entries=5)
    assert isinstance(store, MemoryStore)
    assert store.max_entries == 5


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://user:hunter2@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:hunter2@host/0", "redis://:***@host/0"),
        ("postgresql+psycopg://u:p%40ss@db/app?x=1", "postgresql+psycopg://u:***@db/app?x=1"),
        ("memcached://h1:11211,h2:11212", "memcached://h1:11211,h2:11212"),
        ("file:///var/lib/sessions", "file:///var/lib/sessions"),
        (
            "redis+sentinel://u:pw@s1/m?sentinel_password=x&prefix=a:",
            "redis+sentinel://u:***@s1/m?sentinel_password=***&prefix=a:",
        ),
        ("x://h/?prefix=a&AUTH_TOKEN=t0k&Secret=", "x://h/?prefix=a&AUTH_TOKEN=***&Secret=***"),
        ("x://h/?prefix=password=1&ok=2", "x://h/?prefix=password=1&ok=2"),  # a value, not a name
        ("redis://user:p@ss@host/0", "redis://user:***@host/0"),  # a raw "@" in the password
        ("redis://me@corp:pw@db/0", "redis://me@corp:***@db/0"),  # ... and in the user name
        ("x://h/?token=a#b&ok=1", "x://h/?token=***&ok=1"),
        ("file:///var/a:b@c", "file:///var/a:b@c"),  # no authority, so no password
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert StoreURL.parse(url).masked == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://user:pa/ss@host/0", "redis://user:***@host/0"),
        ("redis://user:1234/5678@host/0", "redis://user:***@host/0"),
        ("redis://user:a#b?c@host:1/0?prefix=x", "redis://user:***@host:1/0?prefix=x"),
        ("redis://h:6379/0?prefix=a@b", "redis://h:***@b"),  # ambiguous: masks too much
    ],
)
def test_mask_url_masks_a_password_holding_a_raw_delimiter_whole(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        "redis://:top@secret#x@127.0.0.1:6379/0",
        "redis://user:a@evilhost/xyz@127.0.0.1:6379/0",
        "memcached://u:p@ss?w@127.0.0.1:11211",
        "postgresql://postgres:ab@pwfrag/c@127.0.0.1:5432/test",
    ],
)
def test_a_password_whose_raw_at_would_end_the_host_early_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="percent-encode") as caught:
        sessionkit.open_store(url)
    for fragment in ("secret", "evilhost", "ss?w", "pwfrag"):
        assert fragment not in str(caught.value)


def test_redact_masks_the_url_and_its_secrets_wherever_they_appear() -> None:
    url = "redis://u:p%40ss+w@h/0?sentinel_password=s3cr3t&prefix=a:"
    text = f"cannot reach {url}: auth as u with p@ss w / p@ss+w / p%40ss+w failed (s3cr3t)"
    assert redact(text, url) == (
        "cannot reach redis://u:***@h/0?sentinel_password=***&prefix=a:: "
        "auth as u with *** / *** / *** failed (***)"
    )
    assert redact("no secret here", "memory://") == "no secret here"


@pytest.mark.parametrize("url", ["redis://[::1/0", "redis://h]/0", "redis://u:p@[/0"])
def test_an_unbalanced_bracket_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="bad store URL"):
        StoreURL.parse(url)


@pytest.mark.parametrize("port", ["²", "x", "0", "65536"])
def test_a_port_that_is_not_1_to_65535_in_ascii_digits_is_a_configuration_error(
    port: str,
) -> None:
    with pytest.raises(ConfigurationError, match="bad port"):
        StoreURL.parse(f"memory://h:{port}")


def test_a_bad_port_error_shows_no_piece_of_a_password() -> None:
    with pytest.raises(ConfigurationError, match="bad port") as raised:
        StoreURL.parse("redis://user:hunter/2@host/0")
    assert "hunter" not in str(raised.value)
    assert "redis://user:***@host/0" in str(raised.value)


@given(
    password=st.text(string.printable, min_size=1, max_size=40),
    encoded=st.booleans(),
    user=st.sampled_from(["", "user", "me%40corp"]),
    rest=st.sampled_from(["host", "host:6379/0", "h1:1,[::1]:2/0?prefix=app:&timeout=2", "h/#x"]),
)
def test_mask_url_never_shows_a_password(
    password: str, encoded: bool, user: str, rest: str
) -> None:
    shown = quote(password, safe="") if encoded else password
    # All that is left is the URL's skeleton: not a character of the password.
    assert mask_url(f"redis://{user}:{shown}@{rest}") == f"redis://{user}:***@{rest}"


def test_store_url_parses_hosts_credentials_and_options() -> None:
    url = StoreURL.parse("redis+sentinel://user:p%40ss@h1:26379,[::1]:26380/mymaster/0?timeout=2.5")
    assert url.scheme == "redis+sentinel"
    assert url.username == "user"
    assert url.password == "p@ss"
    assert url.hosts == (("h1", 26379), ("::1", 26380))
    assert url.path == "/mymaster/0"
    assert url.float_option("timeout", None) == 2.5
    assert url.int_option("pool_size", 10) == 10


@pytest.mark.parametrize(
    ("query", "call"),
    [
        ("timeout=soon", lambda u: u.float_option("timeout", None)),
        ("timeout=-1", lambda u: u.float_option("timeout", None)),
        ("pool=x", lambda u: u.int_option("pool", 1)),
        ("pool=0", lambda u: u.int_option("pool", 1, minimum=1)),
        ("tls=maybe", lambda u: u.bool_option("tls", False)),
        ("prefx=a", lambda u: u.reject_unknown_options({"prefix"})),
    ],
)
def test_bad_options_are_configuration_errors(query: str, call: object) -> None:
    url = StoreURL.parse(f"redis://:hunter2@host/0?{query}")
    with pytest.raises(ConfigurationError) as raised:
        call(url)  # type: ignore[operator]
    assert "hunter2" not in str(raised.value)


def test_bad_port_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        StoreURL.parse("redis://host:99999/0")


DEFAULTS = {"prefix": "session:", "timeout": 2.0, "pool": 4, "tls": False, "ca": None}


def test_store_options_take_keywords_then_the_query_then_defaults() -> None:
    url = StoreURL.parse("x://h/?prefix=q:&timeout=5&tls=yes")
    options = StoreOptions(url, {"prefix": "kw:"}, DEFAULTS)
    assert options.text("prefix") == "kw:"
    assert options.seconds("timeout") == 5.0
    assert options.flag("tls") is True
    assert options.count("pool") == 4
    assert options.text("ca") is None
    assert options.given("timeout")
    assert not options.given("pool")


@pytest.mark.parametrize(
    ("overrides", "call"),
    [
        ({"timeout": "soon"}, lambda o: o.seconds("timeout")),
        ({"timeout": 0}, lambda o: o.seconds("timeout")),
        ({"pool": True}, lambda o: o.count("pool")),
        ({"pool": -1}, lambda o: o.count("pool")),
        ({"tls": "yes"}, lambda o: o.flag("tls")),
        ({"prefix": 3}, lambda o: o.text("prefix")),
    ],
)
def test_store_options_check_keyword_types(overrides: dict[str, object], call: object) -> None:
    options = StoreOptions(StoreURL.parse("x://h/"), overrides, DEFAULTS)
    with pytest.raises(ConfigurationError):
        call(options)  # type: ignore[operator]


def test_a_credential_option_of_the_wrong_type_is_not_echoed() -> None:
    defaults = {"auth_token": None, "prefix": "session:"}
    options = StoreOptions(StoreURL.parse("x://h/"), {"auth_token": 982451653}, defaults)
    with pytest.raises(ConfigurationError, match=r"auth_token=\*\*\*: wrong type") as raised:
        options.text("auth_token")
    assert "982451653" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="prefix=7: wrong type"):
        StoreOptions(StoreURL.parse("x://h/"), {"prefix": 7}, defaults).text("prefix")


def test_store_options_reject_unknown_names_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'timeout'"):
        StoreOptions(StoreURL.parse("x://h/"), {"timeuot": 1}, DEFAULTS)
    with pytest.raises(ConfigurationError, match="did you mean 'prefix'"):
        StoreOptions(StoreURL.parse("x://h/?prefx=a"), {}, DEFAULTS)
