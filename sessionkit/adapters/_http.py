"""HTTP details the WSGI and ASGI middlewares share: https detection and response headers."""

from __future__ import annotations


def forwarded_https(header: str | None, direct: bool) -> bool:
    """Whether the first value of an ``X-Forwarded-Proto`` header says https; ``direct`` (the
    connection's own scheme) when the proxy sent no such header."""
    if not header:
        return direct
    return header.split(",", 1)[0].strip().lower() == "https"


def is_server_error(status: int) -> bool:
    """No session is saved for a 5xx response: the request did not complete."""
    return status >= 500


def vary_with_cookie(vary: str) -> str:
    """A ``Vary`` header value that also names ``Cookie``."""
    tokens = {token.strip().lower() for token in vary.split(",")}
    if "cookie" in tokens or "*" in tokens:
        return vary
    return f"{vary}, Cookie" if vary.strip() else "Cookie"
