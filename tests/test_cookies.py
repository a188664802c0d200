"""The session cookie: its attributes checked at construction, its Set-Cookie header rendered,
its value found in Cookie headers however the server joined them."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from sessionkit import ConfigurationError, SessionManager
from sessionkit.adapters.wsgi import SessionMiddleware
from sessionkit.cookies import (
    _PARSED_KEPT,
    _PARSED_LONGEST,
    EXPIRED,
    CookieOptions,
    _parsed,
    cookie_values,
)
from tests.counting_app import count_visits
from tests.helpers import attributes_of, cookie_of

NOW = 1_700_000_000.75  # Tue, 14 Nov 2023 22:13:20 GMT, and three quarters of a second


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.time() returns the list's one item (which the test may move)."""
    now = [NOW]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


# -- rendering


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    ("path", "domain", "secure", "httponly", "samesite"),
    list(
        itertools.product(
            ["/", "/app/", ""],
            [None, "example.com"],
            [True, False],
            [True, False],
            ["lax", "strict", None],
        )
    ),
)
@pytest.mark.parametrize("max_age", [None, 0, 3600])
def test_renders_what_the_standard_librarys_morsel_renders(
    path: str,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: Any,
    max_age: int | None,
) -> None:
    options = CookieOptions(
        path=path, domain=domain, secure=secure, httponly=httponly, samesite=samesite
    )
    morsel: Morsel[str] = Morsel()
    morsel.set("session", "v.sig", "v.sig")
    attributes: dict[str, Any] = {
        "path": path,
        "domain": domain or "",
        "secure": secure,
        "httponly": httponly,
        "samesite": samesite.capitalize() if samesite else "",
    }
    if max_age is not None:
        attributes.update({"max-age": max_age, "expires": max_age if max_age else EXPIRED})
    morsel.update(attributes)
    assert options.render("v.sig", max_age, https=False) == morsel.OutputString()


@pytest.mark.usefixtures("frozen_time")
def test_every_attribute_in_its_place() -> None:
    options = CookieOptions(
        name="__Secure-sid",
        domain=".example.com",
        path="/app",
        samesite="none",
        partitioned=True,
        priority="high",
    )
    assert options.render("v", 60, https=False) == (
        "__Secure-sid=v; Domain=.example.com; expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; "
        "Max-Age=60; Partitioned; Path=/app; Priority=High; SameSite=None; Secure"
    )
    assert options.render("", 0, https=True) == (
        f"__Secure-sid=; Domain=.example.com; expires={EXPIRED}; HttpOnly; Max-Age=0; "
        "Partitioned; Path=/app; Priority=High; SameSite=None; Secure"
    )


def test_expires_follows_the_clock_from_one_second_to_the_next(frozen_time: list[float]) -> None:
    options = CookieOptions()
    first = options.render("v", 10, https=False)
    frozen_time[0] += 0.2
    assert options.render("v", 10, https=False) == first
    frozen_time[0] += 0.1  # into the next second
    later = options.render("v", 10, https=False)
    assert attributes_of(first)["expires"] == "Tue, 14 Nov 2023 22:13:30 GMT"
    assert attributes_of(later)["expires"] == "Tue, 14 Nov 2023 22:13:31 GMT"
    assert options.render("v", 10, https=True).endswith("; Secure")
    assert options.render("v", None, https=False) == "session=v; HttpOnly; Path=/; SameSite=Lax"


def test_expires_stops_at_the_year_9999(frozen_time: list[float]) -> None:
    header = CookieOptions().render("v", 10**12, https=False)
    assert attributes_of(header)["expires"] == "Fri, 31 Dec 9999 23:59:59 GMT"
    assert attributes_of(header)["max-age"] == str(10**12)


def test_options_are_keywords_only() -> None:
    with pytest.raises(TypeError):
        CookieOptions("session", "/")  # type: ignore[call-arg]


# -- attributes checked at construction


@pytest.mark.parametrize(
    "bad",
    [
        "example.com; Secure",
        "a.com,b.com",
        "example.com\r\nSet-Cookie: evil=1",
        "example.com\n",
        "exa\x00mple.com",
        "exa\x7fmple.com",
        "exa mple.com",
        "bücher.example",
        "example..com",
        "example.com.",
        "x" * 254,
        7,
    ],
)
def test_a_bad_domain_is_a_configuration_error_that_echoes_no_line_break(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="invalid cookie domain") as caught:
        CookieOptions(domain=bad)
    assert "\r" not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    ["/; Secure", "/a,b", "/\r\nSet-Cookie: evil=1", "/\n", "/a\tb", "/a b", "/\x00", "/ä", None],
)
def test_a_bad_path_is_a_configuration_error_that_echoes_no_line_break(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="invalid cookie path") as caught:
        CookieOptions(path=bad)
    assert "\r" not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "bad", ["", "a b", "a;b", "a=b", "a,b", 'a"b', "a\x00", "sé", "a(b)", "$", "$Path"]
)
def test_a_name_that_is_not_a_token_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid cookie name"):
        CookieOptions(name=bad)


