"""Carrying the session id in headers instead of a cookie: for APIs and mobile clients.

::

    from sessionkit.adapters.tokens import TokenTransport

    app = SessionMiddleware(app, manager, token=TokenTransport())

The client sends ``Authorization: Bearer <token>``; a response that creates, changes the id
of, or refreshes the session carries the token to use from then on in ``Session-Token``
(an empty value: the session is gone, drop the token). The token is the same signed id a
cookie would carry: signing, rotation, ``regenerate`` and ``destroy`` work alike.

What changes against cookies:

- CSRF: browsers never attach a header on their own, so cross-site requests cannot ride on a
  token; there is no SameSite to rely on or to get wrong.
- Storage: the client keeps the token (a mobile keychain; for browser JavaScript, memory or
  storage that scripts on the page can read, so an XSS can steal it, unlike an HttpOnly
  cookie). Prefer cookies for pages a browser renders.
- CORS: a browser app on another origin must be allowed to send the request header
  (``Access-Control-Allow-Headers: Authorization``) and to read the response header
  (``Access-Control-Expose-Headers: Session-Token``).
- Caches: responses vary with the request header, so the adapters send ``Vary`` with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigurationError

_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TokenTransport:
    """Where the token travels.

    :param request_header: the header the client sends the token in.
    :param scheme: the authorization scheme before the token (``"Bearer"``), or None for a
        header that holds the token alone.
    :param response_header: the header a new or refreshed token comes back in.
    :param cookies: also take the session cookie from requests that bring no token (a site
        whose pages use cookies and whose API uses tokens); those get cookies back.
    """

    request_header: str = "Authorization"
    scheme: str | None = "Bearer"
    response_header: str = "Session-Token"
    cookies: bool = False

    def __post_init__(self) -> None:
        for name in (self.request_header, self.response_header):
            if not _HEADER_NAME.fullmatch(name):
                raise ConfigurationError(f"invalid header name {name!r}")

    @property
    def environ_key(self) -> str:
        """The request header's key in a WSGI environ."""
        return "HTTP_" + self.request_header.upper().replace("-", "_")

    def token_in(self, value: str | None) -> str | None:
        """The token in a request header's value, or None if there is none."""
        if not value:
            return None
        if self.scheme is not None:
            scheme, _, value = value.strip().partition(" ")
            if scheme.lower() != self.scheme.lower():
                return None
        value = value.strip()
        return value if _TOKEN.fullmatch(value) else None
