"""What a visitor's session must hold, and how an answer from the server is judged against it.

Each simulated visitor keeps its own copy of its session. The server's answer either matches
it, or the session was *lost* (the server answers as for a brand-new session) or *mixed up*
(any other disagreement: a wrong count, another visitor's items, a session that outlived its
logout). A request that failed may or may not have changed the session: the visitor keeps its
cookie and remembers both outcomes until its next ``GET /me`` tells which one the server holds
(:meth:`ExpectedSession.recover`). Cart items added by parallel requests that went missing
are *lost updates* (:func:`count_parallel_cart`). The kinds lead the failure messages, so the
reports can count them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

LOST = "session lost"
MIXED = "session mixed up"
LOST_UPDATE = "update lost"
KINDS = (LOST, MIXED, LOST_UPDATE)
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
    # What the session may hold instead, because a request that would make it so failed.
    maybe: list[ExpectedSession] = field(default_factory=list)
    failed_request: str = ""  # the request that failed, for the messages

    @property
    def unsure(self) -> bool:
        """Whether a failed request leaves open what the server holds."""
        return bool(self.maybe)

    def failed(
        self, request: str, change: Any = None, *, user: str | None = None, visit: bool = False
    ) -> None:
        """``request`` failed, which would have applied ``change`` to the cart, logged ``user``
        in or counted a visit: the server may hold the session with or without that."""
        self.failed_request = request
        outcome = replace(self, maybe=[], stored=True)
        if visit:
            outcome.views += 1
        if change is not None:
            outcome.cart = _apply(list(self.cart or []), change)
        if user is not None:
            outcome.user = user
        self.maybe.append(outcome)

    def failed_logout(self) -> None:
        """A logout failed: the session may be gone."""
        self.failed_request = "POST /logout"
        self.maybe.append(ExpectedSession())

    def recover(self, answered: Any) -> None:
        """Take the session that ``GET /me`` answered after failed requests, if it is one of
        the outcomes they leave open; a lost or mixed-up session otherwise."""
        outcomes, self.maybe = [self, *self.maybe], []
        for outcome in outcomes:
            if answered == outcome.as_json():
                self.views, self.cart, self.user = outcome.views, outcome.cart, outcome.user
                self.stored = outcome.stored and bool(answered)
                return
        lost = self.stored and answered == {}
        self.views, self.cart, self.user, self.stored = 0, None, None, False
        if lost:
            raise SessionMismatch(
                LOST, f"the session is empty after a failed {self.failed_request}"
            )
        raise SessionMismatch(
            MIXED, f"the session holds other data after a failed {self.failed_request}"
        )

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


def count_parallel_cart(answered: Any, sent: Collection[str], added: Collection[str]) -> int:
    """Check ``GET /me`` after parallel requests added the ``sent`` items to a session that
    holds one visit (``added``: those whose request succeeded); the number of added items
    missing from the cart (lost updates). A lost or mixed-up session raises instead."""
    if answered == {}:
        raise SessionMismatch(LOST, "the session is empty after parallel updates")
    if not isinstance(answered, dict) or set(answered) - {"views", "cart"}:
        raise SessionMismatch(MIXED, "the session holds other data after parallel updates")
    cart = answered.get("cart", [])
    if answered.get("views") != 1 or not isinstance(cart, list):
        raise SessionMismatch(MIXED, "the session holds other data after parallel updates")
    if any(item not in sent for item in cart) or len(set(cart)) != len(cart):
        raise SessionMismatch(MIXED, "the cart holds items this browser did not add")
    return sum(item not in cart for item in added)


def kind_of(message: str) -> str | None:
    """The kind (:data:`KINDS`) that a failure message starts with, if any."""
    return next((kind for kind in KINDS if message.startswith(kind)), None)


def _apply(cart: list[str], change: dict[str, str]) -> list[str]:
    if "add" in change:
        cart.append(change["add"])
    elif change["remove"] in cart:
        cart.remove(change["remove"])
    return cart
