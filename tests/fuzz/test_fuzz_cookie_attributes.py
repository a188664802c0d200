"""Cookie attributes: whatever options CookieOptions accepts render a Set-Cookie header with
no injected line or attribute, which the standard library parses back to the same values."""

from __future__ import annotations

import string
from http.cookies import SimpleCookie
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sessionkit import ConfigurationError
from sessionkit.cookies import CookieOptions
from tests.fuzz import FUZZ
from tests.fuzz.strategies import any_text

ATTRIBUTES = {"Domain", "expires", "HttpOnly", "Max-Age", "Partitioned", "Path", "Priority"}
ATTRIBUTES |= {"SameSite", "Secure"}
near_ascii = st.text(string.printable + "é\x00\x7f\u2028\ud800", max_size=30)

options = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["session", "__Host-s", "__Secure-s", "sid"]) | near_ascii,
        "path": st.sampled_from(["/", "/app", "", "/a%20b"]) | near_ascii | any_text,
        "domain": st.sampled_from([None, "example.com", ".example.com", ""]) | near_ascii,
        "secure": st.sampled_from([True, False, "auto", "yes", 1, None]),
        "httponly": st.booleans(),
        "samesite": st.sampled_from(["lax", "Strict", "NONE", None, "", "x"]) | near_ascii,
        "partitioned": st.booleans(),
        "priority": st.sampled_from(["low", "Medium", "HIGH", None, "urgent"]),
    },
)


@FUZZ
@given(
    kwargs=options,
    value=st.text(string.ascii_letters + string.digits + "-_.", max_size=90),
    max_age=st.none() | st.integers(0, 10**13),
    https=st.booleans(),
)
def test_accepted_options_render_a_header_that_parses_back(
    kwargs: dict[str, Any], value: str, max_age: int | None, https: bool
) -> None:
    try:
        cookie = CookieOptions(**kwargs)
    except ConfigurationError as error:
        refused = str(error)
    else:
        refused = ""
    assert "\r" not in refused
    assert "\n" not in refused
    if refused:
        return
    header = cookie.render(value, max_age, https=https)
    assert header.isascii()
    assert header.isprintable()
    first, *rest = header.split("; ")
    assert first == f"{cookie.name}={value}"
    names = [part.partition("=")[0] for part in rest]
    assert len(names) == len(set(names))
    assert set(names) <= ATTRIBUTES
    # Python's SimpleCookie (before 3.14) knows neither Partitioned nor Priority.
    known = [part for part in rest if part.partition("=")[0] not in ("Partitioned", "Priority")]
    parsed = SimpleCookie("; ".join([first, *known]))[cookie.name]
    assert parsed.value == value
    assert parsed["path"] == cookie.path
    assert parsed["domain"] == (cookie.domain or "")
    secure = https if cookie.secure == "auto" else bool(cookie.secure)
    assert ("Secure" in names) == secure
    if cookie.samesite == "none" or cookie.name.startswith(("__Host-", "__Secure-")):
        assert "Secure" in names
