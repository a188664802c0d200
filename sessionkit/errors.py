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
    """The store's server cannot be reached. ``url`` has its password masked."""

    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        self.reason = reason
        message = f"session store {url} is unavailable"
        super().__init__(f"{message}: {reason}" if reason else message)


class SessionTooLargeError(SessionKitError, ValueError):
    """A session's serialised data is larger than the configured or the server's limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"session data is {size} bytes, over the limit of {limit} bytes")


class InvalidSessionIdError(SessionKitError, ValueError):
    """A store was asked to write a session id that is not of the generated shape."""

    def __init__(self) -> None:
        # The offending value is left out on purpose: it may be attacker-controlled.
        super().__init__("invalid session id: expected 43 URL-safe base64 characters")