@pytest.mark.parametrize(
    ("domain", "path"),
    [
        ("example.com", "/"),
        (".example.com", "/app/"),
        ("localhost", "/~user/a%20b"),
        ("127.0.0.1", "/a:b@c!$&'()*+="),
        ("xn--bcher-kva.example", ""),
        ("my_service", "/"),
        ("", "/"),
    ],
)
def test_host_names_and_url_paths_are_accepted(
    frozen_time: list[float], domain: str, path: str
) -> None:
    header = CookieOptions(domain=domain, path=path).render("v", 60, https=True)
    parsed = SimpleCookie(header)["session"]
    assert parsed.value == "v"
    assert parsed["domain"] == domain
    assert parsed["path"] == path


def test_samesite_none_makes_the_cookie_secure_even_over_http() -> None:
    assert CookieOptions(samesite="none").secure is True
    manager = SessionManager(
        "memory://", secret="s-0123456789abcdefghijklmnopqrstuv", samesite="None"
    )  # type: ignore[arg-type]
    session = manager.open(None)
    session["a"] = 1
    attributes = attributes_of(manager.commit(session, https=False) or "")
    assert attributes["samesite"] == "None"
    assert "secure" in attributes
    with pytest.raises(ConfigurationError, match="samesite='none' needs secure=True"):
        CookieOptions(samesite="none", secure=False)


# -- finding the cookie in the request


@pytest.mark.parametrize(
    "header",
    [
        "session=S",
        "a=1; session=S",
        "a=1, session=S",  # two Cookie lines joined by a WSGI server
        "a=1,session=S;b=2",
        'session="S"',
        " session = S ,b=2",
    ],
)
def test_the_session_cookie_is_found_however_pairs_are_joined(header: str) -> None:
    assert cookie_values(header, "session") == ("S",)


def test_every_value_of_the_name_is_returned_in_order() -> None:
    header = "session=first, other=1; session=second;session2=x, session=third"
    assert cookie_values(header, "session") == ("first", "second", "third")
    assert cookie_values(None, "session") == ()
    assert cookie_values("sessionx=1", "session") == ()


def test_headers_read_again_give_the_same_values_and_those_kept_are_bounded() -> None:
    header = "a=1; session=first; session=second"
    assert cookie_values(header, "session") == ("first", "second")
    assert (header, "session") in _parsed
    assert cookie_values(header, "session") == ("first", "second")  # from what was kept
    assert cookie_values(header, "a") == ("1",)  # kept per name
    long_header = "session=x; " + "b" * _PARSED_LONGEST
    assert cookie_values(long_header, "session") == ("x",)
    assert (long_header, "session") not in _parsed
    for n in range(_PARSED_KEPT + 10):
        assert cookie_values(f"session={n}", "session") == (str(n),)
    assert len(_parsed) <= _PARSED_KEPT


def wsgi_get(app: Any, cookie: str | None) -> tuple[bytes, list[tuple[str, str]]]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    seen: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.extend(headers)
        return lambda data: None

    return b"".join(app(environ, start_response)), seen


def test_the_wsgi_middleware_keeps_the_session_of_two_cookie_lines_joined_with_a_comma() -> None:
    app = SessionMiddleware(
        count_visits, SessionManager("memory://", secret="s-0123456789abcdefghijklmnopqrstuv")
    )
    body, headers = wsgi_get(app, None)
    session_cookie = cookie_of(next(v for k, v in headers if k == "Set-Cookie"))
    assert body == b"1"
    joined = [
        f"theme=dark,{session_cookie}",
        f"theme=dark, {session_cookie}",
        f"{session_cookie},a",
    ]
    assert [wsgi_get(app, header)[0] for header in joined] == [b"2", b"3", b"4"]


def http_get(port: int, extra_headers: bytes = b"") -> bytes:
    """One request on a raw socket, so that header lines go out exactly as written."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"GET / HTTP/1.1\r\nHost: test\r\n" + extra_headers + b"Connection: close\r\n\r\n"
        )
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    return response


def test_two_cookie_lines_through_gunicorn_keep_the_session(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    # gunicorn serves a socket that is listening already, so no request can come too early.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        bind = f"fd://{listener.fileno()}"
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", bind, "tests.counting_app:app"],
            pass_fds=(listener.fileno(),),
            cwd=Path(__file__).parent.parent,
            env={**os.environ, "HOME": str(tmp_path)},  # where gunicorn may keep its files
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first = http_get(port)
            set_cookie = next(
                line.split(b":", 1)[1].strip().decode()
                for line in first.split(b"\r\n")
                if line.lower().startswith(b"set-cookie:")
            )
            lines = f"Cookie: theme=dark\r\nCookie: {cookie_of(set_cookie)}\r\n".encode()
            second = http_get(port, lines)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
    assert second.endswith(b"\r\n1\r\n2\r\n0\r\n\r\n")  # the chunked body "2": the second visit
