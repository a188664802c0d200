"""The exceptions sessionkit raises. Every one derives from :class:`SessionKitError`."""

from __future__ import annotations

from collections.abc import Sequence


class SessionKitError(Exception):
    """Base class of every error raised by sessionkit."""


class ConfigurationError(SessionKitError, ValueError):
    """Bad options, a missing secret or a malformed store URL."""


class UnknownBackendError(ConfigurationError):
    """No installed backend serves a URL scheme.

    :param scheme: the scheme that was asked for.
    :param installed: the schemes that are installed.
    :param suggestion: a close match among the installed schemes, if any.
    :param distribution: the distribution that provides the scheme, if it is a well-known one.
    """

    def __init__(
        self,
        scheme: str,
        installed: Sequence[str],
        suggestion: str | None = None,
        distribution: str | None = None,
    ) -> None:
        self.scheme = scheme
        self.installed = tuple(installed)
        self.suggestion = suggestion
        self.distribution = distribution
        parts = [f"no sessionkit backend is installed for {scheme!r}."]
        if distribution:
            parts.append(f"Install it with: pip install {distribution}.")
        if suggestion:
            parts.append(f"Did you mean {suggestion!r}?")
        parts.append(f"Installed schemes: {', '.join(self.installed) or 'none'}.")
        super().__init__(" ".join(parts))


class BackendLoadError(SessionKitError, ImportError):
    """A backend is installed but its code failed to import."""

    def __init__(self, scheme: str, target: str, cause: BaseException) -> None:
        self.scheme = scheme
        self.target = target
        super().__init__(
            f"the sessionkit backend for {scheme!r} ({target}) failed to load: "
            f"{type(cause).__name__}: {cause}"
        )


class StoreUnavailableError(SessionKitError, ConnectionError):
    """The store's server cannot be reached, or did not answer in time. ``url`` has its
    password masked; ``retry_after`` is a hint, in seconds, of when to try again (set while a
    circuit breaker fails fast), else None."""

    def __init__(self, url: str, reason: str = "", *, retry_after: float | None = None) -> None:
        self.url = url
        self.reason = reason
        self.retry_after = retry_after
        message = f"session store {url} is unavailable"
        super().__init__(f"{message}: {reason}" if reason else message)


class SessionTooLargeError(SessionKitError, ValueError):
    """A session's serialised data is larger than the configured or the server's limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"session data is {size} bytes, over the limit of {limit} bytes")


class InvalidSessionIdError(SessionKitError, ValueError):
    """A store was asked to write a session id that is not 8 to 128 URL-safe characters."""

    def __init__(self) -> None:
        # The offending value is left out on purpose: it may be attacker-controlled.
        super().__init__("invalid session id: expected 8 to 128 URL-safe characters")


class InvalidTTLError(SessionKitError, ValueError):
    """A store was given a TTL that is not a whole number of seconds of at least 1."""

    def __init__(self, ttl: object) -> None:
        self.ttl = ttl
        super().__init__(f"ttl must be an int of at least 1 second, got {ttl!r}")


class SessionConflictError(SessionKitError):
    """Two requests changed the same value of one session at once, and the manager's
    ``on_conflict="raise"`` policy (or a merge function) refused to choose; the adapters
    answer 409 Conflict. Nothing of this request's changes was stored.

    :param path: the keys leading to the value both requests changed (empty if the conflict
        is about the whole session, e.g. after too many retries).
    """

    def __init__(self, path: tuple[str, ...] = (), reason: str = "") -> None:
        self.path = path
        where = "/".join(path)
        message = "the session was changed by a concurrent request"
        if where:
            message += f" at {where!r}"
        super().__init__(f"{message}: {reason}" if reason else message)


class UnsupportedOperationError(SessionKitError):
    """The store cannot do what was asked (e.g. memcached cannot list a user's sessions)."""
