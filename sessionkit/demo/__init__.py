"""The demo: a visit counter, a login and a cart, served by a production server.

``sessionkit demo [--store URL] [--host 127.0.0.1] [--port 3000] [--workers N]
[--server uvicorn|gunicorn]`` (needs ``pip install 'sessionkit[demo]'``), then open the
address it prints in a browser.

A browser gets plain HTML pages and forms: the visit counter (``/``), a login form (any user
name, no password; the session gets a new id and is bound to the user), a cart, logout, and a
panel (``/session``) showing this session (a hint of its id, its times, its expiry, the store)
and the user's sessions on other browsers, with "log out other devices". Other clients get
the JSON API that the load harness drives: ``GET /`` answers "Welcome! This is your first
visit.", then "Number of visits: N"; ``POST /login`` ``{"user": name}`` (default "demo"),
``POST /cart`` ``{"add": item}`` or ``{"remove": item}``, ``POST /logout``, ``GET /me`` (the
session's data) and ``GET /health`` ("ok", without using the session). See
:mod:`sessionkit.demo.routes`.

The store is ``--store``, else ``$SESSIONKIT_DEMO_STORE`` (which keeps a password off the
command line), else a file store in the user's data directory (``$XDG_DATA_HOME`` or
``~/.local/share``, under ``sessionkit-demo``): it survives restarts and serves every worker.
``memory://`` lives in one process, so it is refused with more than one worker.
The signing secret is ``$SESSIONKIT_SECRET``, else one generated once and kept beside it.
``$SESSIONKIT_DEMO_CONCURRENCY`` sets the manager's ``concurrency`` option.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ConfigurationError
from ..registry import open_store
from ..store import probe
from ..stores.memory import MemoryStore
from ..url import mask_url
from .config import STORE_ENV, check_manager_options, default_store_url, secret
from .serve import SERVERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``."""
    parser.add_argument(
        "--store",
        help=f"store URL (default: ${STORE_ENV}, else a file store in the user's data dir)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="uvicorn",
        help="uvicorn serves the ASGI app, gunicorn the WSGI one",
    )


def address(host: str, port: int) -> str:
    """The URL to open in a browser for a server listening on ``host``: a wildcard address
    (all interfaces) is reached through loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def main(args: argparse.Namespace) -> int:
    """Check the store, then serve the demo until interrupted; the exit status."""
    url = args.store or os.environ.get(STORE_ENV) or default_store_url()
    try:
        check_manager_options()
    except ConfigurationError as exc:
        print(f"sessionkit demo: {exc}", file=sys.stderr)
        return 1
    try:
        secret()  # made once here, before the workers start, which then read it
        store = open_store(url)
        try:
            per_process = isinstance(store, MemoryStore)
            probe(store)
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - any failure here means the demo cannot run
        print(f"sessionkit demo: cannot use the store {mask_url(url)}: {exc}", file=sys.stderr)
        return 1
    if per_process and args.workers > 1:
        print(
            f"sessionkit demo: {mask_url(url)} keeps sessions inside one process, so "
            f"{args.workers} workers would each have their own; use --workers 1, or a store "
            "the workers share (the default file store, sqlite:///demo.db, redis://...)",
            file=sys.stderr,
        )
        return 1
    os.environ[STORE_ENV] = url
    workers = "1 worker" if args.workers == 1 else f"{args.workers} workers"
    print(
        f"sessionkit demo on {address(args.host, args.port)} "
        f"(store: {mask_url(url)}; {args.server}, {workers}); open it in a browser, "
        "Ctrl+C stops it",
        flush=True,
    )
    return SERVERS[args.server](args.host, args.port, args.workers)
