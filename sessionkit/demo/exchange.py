"""A request and its response as the demo's views see them, apart from any server."""

from __future__ import annotations

import json
from dataclasses import dataclass

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request that the demo reads."""

    method: str
    path: str
    accept: str = ""
    content_type: str = ""
    user_agent: str = ""
    body: bytes = b""

    @property
    def wants_html(self) -> bool:
        """Whether the client takes HTML: browsers say so in ``Accept``; curl and the load
        harness do not, and get the JSON and plain-text answers."""
        return "text/html" in self.accept.lower()

    @property
    def media_type(self) -> str:
        """The body's media type, without parameters, in lower case ("" if none was sent)."""
        return self.content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Response:
    """What a view answers; the server adapters send it as it is."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def header_list(self) -> list[tuple[str, str]]:
        """Every header to send, ``Content-Type`` and ``Content-Length`` first."""
        return [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            *self.headers,
        ]


def text(value: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, "text/plain; charset=utf-8", value.encode(), headers)


def as_json(value: object) -> Response:
    return Response(200, JSON_TYPE, json.dumps(value).encode())


# A page shows this session's data: no cache may keep it, and no other site may frame it or
# load anything into it (the pages need no script, no image and no font from anywhere).
PAGE_HEADERS = (
    ("Cache-Control", "no-store"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("Referrer-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
)


def html(page: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, "text/html; charset=utf-8", page.encode(), PAGE_HEADERS + headers)


def see_other(location: str) -> Response:
    """303 See Other: after a form's POST the browser GETs ``location``, so reloading the
    page it lands on never sends the form again."""
    return Response(303, "text/plain; charset=utf-8", b"", (("Location", location),))
