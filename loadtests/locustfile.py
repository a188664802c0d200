"""Locust users that drive the demo server over HTTP and check every answer they get.

``AnonymousUser`` only asks ``GET /health``, which never touches a session. ``Visitor`` keeps a
cookie like a browser and does, by weight (see :mod:`loadtests.options`): first visits (no
cookie), returning visits, logins (a new session id, data kept), cart updates, ``GET /me`` and
logouts (the old cookie must not find the session any more). It knows what its session must
hold (:class:`~loadtests.checks.ExpectedSession`); an answer that disagrees is a failure whose
message starts with "session lost" or "session mixed up", so the reports count both. After a
failed request it keeps its cookie, as a browser does, and asks ``GET /me (after an error)``
until the server answers, to check that what it had stored is still there.

``ParallelShopper`` is a browser that opens a session, then sends ``--parallel`` cart updates
on it at once, each adding its own item, and checks with ``GET /me`` that every item it was
told was added is in the cart: the missing ones are lost updates.

Run it through ``python -m loadtests run``, or by hand from the repository root::

    python -m locust -f loadtests/locustfile.py --host http://127.0.0.1:3000 AnonymousUser Visitor
"""

from __future__ import annotations

import enum
import itertools
import random
import secrets
from collections.abc import Callable
from typing import Any

import gevent.pool  # type: ignore[import-untyped]
from locust import FastHttpUser, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from loadtests import recorder
from loadtests.checks import (
    LOST_UPDATE,
    MIXED,
    ExpectedSession,
    SessionMismatch,
    count_parallel_cart,
    visits_in,
)
from loadtests.options import parallel_of, think_time, weights_of

COOKIE = "session"
MAX_CART = 20
VISITOR_ACTIONS = ("first_visit", "visit", "login", "cart", "me", "logout")


class AnswerError(ValueError):
    """An answer that is wrong in itself (not a session mix-up): a fixed message per case."""


class Verdict(enum.Enum):
    OK = "ok"
    FAILED = "failed"  # no answer, or not a 200 one: the request may or may not have done its work
    WRONG = "wrong"  # a 200 answer that disagrees with what the session must hold


class DemoUser(FastHttpUser):
    abstract = True

    def wait_time(self) -> float:
        return random.uniform(0, think_time(self.environment.parsed_options))

    def context(self) -> dict[str, Any]:
        return {"store": True}  # this user's requests need the store (see loadtests.timeline)

    def judge(self, response: ResponseContextManager, check: Callable[[], None]) -> Verdict:
        """Run ``check`` on a 200 answer; report any failure to Locust."""
        problem: Any = None
        verdict = Verdict.FAILED
        if response.status_code != 200:
            problem = getattr(response, "error", None) or f"HTTP {response.status_code}"
        else:
            try:
                check()
            except (SessionMismatch, AnswerError) as exc:
                problem, verdict = str(exc), Verdict.WRONG
            except ValueError:
                problem = "unreadable answer"
        if problem is None:
            return Verdict.OK
        response.failure(problem)  # type: ignore[no-untyped-call]
        return verdict


class AnonymousUser(DemoUser):
    """Requests that never touch a session: no cookie may come back."""

    def context(self) -> dict[str, Any]:
        return {"store": False}

    @task
    def health(self) -> None:
        with self.client.get("/health", catch_response=True) as response:
            self.judge(response, lambda: self._check_health(response))

    @staticmethod
    def _check_health(response: ResponseContextManager) -> None:
        if response.text != "ok":
            raise AnswerError("GET /health did not answer ok")
        if response.headers is not None and response.headers.get("set-cookie"):
            raise AnswerError("GET /health set a cookie")


