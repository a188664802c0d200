"""What the demo's routes do to a session, apart from any framework and any page."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from ..session import Session
from . import csrf, device
from .exchange import JSON_TYPE, Request

DEFAULT_USER = "demo"
MAX_TEXT = 100
FIRST_VISIT = "Welcome! This is your first visit."


class BadRequest(ValueError):
    """The request body is not what the route accepts; answered with 400."""


def visit(session: Session) -> int:
    """Count a visit to ``/``; the number of visits so far."""
    views: int = session.get("views", 0) + 1
    session["views"] = views
    return views


def visits_text(views: int) -> str:
    """What ``GET /`` says after ``views`` visits."""
    return FIRST_VISIT if views == 1 else f"Number of visits: {views}"


def data_of(session: Session) -> dict[str, Any]:
    """The session's data without the demo's own keys (the CSRF token)."""
    return {key: value for key, value in session.items() if not key.startswith("_")}


def is_form(request: Request) -> bool:
    """Whether a POST's body is one a browser's form sends, which must carry the CSRF token:
    anything but JSON, and but an empty body sent without a ``Content-Type`` (``curl -X
    POST``, the load harness's logout), which no form sends."""
    return request.media_type != JSON_TYPE and bool(request.media_type or request.body.strip())


def read_fields(request: Request) -> dict[str, Any]:
    """The fields of a JSON object or a urlencoded form body (empty for an empty body)."""
    if not request.body.strip():
        return {}
    try:
        if request.media_type == JSON_TYPE:
            fields = json.loads(request.body)
        else:
            pairs = parse_qs(request.body.decode(), keep_blank_values=True, strict_parsing=True)
            fields = {name: values[-1] for name, values in pairs.items()}
    except ValueError as exc:
        raise BadRequest(f"unreadable body: {exc}") from None
    if not isinstance(fields, dict):
        raise BadRequest("the body must be a JSON object or a form")
    return fields


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise BadRequest(f"{what} must be 1 to {MAX_TEXT} printable characters")
    return value


def login(session: Session, fields: dict[str, Any], user_agent: str) -> dict[str, Any]:
    """Log in as ``fields["user"]`` (default "demo") under a new session id, bound to that
    user, recording the browser for the user's list of sessions."""
    user = _text(fields.get("user", DEFAULT_USER), "user")
    session.regenerate(keep=True)  # a new id at login stops session fixation; the cart stays
    session["user"] = user
    session.user_id = user
    session.info["device"] = device.describe(user_agent)
    csrf.forget(session)
    return {"user": user}


def update_cart(session: Session, fields: dict[str, Any]) -> list[str]:
    """Apply ``{"add": item}`` or ``{"remove": item}``; the cart afterwards."""
    cart: list[str] = list(session.get("cart", []))
    if "add" in fields:
        cart.append(_text(fields["add"], "add"))
    elif "remove" in fields:
        item = _text(fields["remove"], "remove")
        if item in cart:
            cart.remove(item)
    else:
        raise BadRequest('send {"add": item} or {"remove": item}')
    session["cart"] = cart
    return cart


def logout(session: Session) -> dict[str, Any]:
    """End the session: deleted from the store, its cookie cleared."""
    session.destroy()
    return {"logged_out": True}
