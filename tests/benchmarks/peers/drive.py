"""Requests as direct calls into a WSGI or ASGI application: no sockets, no test client.

A request is a GET of ``path`` with a prepared ``Cookie`` header; the response is read whole
(and a WSGI body closed) as a server would. ``run(n, before, after)`` makes ``n`` such
requests with ``before()`` called just before the first and ``after()`` just after the last:
the measuring code passes its timer or callgrind's markers there, so for an ASGI app they sit
inside the running event loop and no loop start-up is counted.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Marker = Callable[[], object]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class WSGIDriver:
    """Calls a WSGI application with a fresh environ per request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.base: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "localhost",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }

    def request(self, path: str, cookie: str | None) -> Response:
        environ = dict(self.base, PATH_INFO=path)
        environ["wsgi.input"] = io.BytesIO(b"")
        if cookie is not None:
            environ["HTTP_COOKIE"] = cookie
        response = Response(0)

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            response.status = int(status[:3])
            response.headers = headers

        body = self.app(environ, start_response)
        try:
            response.body = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return response

    def run(self, path: str, cookie: str | None, n: int, before: Marker, after: Marker) -> None:
        request = self.request
        before()
        for _ in range(n):
            request(path, cookie)
        after()


class ASGIDriver:
    """Calls an ASGI application on one event loop kept for the whole run."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    async def arequest(self, path: str, cookie: str | None) -> Response:
        headers = [(b"host", b"localhost")]
        if cookie is not None:
            headers.append((b"cookie", cookie.encode("latin-1")))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        response = Response(0)
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = [
                    (key.decode("latin-1"), value.decode("latin-1"))
                    for key, value in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        response.body = b"".join(chunks)
        return response

    def request(self, path: str, cookie: str | None) -> Response:
        return self.loop.run_until_complete(self.arequest(path, cookie))

    def run(self, path: str, cookie: str | None, n: int, before: Marker, after: Marker) -> None:
        async def loop() -> None:
            arequest = self.arequest
            before()
            for _ in range(n):
                await arequest(path, cookie)
            after()

        self.loop.run_until_complete(loop())

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


Driver = WSGIDriver | ASGIDriver
