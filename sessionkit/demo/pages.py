"""The demo's HTML: plain pages and forms, with a little inline CSS and no script.

Every function takes plain values and returns a page; every value from a user or a store is
escaped here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from ..users import SessionInfo
from . import csrf

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2430}
nav,main,footer{max-width:46rem;margin:auto;padding:0 1rem}
nav{color:#fff;display:flex;flex-wrap:wrap;gap:1.2rem;align-items:center;min-height:3rem}
nav a{color:#e8ecf3;text-decoration:none}nav a.here{color:#fff;font-weight:600;
text-decoration:underline;text-underline-offset:.35rem}
nav .who{margin-left:auto;color:#e8ecf3;display:flex;gap:.6rem;align-items:center}
main{margin-top:1.5rem}
h1{margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:0 0 .6rem}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem 1.25rem;
margin-bottom:1rem}
.big{font-size:1.8rem;font-weight:600;margin:.2rem 0 .6rem}
button{font:inherit;padding:.25rem .8rem;border-radius:6px;border:1px solid #2b59c3;
background:#2b59c3;color:#fff;cursor:pointer}
button.quiet{background:#fff;color:#2b59c3}nav button{border-color:#e8ecf3;background:none}
input[type=text]{font:inherit;padding:.25rem .5rem;border:1px solid #9aa3b2;border-radius:6px}
form.inline{display:inline}
ul.items{list-style:none;padding:0}ul.items li{display:flex;justify-content:space-between;
align-items:center;padding:.3rem 0;border-bottom:1px solid #eceff3}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dt{color:#5a6475}dd{margin:0}pre{margin:0;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;margin-bottom:.8rem}
td,th{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #e4e7ec}
tr.current td{background:#eef3ff}td:first-child{white-space:nowrap}
code{background:#eef0f4;padding:0 .25rem;border-radius:4px;overflow-wrap:anywhere}
.note,footer{color:#5a6475}footer{font-size:.9rem;margin-bottom:2rem}
"""

# A cookie, drawn small: the favicon, so that browsers ask no /favicon.ico of their own.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<circle cx="8" cy="8" r="7.5" fill="#d39a4f"/>'
    '<circle cx="5" cy="6" r="1.3" fill="#5b3a1a"/><circle cx="10.5" cy="5" r="1" fill="#5b3a1a"/>'
    '<circle cx="9.5" cy="10.5" r="1.4" fill="#5b3a1a"/><circle cx="5.5" cy="11" r=".9" '
    'fill="#5b3a1a"/></svg>'
)

NAV = (("/", "Visits"), ("/cart", "Cart"), ("/session", "Your session"))


@dataclass(frozen=True)
class Frame:
    """What every page shows around its content."""

    path: str  # the page's own path, marked in the navigation
    user: str | None
    cart_size: int
    token: str  # the CSRF token for the page's forms
    store: str  # the store's URL, password masked


@dataclass(frozen=True)
class ThisSession:
    """What the panel shows of the session that asked for it."""

    info: SessionInfo  # its id, created, last active and recorded info
    user: str | None
    expires: datetime | None
    idle_limit: int  # seconds the store keeps it after its last write
    cookie_max_age: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Listed:
    """One of the user's sessions in the panel's list."""

    info: SessionInfo
    current: bool


def _hidden_token(frame: Frame) -> str:
    return f'<input type="hidden" name="{csrf.FIELD}" value="{escape(frame.token)}">'


def _nav(frame: Frame) -> str:
    links = []
    for path, label in NAV:
        here = ' class="here"' if path == frame.path else ""
        count = f" ({frame.cart_size})" if path == "/cart" else ""
        links.append(f'<a href="{path}"{here}>{label}{count}</a>')
    if frame.user is None:
        here = ' class="here"' if frame.path == "/login" else ""
        who = f'<a href="/login"{here}>Log in</a>'
    else:
        who = (
            f'<span id="current-user">{escape(frame.user)}</span>'
            f'<form class="inline" method="post" action="/logout">{_hidden_token(frame)}'
            '<button id="logout">Log out</button></form>'
        )
    return f'<nav><b>sessionkit demo</b>{"".join(links)}<span class="who">{who}</span></nav>'


def _document(title: str, header: str, content: str, footer: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · sessionkit demo</title>"
        '<link rel="icon" href="/favicon.ico" type="image/svg+xml">'
        f"<style>{STYLE}</style></head><body>"
        f"<header>{header}</header><main><h1>{escape(title)}</h1>{content}</main>"
        f"<footer>{footer}</footer></body></html>\n"
    )


def _layout(frame: Frame, title: str, content: str) -> str:
    footer = (
        f'Sessions are kept in <code id="store">{escape(frame.store)}</code>; '
        "your browser holds only a signed cookie naming yours."
    )
    return _document(title, _nav(frame), content, footer)


def home(frame: Frame, visits_text: str) -> str:
    return _layout(
        frame,
        "Visits",
        f'<div class="card"><p class="big" id="visits">{escape(visits_text)}</p>'
        "<p>Each time you load this page, the count kept in your session goes up. The count "
        "lives on the server, in the store named below; your browser keeps only the "
        "session's cookie.</p></div>"
        '<div class="card"><h2>Try</h2><ul>'
        '<li><a href="/login">Log in</a>: your session gets a new id; the count stays.</li>'
        '<li>Fill the <a href="/cart">cart</a>, then log out: it is gone.</li>'
        "<li>Open this page in a private window: that is another session.</li>"
        '<li>Look at <a href="/session">your session</a>: its id, its expiry and, once you '
        "are logged in, your user's sessions on other browsers.</li></ul></div>",
    )


