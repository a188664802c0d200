"""Reading the session cookie from a Cookie header and rendering its Set-Cookie header."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Literal

from .errors import ConfigurationError

SameSite = Literal["lax", "strict", "none"]
Priority = Literal["low", "medium", "high"]
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"
_LAST_DATE = 253402300799  # Fri, 31 Dec 9999 23:59:59 GMT: Expires goes no further

# RFC 6265, section 4.1.1: a cookie name is an RFC 2616 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A host name (or an IPv4 address), with the leading dot RFC 6265 allows and ignores.
_DOMAIN = re.compile(r"\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# A URL path as browsers match it: RFC 3986 path characters, percent-encoded beyond them,
# less ";" and "," (which would end the attribute).
_PATH = re.compile(r"[A-Za-z0-9._~%!$&'()*+=:@/-]*")


# Cookie headers read lately, with what they held: a client sends the same header request
# after request, and finding a cookie in it costs 6,000 instructions (12,000 among four
# cookies) against 800 for a lookup. Headers longer than the last constant are not kept.
_parsed: dict[tuple[str, str], tuple[str, ...]] = {}
_PARSED_KEPT = 4096
_PARSED_LONGEST = 1024


def cookie_values(header: str | None, name: str) -> tuple[str, ...]:
    """Every value of the cookie ``name`` in a Cookie request header, in order.

    Browsers send several cookies of one name when paths or domains differ; all are returned
    so that the caller can try each. Pairs are separated by ``;``, and also by ``,``, which a
    cookie value cannot hold (RFC 6265) but which WSGI servers use to join a request's
    several Cookie header lines. Malformed pairs are skipped rather than spoiling the rest.
    """
    if not header or name not in header:
        return ()
    key = (header, name)
    values = _parsed.get(key)
    if values is None:
        values = _find_values(header, name)
        if len(header) <= _PARSED_LONGEST:
            if len(_parsed) >= _PARSED_KEPT:
                _parsed.clear()
            _parsed[key] = values
    return values


def _find_values(header: str, name: str) -> tuple[str, ...]:
    values = []
    for pair in header.replace(",", ";").split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values.append(value)
    return tuple(values)


@dataclass(frozen=True, kw_only=True)
class CookieOptions:
    """The attributes of the session cookie; checked once, at construction.

    ``secure="auto"`` sends Secure on https requests only, except where browsers would drop a
    cookie without it: a ``__Host-`` or ``__Secure-`` name, or ``samesite="none"``, make the
    cookie Secure always (and ``secure=False`` with any of them is an error). ``domain`` must
    be a host name (IDNs in their ``xn--`` form) and ``path`` a URL path, percent-encoded;
    neither may hold ``;``, ``,``, white space or control characters.
    """

    name: str = "session"
    path: str = "/"
    domain: str | None = None
    secure: bool | Literal["auto"] = "auto"
    httponly: bool = True
    samesite: SameSite | None = "lax"
    partitioned: bool = False
    priority: Priority | None = None
    _rendered: dict[tuple[int | None, bool, int], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _TOKEN.fullmatch(self.name):
            raise ConfigurationError(
                f"invalid cookie name {self.name!r}: letters, digits and !#$%&'*+-.^_`|~ only"
            )
        if self.name.startswith("$"):
            # RFC 2109 attribute names ($Path, $Domain …): parsers such as http.cookies drop
            # a cookie named so, and the session with it.
            raise ConfigurationError(f"invalid cookie name {self.name!r}: it starts with '$'")
        if not isinstance(self.path, str) or not _PATH.fullmatch(self.path):
            raise ConfigurationError(
                f"invalid cookie path {self.path!r}: a URL path (percent-encode anything "
                "else), without ';' or ','"
            )
        if self.domain is not None and (
            not isinstance(self.domain, str)
            or (self.domain and (len(self.domain) > 253 or not _DOMAIN.fullmatch(self.domain)))
        ):
            raise ConfigurationError(
                f"invalid cookie domain {self.domain!r}: a host name such as 'example.com' "
                "(international names in their xn-- form)"
            )
        samesite = self.samesite.lower() if isinstance(self.samesite, str) else self.samesite
        if samesite not in ("lax", "strict", "none", None):
            raise ConfigurationError("samesite must be 'lax', 'strict', 'none' or None")
        object.__setattr__(self, "samesite", samesite)
        priority = self.priority.lower() if isinstance(self.priority, str) else self.priority
        if priority not in ("low", "medium", "high", None):
            raise ConfigurationError("priority must be 'low', 'medium', 'high' or None")
        object.__setattr__(self, "priority", priority)
        if self.secure not in (True, False, "auto"):
            raise ConfigurationError("secure must be True, False or 'auto'")
        if self.name.startswith("__Host-"):
            if self.secure is False or self.domain is not None or self.path != "/":
                raise ConfigurationError(
                    "a __Host- cookie needs secure=True (or 'auto'), path='/' and no domain"
                )
            object.__setattr__(self, "secure", True)
        elif self.name.startswith("__Secure-"):
            if self.secure is False:
                raise ConfigurationError("a __Secure- cookie needs secure=True (or 'auto')")
            object.__setattr__(self, "secure", True)
        if self.partitioned and self.secure is False:
            raise ConfigurationError("a partitioned cookie needs secure=True (or 'auto')")
        if samesite == "none":
            if self.secure is False:
                raise ConfigurationError("samesite='none' needs secure=True (or 'auto')")
            object.__setattr__(self, "secure", True)

    def render(self, value: str, max_age: int | None, *, https: bool) -> str:
        """The Set-Cookie header value for ``value``; ``max_age=None`` makes a browser-session
        cookie, ``max_age=0`` one that the browser deletes at once.

        ``value`` must already be cookie-safe (a signed id is). The attributes are reused
        within the same second, since only Expires changes with time.
        """
        now = int(time.time())
        key = (max_age, https, now)
        attributes = self._rendered.get(key)
        if attributes is None:
            attributes = self._render_attributes(max_age, https, now)
            self._rendered.clear()
            self._rendered[key] = attributes
        return f"{self.name}={value}{attributes}"

    def _render_attributes(self, max_age: int | None, https: bool, now: int) -> str:
        """``; Name=value`` for each attribute set, in the order (and spelling) of the
        standard library's ``http.cookies.Morsel``, which rendered them before."""
        parts = []
        if self.domain:
            parts.append(f"; Domain={self.domain}")
        if max_age is not None:
            if max_age > 0:
                expires = formatdate(min(now + max_age, _LAST_DATE), usegmt=True)
            else:
                expires = EXPIRED
            parts.append(f"; expires={expires}")
        if self.httponly:
            parts.append("; HttpOnly")
        if max_age is not None:
            parts.append(f"; Max-Age={max_age}")
        if self.partitioned:
            parts.append("; Partitioned")
        if self.path:
            parts.append(f"; Path={self.path}")
        if self.priority:
            parts.append(f"; Priority={self.priority.capitalize()}")
        if self.samesite:
            parts.append(f"; SameSite={self.samesite.capitalize()}")
        if https if self.secure == "auto" else self.secure:
            parts.append("; Secure")
        return "".join(parts)
