"""What the demo's routes do to a session, apart from any framework."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from ..session import Session

DEFAULT_USER = "demo"
MAX_TEXT = 100


class BadRequest(ValueError):
    """The request body is not what the route accepts; answered with 400."""


def visit(session: Session) -> str:
    """Count a visit to ``/``; the text to answer with."""
    views = session.get("views", 0) + 1
    session["views"] = views
    if views == 1:
        return "Welcome! This is your first visit."
    return f"Number of visits: {views}"


def read_fields(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a JSON object or a urlencoded form body (empty for an empty body)."""
    if not body.strip():
        return {}
    try:
        if content_type.split(";", 1)[0].strip().lower() == "application/json":
            fields = json.loads(body)
        else:
            pairs = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
            fields = {name: values[-1] for name, values in pairs.items()}
    except ValueError as exc:
        raise BadRequest(f"unreadable body: {exc}") from None
    if not isinstance(fields, dict):
        raise BadRequest("the body must be a JSON object or a form")
    return fields


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        raise BadRequest(f"{what} must be a string of 1 to {MAX_TEXT} characters")
    return value


def login(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Log in as ``fields["user"]`` (default "demo") under a new session id."""
    user = _text(fields.get("user", DEFAULT_USER), "user")
    session.regenerate(keep=True)  # a new id at login stops session fixation; the cart stays
    session["user"] = user
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
