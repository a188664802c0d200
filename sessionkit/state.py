"""What the manager knows of one session during one request, and the transitions it goes
through. A :class:`~sessionkit.session.Session` holds one; the manager reads and moves it."""

from __future__ import annotations

from typing import Any

from .codec import NO_META, Meta
from .errors import StoreUnavailableError
from .store import Version

SessionData = dict[str, Any]


class SessionState:
    """Attributes other than the first five start as the class's defaults, so that opening
    a session (every request) sets only what it must."""

    #: The application's data; None until first accessed.
    data: SessionData | None = None
    #: The serialised data as the store holds it (or None): what changes are found against,
    #: and the base of a merge.
    base: bytes | None = None
    #: The store's version of what it holds for this id; None if unknown.
    version: Version | None = None
    meta: Meta = NO_META
    #: The user id as the store holds it, to see when the binding changes.
    base_user: str | None = None
    #: The application's record (``Session.info``), decoded once asked for.
    info: dict[str, Any] | None = None
    #: False while the app has only read immutable values: the data cannot have changed, so
    #: commit need not serialise it to find out.
    exposed: bool = False
    #: Ids to delete from the store at commit.
    doomed: tuple[str, ...] = ()
    #: ``regenerate(keep=True)`` carried the data of this stored id (and these bytes of it).
    carried_from: str | None = None
    carried: bytes | None = None
    #: The store was unavailable when ``aopen`` loaded it: raised at the session's first use.
    failure: StoreUnavailableError | None = None
    destroyed: bool = False
    touch: bool = False
    saved: bool = False  # written by save() during this request
    cookie_due: bool = False  # save() wrote something the cookie must announce
    max_age_changed: bool = False
    signed: tuple[str, str] | None = None  # (id, cookie value) fit to send back

    def __init__(self, sid: str, from_cookie: bool, max_age: int | None) -> None:
        self.id = sid
        #: The request carried a valid signed cookie for this id.
        self.from_cookie = from_cookie
        #: The id is (believed to be) in the store: presumed from the cookie until loaded.
        self.stored = from_cookie
        self.is_new = not from_cookie
        self.max_age = max_age

    def doom(self, sid: str) -> None:
        """Delete ``sid`` from the store at commit."""
        self.doomed = (*self.doomed, sid)

    # -- transitions

    def loaded(self, data: SessionData, base: bytes | None, meta: Meta, version: Version) -> None:
        """The store's entry was read (or the session found empty)."""
        self.data = data
        self.base = base
        self.meta = meta
        self.base_user = meta.user_id
        self.version = version
        self.exposed = False
        self.info = None

    def vanished(self, new_id: str) -> None:
        """The cookie's session is not in the store (expired, destroyed): a fresh session
        under a new id, never the client's."""
        self.id = new_id
        self.stored = False
        self.is_new = True
        self.version = None

    def written(self, base: bytes, version: Version | None) -> None:
        self.stored = True
        self.base = base
        self.version = version
        self.base_user = self.meta.user_id

    def regenerated(self, new_id: str, keep: bool, empty: bytes) -> None:
        if self.stored:
            self.doom(self.id)
            if keep and self.carried_from is None:
                self.carried_from, self.carried = self.id, self.base
        self.id = new_id
        self.exposed = keep
        self.base = empty  # written if it holds anything (or a user binding)
        self.version = None
        self.base_user = None
        self.stored = False
        self.is_new = True
        self.destroyed = False
        if not keep:
            self.meta = NO_META._replace(user_id=self.meta.user_id)  # new, still bound

    def destroy(self) -> None:
        """Destroyed by this request: deleted at commit."""
        if self.stored:
            self.doom(self.id)
        self.stored = False
        self.destroyed = True
        self.data = {}

    def found_gone(self) -> None:
        """A write or a touch found the session gone: another request destroyed it."""
        self.stored = False
        self.destroyed = True
