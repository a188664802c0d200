"""Reading the session cookie from a Cookie header and rendering its Set-Cookie header."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.cookies import Morsel
from typing import Any, ClassVar, Literal

from .errors import ConfigurationError

SameSite = Literal["lax", "strict", "none"]
Priority = Literal["low", "medium", "high"]
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


class _Morsel(Morsel[str]):
    """The standard library's Morsel, taught the Partitioned and Priority attributes."""

    _reserved: ClassVar[dict[str, str]] = {
        **Morsel._reserved,  # type: ignore[attr-defined]
        "partitioned": "Partitioned",
        "priority": "Priority",
    }
    _flags = Morsel._flags | {"partitioned"}  # type: ignore[attr-defined]


def cookie_values(header: str | None, name: str) -> list[str]:
    """Every value of the cookie ``name`` in a Cookie request header, in order.

    Browsers send several cookies of one name when paths or domains differ; all are returned
    so that the caller can try each. Malformed pairs are skipped rather than spoiling the rest.
    """
    if not header or name not in header:
        return []
    values = []
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values.append(value)
    return values


@dataclass(frozen=True)
class CookieOptions:
    """The attributes of the session cookie; checked once, at construction."""

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
        if not self.name or any(c in self.name for c in ' ;,="\t\r\n'):
            raise ConfigurationError(f"invalid cookie name {self.name!r}")
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
        if samesite == "none" and self.secure is False:
            raise ConfigurationError("samesite='none' needs secure=True (or 'auto')")

    def render(self, value: str, max_age: int | None, *, https: bool) -> str:
        """The Set-Cookie header value for ``value``; ``max_age=None`` makes a browser-session
        cookie, ``max_age=0`` one that the browser deletes at once.

        ``value`` must already be cookie-safe (a signed id is). The attributes are rendered by
        the standard library's Morsel and reused within the same second, since only Expires
        changes with time.
        """
        key = (max_age, https, int(time.time()))
        attributes = self._rendered.get(key)
        if attributes is None:
            attributes = self._render_attributes(max_age, https)
            self._rendered.clear()
            self._rendered[key] = attributes
        return f"{self.name}={value}{attributes}"

    def _render_attributes(self, max_age: int | None, https: bool) -> str:
        morsel = _Morsel()
        morsel.set(self.name, "", "")
        attributes: dict[str, Any] = {
            "path": self.path,
            "domain": self.domain or "",
            "httponly": self.httponly,
            "secure": https if self.secure == "auto" else self.secure,
            "samesite": self.samesite.capitalize() if self.samesite else "",
            "partitioned": self.partitioned,
            "priority": self.priority.capitalize() if self.priority else "",
        }
        if max_age is not None:
            attributes["max-age"] = max_age
            attributes["expires"] = max_age if max_age > 0 else EXPIRED
        morsel.update(attributes)
        return morsel.OutputString()[len(self.name) + 1 :]
