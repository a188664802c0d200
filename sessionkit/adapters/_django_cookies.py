"""The session cookie of a Django request and response, read and set as Django's session
middleware (5.2) does, at a fraction of the cost.

Reading: Django parses the whole ``Cookie`` header into ``request.COOKIES`` (11,000
instructions for one cookie); :func:`session_key` finds the one cookie the middleware needs,
with Django's rules (the last of equal names wins, values are stripped), and leaves anything
unusual (a quoted value, a header that is not ASCII, cookies already parsed or set by a test)
to ``request.COOKIES`` itself.

Setting: ``HttpResponse.set_cookie`` and the rendering of its ``Morsel`` cost 75,000
instructions. :func:`set_session_cookie` makes the cookie with ``set_cookie`` once per
distinct set of attributes (the expiry date changes once a second), and gives each response a
``Morsel`` with those attributes, whose rendering is the one computed then: the response's
``cookies`` hold the same ``Morsel`` as ``set_cookie`` would have made, and it renders the
same header while its attributes are still those (it compares them, so that any change, by
any means, is rendered). A response class with a ``set_cookie`` of its own gets that called.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from http.cookies import Morsel
from typing import Any

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]


def session_key(request: HttpRequest, name: str) -> str | None:
    """The value of the cookie ``name``, as ``request.COOKIES.get(name)`` would give it."""
    header = request.META.get("HTTP_COOKIE")
    if not header or "COOKIES" in request.__dict__ or not header.isascii():
        return request.COOKIES.get(name)  # type: ignore[no-any-return]
    found = None
    for chunk in header.split(";"):
        key, equals, value = chunk.partition("=")
        if equals and key.strip() == name:
            found = value.strip()
    if found is not None and len(found) > 1 and found[0] == found[-1] == '"':
        return request.COOKIES.get(name)  # type: ignore[no-any-return]  # quoted: Django unquotes
    return found


class _SessionMorsel(Morsel[str]):
    """A ``Morsel`` that renders its attributes as given while they are still those."""

    _made: tuple[dict[str, Any], str] | None = None  # the attributes, and their rendering

    def __init__(self, attributes: dict[str, Any], rendered: str) -> None:
        super().__init__()
        dict.update(self, attributes)  # a Morsel's own, checked when set_cookie made them
        self._made = (attributes, rendered)

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        made = self._made
        if attrs is None and made is not None and dict.__eq__(self, made[0]):
            return f"{self.key}={self.coded_value}{made[1]}"
        return super().OutputString(attrs)


@functools.lru_cache(maxsize=8)
def _made_by_django(name: str, **attributes: Any) -> tuple[dict[str, Any], str]:
    """The attributes ``set_cookie`` gives the cookie ``name``, and their rendering."""
    response = HttpResponse()
    response.set_cookie(name, "v", **attributes)
    morsel = response.cookies[name]
    return dict(morsel), morsel.OutputString()[len(name) + 2 :]


_SET_COOKIE = HttpResponse.set_cookie


def set_session_cookie(response: HttpResponse, name: str, value: str, **attributes: Any) -> None:
    """``response.set_cookie(name, value, **attributes)``, for the session cookie."""
    if name in response.cookies or type(response).set_cookie is not _SET_COOKIE:
        # set_cookie would keep what the morsel had, or is the response class's own: call it
        response.set_cookie(name, value, **attributes)
        return
    morsel = _SessionMorsel(*_made_by_django(name, **attributes))
    morsel.set(name, *response.cookies.value_encode(value))
    response.cookies[name] = morsel