def login(frame: Frame, device: str) -> str:
    already = (
        ""
        if frame.user is None
        else f"<p>You are logged in as <b>{escape(frame.user)}</b>; logging in again, under "
        "any name, switches user.</p>"
    )
    return _layout(
        frame,
        "Log in",
        f'<div class="card">{already}<form method="post" action="/login">{_hidden_token(frame)}'
        '<p><label>User name <input type="text" name="user" id="user" required '
        'maxlength="100" autocomplete="username" autofocus></label> '
        '<button id="login">Log in</button></p></form>'
        '<p class="note">Any user name works, and there is no password: this demo shows '
        "sessions, not authentication. Logging in gives your session a new id (so an id "
        "planted in your browser beforehand is of no use to anyone), binds it to the name, "
        f"and records your browser (<i>{escape(device)}</i>) for the list of your "
        "sessions.</p></div>",
    )


def cart(frame: Frame, items: Sequence[str]) -> str:
    if items:
        rows = "".join(
            f'<li><span class="item">{escape(item)}</span><form class="inline" method="post" '
            f'action="/cart">{_hidden_token(frame)}<button class="quiet" name="remove" '
            f'value="{escape(item)}">Remove</button></form></li>'
            for item in items
        )
        listing = f'<ul class="items" id="cart-items">{rows}</ul>'
    else:
        listing = '<p id="cart-empty">Your cart is empty.</p>'
    return _layout(
        frame,
        "Cart",
        f'<div class="card">{listing}<form method="post" action="/cart">{_hidden_token(frame)}'
        '<p><input type="text" name="add" id="item" required maxlength="100" '
        'placeholder="An item" aria-label="Item"> <button id="add">Add to cart</button></p>'
        '</form></div><p class="note">The cart is kept in the session: it stays when you log '
        "in, and goes when you log out.</p>",
    )


def _time(value: datetime | None) -> str:
    return "now, with this page" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def span(seconds: int) -> str:
    """``seconds`` in the largest whole unit that fits: "14 days", "1 hour", "90 seconds"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def _this_session(this: ThisSession, store: str) -> str:
    cookie = (
        "kept until the browser closes"
        if this.cookie_max_age is None
        else f"kept by the browser for {span(this.cookie_max_age)}"
    )
    device = this.info.info.get("device")
    rows = [
        (
            "Id",
            f'<code id="id-hint">{escape(this.info.id_hint)}</code>… (its first '
            "characters: the whole id is a secret, like a password)",
        ),
        ("User", "not logged in" if this.user is None else escape(this.user)),
        *([("Browser", escape(str(device)))] if device else []),
        ("Created", _time(this.info.created)),
        ("Last active", _time(this.info.last_active)),
        (
            "Expires",
            f"{_time(this.expires)} ({span(this.idle_limit)} after its last write, "
            "unless written again)",
        ),
        ("Cookie", cookie),
        ("Store", f"<code>{escape(store)}</code>"),
        ("Data", f'<pre id="data">{escape(json.dumps(this.data))}</pre>'),
    ]
    listing = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<div class="card"><h2>This session</h2><dl>{listing}</dl></div>'


def _user_sessions(frame: Frame, listed: Sequence[Listed] | None) -> str:
    if frame.user is None:
        body = (
            '<p id="user-sessions">Once you <a href="/login">log in</a>, every session of '
            "your user is listed here, on this browser and on others, with a button to log "
            "the others out.</p>"
        )
    elif listed is None:
        body = (
            f'<p id="user-sessions">The store <code>{escape(frame.store)}</code> keeps no '
            "per-user index, so your user's other sessions cannot be listed or ended here.</p>"
        )
    else:
        rows = "".join(
            f"<tr{' class=current' if item.current else ''}>"
            f"<td><code>{escape(item.info.id_hint)}</code>…</td>"
            f"<td>{escape(str(item.info.info.get('device', '')))}</td>"
            f"<td>{_time(item.info.created)}</td><td>{_time(item.info.last_active)}</td>"
            f"<td>{'this session' if item.current else ''}</td></tr>"
            for item in listed
        )
        others = sum(not item.current for item in listed)
        action = (
            '<form method="post" action="/session/end-others">'
            f'{_hidden_token(frame)}<button id="end-others">Log out other devices '
            f"({others})</button></form>"
            if others
            else '<p class="note">No other session of yours is active.</p>'
        )
        body = (
            '<table id="user-sessions"><tr><th>Id</th><th>Browser</th><th>Created</th>'
            f"<th>Last active</th><th></th></tr>{rows}</table>{action}"
        )
    return f'<div class="card"><h2>Your sessions</h2>{body}</div>'


def panel(frame: Frame, this: ThisSession, listed: Sequence[Listed] | None) -> str:
    """The session panel; ``listed`` is None when the store keeps no per-user index."""
    return _layout(
        frame,
        "Your session",
        _this_session(this, frame.store) + _user_sessions(frame, listed),
    )


def problem(title: str, message: str, back: str) -> str:
    """An error page, with a link back to where the user came from."""
    return _document(
        title,
        '<nav><b>sessionkit demo</b><a href="/">Visits</a></nav>',
        f'<div class="card"><p id="problem">{escape(message)}</p>'
        f'<p><a href="{escape(back)}">Back</a></p></div>',
        "",
    )
