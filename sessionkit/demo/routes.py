"""The demo's routes, written once for both servers: a request and its session in, a response
out (:func:`handle`).

Pages (``GET``): ``/`` counts a visit and answers a page to browsers (``Accept`` naming
``text/html``) and the plain text "Number of visits: N" to everyone else; ``/login``,
``/cart`` and ``/session`` (this session and the user's others) are pages; ``/me`` answers
the session's data as JSON, ``/health`` "ok" without using the session.

Actions (``POST``) take a JSON object or a form. A JSON body gets a JSON answer (the API that
the load harness drives). A form must carry the session's CSRF token (:mod:`.csrf`) and is
answered with 303 See Other, so reloading the page it leads to never sends it again. An empty
body without a ``Content-Type`` counts as JSON (``curl -X POST .../logout``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..manager import SessionManager
from ..session import Session
from ..users import SessionInfo
from . import csrf, device, pages, views
from .accounts import UserSessions
from .exchange import Request, Response, as_json, html, see_other, text


@dataclass(frozen=True)
class Site:
    """What the routes use besides the request and its session."""

    manager: SessionManager
    users: UserSessions


@dataclass(frozen=True)
class Call:
    """One request being answered."""

    request: Request
    session: Session
    site: Site


Page = Callable[[Call], Awaitable[Response]]
Fields = dict[str, Any]

NEGOTIATED = (("Vary", "Accept"),)


# -- pages


def _frame(call: Call) -> pages.Frame:
    session = call.session
    cart = session.get("cart", [])
    return pages.Frame(
        path=call.request.path,
        user=session.user_id,
        cart_size=len(cart) if isinstance(cart, list) else 0,
        token=csrf.token(session),
        store=call.site.manager.store_name,
    )


async def home(call: Call) -> Response:
    said = views.visits_text(views.visit(call.session))
    if call.request.wants_html:
        return html(pages.home(_frame(call), said), headers=NEGOTIATED)
    return text(said, headers=NEGOTIATED)


async def login_page(call: Call) -> Response:
    return html(pages.login(_frame(call), device.describe(call.request.user_agent)))


async def cart_page(call: Call) -> Response:
    cart = call.session.get("cart", [])
    items = [item for item in cart if isinstance(item, str)] if isinstance(cart, list) else []
    return html(pages.cart(_frame(call), items))


def expires(session: Session, manager: SessionManager) -> datetime | None:
    """When the store lets the session go unless it is written again; None until stored."""
    if session.last_active is None:
        return None
    end = session.last_active + timedelta(seconds=session.ttl)
    if manager.absolute_timeout is not None and session.created is not None:
        end = min(end, session.created + timedelta(seconds=manager.absolute_timeout))
    return end


async def session_page(call: Call) -> Response:
    session, manager = call.session, call.site.manager
    frame = _frame(call)
    this = SessionInfo(session.id, session.created, session.last_active, session.info)
    listed: list[pages.Listed] | None = []
    if frame.user is not None and manager.user_index:
        found = await call.site.users.listed(frame.user)
        listed = [pages.Listed(info, info.id == this.id) for info in found]
    elif frame.user is not None:
        listed = None
    shown = pages.ThisSession(
        this,
        user=frame.user,
        expires=expires(session, manager),
        idle_limit=session.ttl,
        cookie_max_age=session.max_age,
        data=views.data_of(session),
    )
    return html(pages.panel(frame, shown, listed))


async def me(call: Call) -> Response:
    return as_json(views.data_of(call.session))


async def health(call: Call) -> Response:
    return text("ok")


async def favicon(call: Call) -> Response:
    return Response(
        200, "image/svg+xml", pages.FAVICON.encode(), (("Cache-Control", "max-age=86400"),)
    )


PAGES: dict[str, Page] = {
    "/": home,
    "/login": login_page,
    "/cart": cart_page,
    "/session": session_page,
    "/me": me,
    "/health": health,
    "/favicon.ico": favicon,
}


# -- actions


async def login(call: Call, fields: Fields) -> object:
    return views.login(call.session, fields, call.request.user_agent)


async def cart(call: Call, fields: Fields) -> object:
    return views.update_cart(call.session, fields)


async def logout(call: Call, fields: Fields) -> object:
    return views.logout(call.session)


async def end_others(call: Call, fields: Fields) -> object:
    """Log out other devices: end every session of this user but this one."""
    user = call.session.user_id
    if user is None:
        raise views.BadRequest("log in first: only a logged-in user has other sessions")
    if not call.site.manager.user_index:
        raise views.BadRequest("this store keeps no per-user index")
    return {"ended": await call.site.users.end_others(user, call.session)}


class Action(NamedTuple):
    run: Callable[[Call, Fields], Awaitable[object]]
    done: str  # where a form goes once done
    form: str  # the page that holds the form


ACTIONS: dict[str, Action] = {
    "/login": Action(login, "/", "/login"),
    "/cart": Action(cart, "/cart", "/cart"),
    "/logout": Action(logout, "/", "/"),
    "/session/end-others": Action(end_others, "/session", "/session"),
}

EXPIRED_FORM = (
    "This form belongs to a session that has ended or expired, or to another site, so "
    "nothing was done. Go back, reload the page and try again."
)


async def _act(call: Call, action: Action) -> Response:
    form = views.is_form(call.request)
    try:
        fields = views.read_fields(call.request)
        if form and not csrf.is_valid(call.session, fields.get(csrf.FIELD)):
            return html(pages.problem("Form expired", EXPIRED_FORM, action.form), 403)
        result = await action.run(call, fields)
    except views.BadRequest as exc:
        if form:
            return html(pages.problem("Not done", f"Not done: {exc}.", action.form), 400)
        return text(str(exc), 400)
    return see_other(action.done) if form else as_json(result)


# -- dispatch


def _problem(request: Request, status: int, title: str, message: str, **headers: str) -> Response:
    extra = tuple(headers.items())
    if request.wants_html:
        return html(pages.problem(title, message, "/"), status, extra)
    return text(title, status, extra)


async def handle(request: Request, session: Session, site: Site) -> Response:
    """The response to ``request``; ``session`` is the one its server's middleware opened."""
    call = Call(request, session, site)
    method = "GET" if request.method == "HEAD" else request.method
    page = PAGES.get(request.path) if method == "GET" else None
    if page is not None:
        return await page(call)
    action = ACTIONS.get(request.path) if method == "POST" else None
    if action is not None:
        return await _act(call, action)
    allowed = [
        name for name, table in (("GET, HEAD", PAGES), ("POST", ACTIONS)) if request.path in table
    ]
    if allowed:
        return _problem(
            request,
            405,
            "Method Not Allowed",
            "This address takes no such request.",
            Allow=", ".join(allowed),
        )
    return _problem(request, 404, "Not Found", "There is no page at this address.")
