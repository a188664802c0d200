"""Locust users that drive the demo server over HTTP and check every answer they get.

``AnonymousUser`` only asks ``GET /health``, which never touches a session. ``Visitor`` keeps a
cookie like a browser and does, by weight (see :mod:`loadtests.options`): first visits (no
cookie), returning visits, logins (a new session id, data kept), cart updates, ``GET /me`` and
logouts (the old cookie must not find the session any more). It knows what its session must
hold (:class:`~loadtests.checks.ExpectedSession`); an answer that disagrees is a failure whose
message starts with "session lost" or "session mixed up", so the reports count both.

Run it through ``python -m loadtests run``, or by hand from the repository root::

    python -m locust -f loadtests/locustfile.py --host http://127.0.0.1:3000 AnonymousUser Visitor
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from loadtests.checks import MIXED, ExpectedSession, SessionMismatch, visits_in
from loadtests.options import think_time, weights_of

COOKIE = "session"
MAX_CART = 20
VISITOR_ACTIONS = ("first_visit", "visit", "login", "cart", "me", "logout")


class AnswerError(ValueError):
    """An answer that is wrong in itself (not a session mix-up): a fixed message per case."""


class DemoUser(FastHttpUser):
    abstract = True

    def wait_time(self) -> float:
        return random.uniform(0, think_time(self.environment.parsed_options))

    def judge(self, response: ResponseContextManager, check: Callable[[], None]) -> bool:
        """Run ``check`` on a 200 answer; report a failure and return False otherwise."""
        problem: Any = None
        if response.status_code != 200:
            problem = getattr(response, "error", None) or f"HTTP {response.status_code}"
        else:
            try:
                check()
            except (SessionMismatch, AnswerError) as exc:
                problem = str(exc)
            except ValueError:
                problem = "unreadable answer"
        if problem is None:
            return True
        response.failure(problem)  # type: ignore[no-untyped-call]
        return False


class AnonymousUser(DemoUser):
    """Requests that never touch a session: no cookie may come back."""

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
            self.judge(response, lambda: self.session.visit(visits_in(response.text)))

    def login(self) -> None:
        before, user = self.cookie(), f"user-{self.tag}"
        with self.client.post("/login", json={"user": user}, catch_response=True) as response:

            def check() -> None:
                self.session.login(user, response.json())
                if self.cookie() in (None, before):
                    raise AnswerError("login kept the session id")

            self.judge(response, check)

    def cart(self) -> None:
        cart = self.session.cart or []
        if cart and (len(cart) >= MAX_CART or random.random() < 0.4):
            change, name = {"remove": random.choice(cart)}, "/cart (remove)"
        else:
            change, name = {"add": f"item-{self.tag}-{next(self.item_numbers)}"}, "/cart (add)"
        with self.client.post("/cart", json=change, name=name, catch_response=True) as response:
            self.judge(response, lambda: self.session.change_cart(change, response.json()))

    def me(self) -> None:
        with self.client.get("/me", catch_response=True) as response:
            self.judge(response, lambda: self.session.check(response.json()))

    def logout(self) -> None:
        old = self.cookie()
        with self.client.post("/logout", catch_response=True) as response:

            def check() -> None:
                if response.json() != {"logged_out": True}:
                    raise AnswerError("logout did not answer logged_out")
                if self.cookie() is not None:
                    raise AnswerError("logout left the cookie")

            done = self.judge(response, check)
        self.session = ExpectedSession()
        if done and old is not None:
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

    def judge(self, response: ResponseContextManager, check: Callable[[], None]) -> bool:
        if super().judge(response, check):
            return True
        self.forget()  # after a failure the server's state is unknown: start over
        return False


@events.init.add_listener  # type: ignore[untyped-decorator]
def _weigh_classes(environment: Environment, **kwargs: Any) -> None:
    weights = weights_of(environment.parsed_options)
    if min(weights["anonymous"], weights["visitor"]) < 1:
        raise ValueError("--weights: anonymous and visitor must be >= 1 (name classes to drop one)")
    if not any(weights[action] for action in VISITOR_ACTIONS):
        raise ValueError("--weights: give at least one visitor action a weight")
    AnonymousUser.weight = weights["anonymous"]
    Visitor.weight = weights["visitor"]
