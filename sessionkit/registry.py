"""Finding a store by the scheme of its URL.

Backends register a factory in the ``sessionkit.backends`` entry-point group; the core's own
``memory`` and ``file`` stores are found the same way. A factory is called as
``factory(url, **options)`` and returns a :class:`~sessionkit.store.Store`.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import BackendLoadError, ConfigurationError, UnknownBackendError
from .store import Store
from .url import url_scheme

GROUP = "sessionkit.backends"
CORE_DISTRIBUTION = "sessionkit"

StoreFactory = Callable[..., Store]

# Where well-known schemes come from, so that a missing plug-in is named in the error.
KNOWN_DISTRIBUTIONS = {
    "redis": "sessionkit-redis",
    "rediss": "sessionkit-redis",
    "redis+unix": "sessionkit-redis",
    "redis+sentinel": "sessionkit-redis",
    "redis+cluster": "sessionkit-redis",
    "memcached": "sessionkit-memcached",
    "memcached+unix": "sessionkit-memcached",
    "sqlite": "sessionkit-sql",
    "postgresql": "sessionkit-sql",
    "mysql": "sessionkit-sql",
    "mariadb": "sessionkit-sql",
}

log = logging.getLogger("sessionkit")
_lock = threading.Lock()
_entry_points: dict[str, EntryPoint] | None = None
_registered: dict[str, StoreFactory] = {}
_loaded: dict[str, StoreFactory] = {}


def _discover() -> dict[str, EntryPoint]:
    """Entry points by scheme; on a clash the core's own wins, then the first found."""
    global _entry_points
    if _entry_points is None:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=GROUP):
            name = ep.name.lower()
            previous = found.get(name)
            if previous is None:
                found[name] = ep
                continue
            keep = ep if _distribution_name(ep) == CORE_DISTRIBUTION else previous
            found[name] = keep
            log.warning(
                "two sessionkit backends claim the scheme %r (%s and %s); using %s",
                name,
                previous.value,
                ep.value,
                keep.value,
            )
        _entry_points = found
    return _entry_points


def _distribution_name(ep: EntryPoint) -> str | None:
    dist = ep.dist
    return dist.metadata["Name"].lower() if dist is not None else None


def _schemes() -> list[str]:
    return sorted(set(_discover()) | set(_registered))


def register_backend(scheme: str, factory: StoreFactory, *, replace: bool = False) -> None:
    """Register ``factory`` for ``scheme`` in this process.

    An installed or already registered scheme is only replaced when ``replace=True``.
    """
    scheme = scheme.lower()
    with _lock:
        if not replace and (scheme in _registered or scheme in _discover()):
            raise ConfigurationError(
                f"a sessionkit backend for {scheme!r} is already registered; "
                "pass replace=True to replace it"
            )
        _registered[scheme] = factory
        _loaded.pop(scheme, None)


def unregister_backend(scheme: str) -> None:
    """Remove a backend registered with :func:`register_backend` (installed ones stay)."""
    with _lock:
        _registered.pop(scheme.lower(), None)
        _loaded.pop(scheme.lower(), None)


def available_backends() -> dict[str, str]:
    """``{scheme: "distribution version"}`` for every backend that can be opened."""
    result: dict[str, str] = {}
    for scheme, ep in _discover().items():
        dist = ep.dist
        result[scheme] = f"{dist.metadata['Name']} {dist.version}" if dist else ep.value
    for scheme in _registered:
        result[scheme] = "registered in this process"
    return dict(sorted(result.items()))


def backend_factory(scheme: str) -> StoreFactory:
    """The factory serving ``scheme``: the whole scheme first, then the part before ``+``."""
    scheme = scheme.lower()
    candidates = [scheme]
    if "+" in scheme:
        candidates.append(scheme.partition("+")[0])
    for candidate in candidates:
        factory = _load(candidate)
        if factory is not None:
            return factory
    installed = _schemes()
    base = candidates[-1]
    close = difflib.get_close_matches(scheme, installed, n=1) or difflib.get_close_matches(
        base, installed, n=1
    )
    distribution = KNOWN_DISTRIBUTIONS.get(scheme) or KNOWN_DISTRIBUTIONS.get(base)
    raise UnknownBackendError(scheme, installed, close[0] if close else None, distribution)


def _load(scheme: str) -> StoreFactory | None:
    if scheme in _registered:
        return _registered[scheme]
    if scheme in _loaded:
        return _loaded[scheme]
    ep = _discover().get(scheme)
    if ep is None:
        return None
    try:
        factory = ep.load()
    except Exception as exc:
        raise BackendLoadError(scheme, ep.value, exc) from exc
    _loaded[scheme] = factory
    return factory  # type: ignore[no-any-return]


def open_store(url: str, **options: Any) -> Store:
    """Open the store that ``url`` names, e.g. ``open_store("redis://127.0.0.1:6379/0")``.

    ``options`` are passed to the backend's factory beside the URL's own query options.
    """
    return backend_factory(url_scheme(url))(url, **options)
