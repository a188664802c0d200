"""Store URLs: any text parses or is a ConfigurationError; a password or a credential option,
raw or percent-encoded, never shows in a masked URL or an error message."""

from __future__ import annotations

import string
from contextlib import suppress
from urllib.parse import quote

from hypothesis import assume, given
from hypothesis import strategies as st

from sessionkit import ConfigurationError, open_store
from sessionkit.url import StoreURL, mask_url, redact
from tests.fuzz import FUZZ
from tests.fuzz.strategies import any_text

schemes = st.sampled_from(["redis", "rediss", "redis+sentinel", "postgresql+psycopg", "x"])
users = st.sampled_from(["", "user", "me%40corp", "a.b-c_d"])
hosts = st.sampled_from(
    ["host", "host:6379", "h1:1,h2:2", "[::1]:6380", "10.0.0.1", "h:99999", "h:x", ""]
)
paths = st.sampled_from(["", "/", "/0", "/mymaster/0", "/var/lib/s"])
queries = st.sampled_from(["", "?prefix=app:", "?timeout=2&prefix=a", "?x=1&y"])
secrets = st.text(string.printable, min_size=6, max_size=30)


@FUZZ
@given(text=any_text | st.text(string.printable, max_size=80))
def test_any_text_parses_or_is_a_configuration_error(text: str) -> None:
    for candidate in (text, f"redis://{text}", f"redis://u:p@{text}"):
        with suppress(ConfigurationError):
            StoreURL.parse(candidate)
        mask_url(candidate)


@FUZZ
@given(suffix=any_text)
def test_open_store_on_a_core_scheme_opens_or_is_a_configuration_error(suffix: str) -> None:
    for url in (f"memory://{suffix}", f"memory://?{suffix}", f"nosuch://{suffix}"):
        with suppress(ConfigurationError):
            open_store(url).close()


@FUZZ
@given(
    scheme=schemes,
    user=users,
    password=secrets,
    encoded=st.booleans(),
    host=hosts,
    path=paths,
    query=queries,
)
def test_a_password_never_shows(
    scheme: str, user: str, password: str, encoded: bool, host: str, path: str, query: str
) -> None:
    skeleton = f"{scheme}://{user}:***@{host}{path}{query}"
    assume(password not in skeleton)
    written = quote(password, safe="") if encoded else password
    url = f"{scheme}://{user}:{written}@{host}{path}{query}"
    masked = mask_url(url)
    assert password not in masked
    assert written not in masked
    try:
        parsed = StoreURL.parse(url)
    except ConfigurationError as error:
        shown = str(error)
    else:
        shown = parsed.masked
        if encoded:
            assert parsed.password == password
    assert password not in shown
    assert written not in shown
    assert password not in redact(f"failed: {url} ({password}, {written})", url)


@FUZZ
@given(
    name=st.sampled_from(["password", "sentinel_password", "AUTH_TOKEN", "client_secret"]),
    value=st.text(string.printable.replace("&", ""), min_size=6, max_size=30),
    encoded=st.booleans(),
    before=queries,
)
def test_a_credential_option_never_shows(name: str, value: str, encoded: bool, before: str) -> None:
    skeleton = f"redis://h/0{before}{'&' if before else '?'}{name}=***"
    assume(value not in skeleton)
    written = quote(value, safe="") if encoded else value
    url = f"redis://h/0{before}{'&' if before else '?'}{name}={written}"
    assert mask_url(url) == skeleton
    assert value not in redact(f"{url}: {value}", url)


@FUZZ
@given(text=any_text | st.text(string.printable, max_size=80))
def test_masking_twice_changes_nothing_more(text: str) -> None:
    for url in (text, f"redis://{text}"):
        once = mask_url(url)
        assert mask_url(once) == once
