"""The ``sessionkit`` command: list backends; check, purge or initialise a store; run the demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import closing

from . import __version__
from . import demo as demo_arguments
from .errors import SessionKitError
from .registry import available_backends, open_store
from .store import SupportsInitialize, SupportsPurge, probe
from .url import mask_url


def _backends(args: argparse.Namespace) -> int:
    for scheme, source in available_backends().items():
        print(f"{scheme:<16} {source}")
    return 0


def _check(args: argparse.Namespace) -> int:
    with closing(open_store(args.url)) as store:
        elapsed = probe(store)
    print(f"ok: {mask_url(args.url)} (write, read, delete in {elapsed * 1000:.2f} ms)")
    return 0


def _purge(args: argparse.Namespace) -> int:
    with closing(open_store(args.url)) as store:
        if not isinstance(store, SupportsPurge):
            print(f"{mask_url(args.url)}: this store expires sessions by itself; nothing to purge")
            return 0
        removed = store.purge_expired()
    print(f"{mask_url(args.url)}: removed {removed} expired session(s)")
    return 0


def _init(args: argparse.Namespace) -> int:
    with closing(open_store(args.url)) as store:
        if isinstance(store, SupportsInitialize):
            store.initialize()
            print(f"{mask_url(args.url)}: ready")
        else:
            print(f"{mask_url(args.url)}: this store needs no initialisation")
    return 0


def _demo(args: argparse.Namespace) -> int:
    code: int = demo_arguments.main(args)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionkit", description="Server-side HTTP sessions: tools for stores."
    )
    parser.add_argument("--version", action="version", version=f"sessionkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "backends", help="list installed backends (scheme, distribution, version)"
    ).set_defaults(run=_backends)
    for name, run, text in (
        ("check", _check, "write, read and delete a probe session; print the round trip"),
        ("purge", _purge, "remove expired sessions; print how many"),
        ("init", _init, "create what the store needs (tables, directories)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("url", help="store URL, e.g. file://./sessions or redis://host/0")
        command.set_defaults(run=run)
    demo = commands.add_parser("demo", help="serve the demo app (a visit counter and a cart)")
    demo_arguments.add_arguments(demo)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (SessionKitError, OSError) as exc:
        print(f"sessionkit {args.command}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
