"""Where the demo keeps its data, its signing secret, and how it checks its store."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, SessionKitError
from ..manager import SessionManager
from ..stores.memory import MemoryStore

STORE_ENV = "SESSIONKIT_DEMO_STORE"
SECRET_ENV = "SESSIONKIT_SECRET"  # noqa: S105 - the name of a variable, not a secret
CONCURRENCY_ENV = "SESSIONKIT_DEMO_CONCURRENCY"
OPTIONS_ENV = "SESSIONKIT_DEMO_OPTIONS"


def data_dir() -> Path:
    """``$XDG_DATA_HOME/sessionkit-demo``, else ``~/.local/share/sessionkit-demo``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sessionkit-demo"


def default_store_url() -> str:
    """A file store in the data directory: it survives restarts and serves every worker."""
    return f"file://{(data_dir() / 'sessions').absolute()}"


def secret() -> str:
    """``$SESSIONKIT_SECRET``, else a random secret kept (mode 0600) in the data directory,
    so that a restart keeps the cookies valid."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env
    directory = data_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / "secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if not value:
            raise SessionKitError(f"the demo's secret file {path} is empty") from None
        return value
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    return value


def manager_options() -> dict[str, Any]:
    """The manager's options set in the environment: any of them as a JSON object in
    ``$SESSIONKIT_DEMO_OPTIONS`` (e.g. ``{"rolling": true, "touch_after": 60}``), and
    ``concurrency`` from ``$SESSIONKIT_DEMO_CONCURRENCY``."""
    options: dict[str, Any] = {}
    raw = os.environ.get(OPTIONS_ENV)
    if raw:
        try:
            options = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError(f"${OPTIONS_ENV} is not JSON: {exc}") from None
        if not isinstance(options, dict):
            raise ConfigurationError(f"${OPTIONS_ENV} must be a JSON object")
    concurrency = os.environ.get(CONCURRENCY_ENV)
    if concurrency:
        options["concurrency"] = concurrency
    return options


def check_manager_options() -> None:
    """Build a manager with the environment's options once, before the server starts, so
    that a wrong value is one error here instead of a failure in every worker.

    :raises ConfigurationError: naming the variable.
    """
    options = manager_options()
    if options:
        try:
            SessionManager(MemoryStore(), secret(), **options).close()
        except (ConfigurationError, TypeError) as exc:
            raise ConfigurationError(f"${OPTIONS_ENV} / ${CONCURRENCY_ENV}: {exc}") from None


def manager_from_env() -> SessionManager:
    """The demo's manager, in a server worker: the store URL comes from the parent process."""
    url = os.environ.get(STORE_ENV) or default_store_url()
    return SessionManager(url, secret(), **manager_options())
