"""The Django middleware's session cookie, read and set as Django's own middleware does:
the cookie value against ``request.COOKIES``, the cookie set against ``set_cookie``'s, the
settings snapshot against ``override_settings``, and the middleware on Django's async path."""

from __future__ import annotations

import asyncio
import itertools
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.test import AsyncClient, Client, RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st

from sessionkit.adapters._django_cookies import session_key, set_session_cookie
from sessionkit.adapters.django import SessionStore

OUR_MIDDLEWARE = ["sessionkit.adapters.django.SessionMiddleware"]
KEY = "k" * 43


@pytest.mark.parametrize(
    "header",
    [
        "",
        f"sessionid={KEY}",
        f" sessionid = {KEY} ",
        f"a=1; sessionid={KEY}; b=2",
        f"sessionid=first; sessionid={KEY}",  # the last of equal names wins
        f"sessionid={KEY}; sessionid=",
        "xsessionid=no; sessionidx=no",
        "sessionid",  # a chunk without "=" is a value with an empty name
        "=sessionid",
        'sessionid="quoted\\054value"',
        'sessionid="',
        "sessionid=caf\xc3\xa9",  # UTF-8 as WSGI gives it, in latin-1
        "a=b;;; ;sessionid=v=w",
    ],
)
def test_the_session_key_is_what_request_cookies_holds(header: str) -> None:
    request = RequestFactory().get("/", HTTP_COOKIE=header)
    expected = RequestFactory().get("/", HTTP_COOKIE=header).COOKIES.get("sessionid")
    assert session_key(request, "sessionid") == expected


@given(st.text(alphabet=st.sampled_from('sesionid=;" \t,\\abc\xe9'), max_size=40))
def test_any_cookie_header_gives_what_django_parses(header: str) -> None:
    request = RequestFactory().get("/", HTTP_COOKIE=header)
    assert session_key(request, "sessionid") == parse_cookie(header).get("sessionid")


def test_cookies_a_test_set_on_the_request_are_the_ones_read() -> None:
    request = RequestFactory().get("/", HTTP_COOKIE="sessionid=from-the-header")
    request.COOKIES["sessionid"] = "set-by-the-test"
    assert session_key(request, "sessionid") == "set-by-the-test"


ATTRIBUTES = [
    {"max_age": max_age, "expires": expires, "domain": domain, "path": path, "secure": secure,
     "httponly": httponly, "samesite": samesite}
    for (max_age, expires), domain, path, secure, httponly, samesite in itertools.product(
        [(1209600, "Tue, 15 Dec 2026 00:24:39 GMT"), (None, None),
         (0, "Thu, 01 Jan 1970 00:00:00 GMT")],
        [None, ".example.com"], ["/", "/app"], [None, True], [None, True],
        ["Lax", "Strict", "None", None],
    )
]  # fmt: skip


@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_the_cookie_set_is_the_one_set_cookie_makes(attributes: dict[str, Any]) -> None:
    ours, djangos = HttpResponse(), HttpResponse()
    set_session_cookie(ours, "sessionid", KEY, **attributes)
    djangos.set_cookie("sessionid", KEY, **attributes)
    assert ours.cookies["sessionid"] == djangos.cookies["sessionid"]
    assert ours.cookies.output() == djangos.cookies.output()
    assert ours.cookies["sessionid"].value == KEY


def _set_samesite(morsel: Any) -> None:
    morsel["samesite"] = "Strict"


def _drop_samesite(morsel: Any) -> None:
    del morsel["samesite"]


def _merge_domain(morsel: Any) -> None:
    morsel |= {"domain": "x.example"}


CHANGES: dict[str, Callable[[Any], object]] = {
    "set an item": _set_samesite,
    "delete an item": _drop_samesite,
    "pop": lambda morsel: morsel.pop("path"),
    "popitem": lambda morsel: morsel.popitem(),
    "clear": lambda morsel: morsel.clear(),
    "setdefault": lambda morsel: (morsel.pop("comment"), morsel.setdefault("comment", "c")),
    "update": lambda morsel: morsel.update({"secure": True}),
    "|=": _merge_domain,
    "a new value": lambda morsel: morsel.set("sessionid", "other", "other"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_cookie_changed_after_it_is_set_renders_the_change(change: str) -> None:
    attributes = {"max_age": 60, "expires": "Tue, 15 Dec 2026 00:24:39 GMT", "path": "/",
                  "httponly": True, "samesite": "Lax"}  # fmt: skip
    ours, djangos = HttpResponse(), HttpResponse()
    set_session_cookie(ours, "sessionid", KEY, **attributes)
    djangos.set_cookie("sessionid", KEY, **attributes)
    for response in (ours, djangos):
        CHANGES[change](response.cookies["sessionid"])
    assert ours.cookies.output() == djangos.cookies.output()


def test_a_response_class_with_its_own_set_cookie_gets_it_called() -> None:
    class Strict(HttpResponse):  # type: ignore[misc]
        def set_cookie(self, key: str, value: str = "", **attributes: Any) -> None:
            super().set_cookie(key, value, **{**attributes, "samesite": "Strict"})

    response = Strict()
    set_session_cookie(response, "sessionid", KEY, max_age=None, path="/", samesite="Lax")
    assert response.cookies["sessionid"]["samesite"] == "Strict"


def test_a_response_with_the_cookie_pickles_as_django_caches_it() -> None:
    response = HttpResponse()
    set_session_cookie(response, "sessionid", KEY, max_age=None, path="/", samesite="Lax")
    copy = pickle.loads(pickle.dumps(response))
    assert copy.cookies.output() == response.cookies.output()


def test_a_cookie_the_view_made_keeps_what_it_gave_it() -> None:
    response = HttpResponse()
    response.set_cookie("sessionid", "old", domain="view.example")
    set_session_cookie(response, "sessionid", KEY, max_age=None, path="/", samesite="Lax")
    assert response.cookies["sessionid"]["domain"] == "view.example"
    assert response.cookies["sessionid"].value == KEY


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_the_middleware_follows_overridden_session_settings() -> None:
    client = Client()
    client.get("/")
    settings = {"SESSION_COOKIE_NAME": "sid", "SESSION_COOKIE_AGE": 60}
    with override_settings(SESSION_COOKIE_PATH="/here", **settings):
        response = client.get("/")
        cookie = response.cookies["sid"]
        assert (cookie["max-age"], cookie["path"], response.content) == (60, "/here", b"1")
        assert SessionStore().get_expiry_age() == 60
    with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=True):
        assert client.get("/").cookies["sessionid"]["max-age"] == ""
    assert client.get("/").cookies["sessionid"]["max-age"] == 1209600


@override_settings(MIDDLEWARE=OUR_MIDDLEWARE)
def test_the_middleware_serves_djangos_async_handler() -> None:
    async def visits() -> list[bytes]:
        client = AsyncClient()
        return [(await client.get("/")).content for _ in range(3)]

    assert asyncio.run(visits()) == [b"1", b"2", b"3"]