class Visitor(DemoUser):
    """A browser with a cookie jar, checking its session on every answer."""

    def on_start(self) -> None:
        self.tag = secrets.token_hex(6)
        self.item_numbers = itertools.count()
        self.session = ExpectedSession()
        weights = weights_of(self.environment.parsed_options)
        self.action_weights = [weights[action] for action in VISITOR_ACTIONS]

    @task
    def act(self) -> None:
        if self.session.unsure:
            self.recover()
            return
        action = random.choices(VISITOR_ACTIONS, self.action_weights)[0]
        getattr(self, action)()

    # -- the actions

    def first_visit(self) -> None:
        self.forget()
        self._visit()

    def visit(self) -> None:
        self._visit()

    def _visit(self) -> None:
        name = "/ (first visit)" if self.session.views == 0 else "/ (return visit)"
        with self.client.get("/", name=name, catch_response=True) as response:
            verdict = self.judge(response, lambda: self.session.visit(visits_in(response.text)))
        if verdict is Verdict.FAILED:
            self.session.failed("GET /", visit=True)

    def login(self) -> None:
        before, user = self.cookie(), f"user-{self.tag}"
        with self.client.post("/login", json={"user": user}, catch_response=True) as response:

            def check() -> None:
                self.session.login(user, response.json())
                if self.cookie() in (None, before):
                    raise AnswerError("login kept the session id")

            verdict = self.judge(response, check)
        if verdict is Verdict.FAILED:
            self.session.failed("POST /login", user=user)

    def cart(self) -> None:
        cart = self.session.cart or []
        if cart and (len(cart) >= MAX_CART or random.random() < 0.4):
            change, name = {"remove": random.choice(cart)}, "/cart (remove)"
        else:
            change, name = {"add": f"item-{self.tag}-{next(self.item_numbers)}"}, "/cart (add)"
        with self.client.post("/cart", json=change, name=name, catch_response=True) as response:
            verdict = self.judge(
                response, lambda: self.session.change_cart(change, response.json())
            )
        if verdict is Verdict.FAILED:
            self.session.failed("POST /cart", change)

    def me(self) -> None:
        with self.client.get("/me", catch_response=True, context=self.reads()) as response:
            self.judge(response, lambda: self.session.check(response.json()))

    def recover(self) -> None:
        """After a failed request: is what this browser had stored still there?"""
        with self.client.get(
            "/me", name="/me (after an error)", catch_response=True, context=self.reads()
        ) as response:
            self.judge(response, lambda: self.session.recover(response.json()))

    def reads(self) -> dict[str, Any]:
        """The context of a request that reads the session: it needs the store only when
        there is a cookie."""
        return {"store": self.cookie() is not None}

    def logout(self) -> None:
        old = self.cookie()
        with self.client.post("/logout", catch_response=True, context=self.reads()) as response:

            def check() -> None:
                if response.json() != {"logged_out": True}:
                    raise AnswerError("logout did not answer logged_out")
                if self.cookie() is not None:
                    raise AnswerError("logout left the cookie")

            verdict = self.judge(response, check)
        if verdict is Verdict.FAILED:
            self.session.failed_logout()
            return
        self.session = ExpectedSession()
        if verdict is Verdict.OK and old is not None:
            self._check_destroyed(old)

    def _check_destroyed(self, old_cookie: str) -> None:
        """The cookie from before the logout must not find the session any more."""
        with self.client.get(
            "/me",
            name="/me (old cookie)",
            headers={"Cookie": f"{COOKIE}={old_cookie}"},
            catch_response=True,
        ) as response:

            def check() -> None:
                if response.json() != {}:
                    raise SessionMismatch(MIXED, "the session outlived its logout")

            self.judge(response, check)

    # -- the cookie jar

    def cookie(self) -> str | None:
        return next((c.value for c in self.client.cookiejar if c.name == COOKIE), None)

    def forget(self) -> None:
        """Start over as a new browser: no cookie, no session."""
        self.client.cookiejar.clear()
        self.session = ExpectedSession()

    def judge(self, response: ResponseContextManager, check: Callable[[], None]) -> Verdict:
        verdict = super().judge(response, check)
        if verdict is Verdict.WRONG:
            self.forget()  # counted; what the server holds is unknown now: start over
        return verdict


class ParallelShopper(DemoUser):
    """A browser that sends several cart updates on one session at once (as tabs and
    scripts do), each adding its own item, and counts the items the session lost."""

    def __init__(self, environment: Environment) -> None:
        self.parallel = parallel_of(environment.parsed_options)
        self.concurrency = self.parallel  # connections of this browser's client
        super().__init__(environment)

    def on_start(self) -> None:
        self.tag = secrets.token_hex(6)
        self.rounds = itertools.count()

    @task
    def shop(self) -> None:
        self.client.cookiejar.clear()
        with self.client.get("/", name="/ (parallel cart)", catch_response=True) as response:
            verdict = self.judge(
                response, lambda: ExpectedSession().visit(visits_in(response.text))
            )
        if verdict is not Verdict.OK:
            return
        round_number = next(self.rounds)
        sent = [f"item-{self.tag}-{round_number}-{n}" for n in range(self.parallel)]
        updates = gevent.pool.Group()
        try:
            done = updates.map(self.add, sent)
        finally:
            updates.kill()
        added = [item for item, ok in zip(sent, done, strict=True) if ok]
        with self.client.get("/me", name="/me (parallel cart)", catch_response=True) as response:

            def check() -> None:
                missing = count_parallel_cart(response.json(), sent, added)
                recorder.cart_check(len(added), missing)
                if missing:
                    raise SessionMismatch(LOST_UPDATE, f"{missing} of {len(added)} cart items")

            self.judge(response, check)

    def add(self, item: str) -> bool:
        """Add ``item`` to the cart; whether the server said it did."""
        with self.client.post(
            "/cart", json={"add": item}, name="/cart (parallel add)", catch_response=True
        ) as response:

            def check() -> None:
                if item not in response.json():
                    raise AnswerError("the cart answered without the item just added")

            return self.judge(response, check) is Verdict.OK


@events.init.add_listener  # type: ignore[untyped-decorator]
def _weigh_classes(environment: Environment, **kwargs: Any) -> None:
    weights = weights_of(environment.parsed_options)
    if min(weights["anonymous"], weights["visitor"]) < 1:
        raise ValueError("--weights: anonymous and visitor must be >= 1 (name classes to drop one)")
    if not any(weights[action] for action in VISITOR_ACTIONS):
        raise ValueError("--weights: give at least one visitor action a weight")
    AnonymousUser.weight = weights["anonymous"]
    Visitor.weight = weights["visitor"]
