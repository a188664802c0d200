"""A per-session token that the demo's forms carry, checked on every form POST.

SameSite=Lax keeps the cookie off most cross-site POSTs, but not in every browser nor from
a sibling subdomain, and a login form is attacked without any cookie at all (login CSRF):
so each form carries a random token kept in the session, and a form POST without the
session's token is refused. JSON bodies need none: a page on another site cannot send one
without a CORS preflight, which the demo never grants.
"""

from __future__ import annotations

import hmac
import secrets

from ..session import Session

FIELD = "csrf"  # the form field
KEY = "_csrf"  # the session key (keys starting with "_" are the demo's own, not shown as data)


def token(session: Session) -> str:
    """The session's token, made on first use."""
    value = session.get(KEY)
    if not isinstance(value, str):
        value = session[KEY] = secrets.token_urlsafe(24)
    return value


def is_valid(session: Session, sent: object) -> bool:
    """Whether ``sent`` is the session's token (compared in constant time)."""
    expected = session.get(KEY)
    if not isinstance(expected, str) or not isinstance(sent, str):
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def forget(session: Session) -> None:
    """Drop the token (at login): the next page makes a new one."""
    session.pop(KEY, None)
