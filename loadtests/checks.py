"""What a visitor's session must hold, and how an answer from the server is judged against it.

Each simulated visitor keeps its own copy of its session. The server's answer either matches
it, or the session was *lost* (the server answers as for a brand-new session) or *mixed up*
(any other disagreement: a wrong count, another visitor's items, a session that outlived its
logout). The kinds lead the failure messages, so the reports can count them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOST = "session lost"
MIXED = "session mixed up"
FIRST_VISIT = "Welcome! This is your first visit."
VISITS_PREFIX = "Number of visits: "


class SessionMismatch(Exception):
    """The server's answer disagrees with what the session must hold."""

    def __init__(self, kind: str, what: str) -> None:
        super().__init__(f"{kind}: {what}")
        self.kind = kind


def visits_in(text: str) -> int:
    """The visit count that ``GET /`` answered with; ValueError for any other text."""
    if text == FIRST_VISIT:
        return 1
    if text.startswith(VISITS_PREFIX):
        return int(text.removeprefix(VISITS_PREFIX))
    raise ValueError(f"not an answer of GET /: {text[:80]!r}")


@dataclass
class ExpectedSession:
    """The session as the visitor knows it must be stored; empty until something is put in it."""

    views: int = 0
    cart: list[str] | None = None
    user: str | None = None
    # The session is in the store (so losing it is detectable) once something was saved.
    stored: bool = field(default=False)

    def as_json(self) -> dict[str, Any]:
        """The session's data as ``GET /me`` must answer it."""
        data: dict[str, Any] = {}
        if self.views:
            data["views"] = self.views
        if self.cart is not None:
            data["cart"] = self.cart
        if self.user is not None:
            data["user"] = self.user
        return data

    def visit(self, answered: int) -> None:
        """Check the count answered by ``GET /`` and record the visit."""
        expected = self.views + 1
        if answered != expected:
            if answered == 1 and self.stored:
                raise SessionMismatch(LOST, "the visit count started again")
            raise SessionMismatch(MIXED, "the visit count is wrong")
        self.views, self.stored = expected, True

    def change_cart(self, change: dict[str, str], answered: Any) -> None:
        """Check the cart answered by ``POST /cart`` after ``change`` and record it."""
        expected = _apply(list(self.cart or []), change)
        if answered != expected:
            if self.stored and answered == _apply([], change):
                raise SessionMismatch(LOST, "the cart started again")
            raise SessionMismatch(MIXED, "the cart is wrong")
        self.cart, self.stored = expected, True

    def login(self, user: str, answered: Any) -> None:
        """Check the answer of ``POST /login`` and record the user (the data is kept)."""
        if answered != {"user": user}:
            raise SessionMismatch(MIXED, "login answered for another user")
        self.user, self.stored = user, True

    def check(self, answered: Any) -> None:
        """Check the session that ``GET /me`` answered."""
        expected = self.as_json()
        if answered != expected:
            if self.stored and answered == {}:
                raise SessionMismatch(LOST, "the session is empty")
            raise SessionMismatch(MIXED, "the session holds other data")


def _apply(cart: list[str], change: dict[str, str]) -> list[str]:
    if "add" in change:
        cart.append(change["add"])
    elif change["remove"] in cart:
        cart.remove(change["remove"])
    return cart
