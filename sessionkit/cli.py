"""The ``sessionkit`` command: list backends; check, purge or initialise a store; run the demo.

Every failure is one line on stderr, ``sessionkit COMMAND: ErrorType: message`` with the
store URL's secrets masked, and exit status 1; ``--traceback`` prints the whole traceback
instead. Bad arguments print the usage and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from contextlib import closing

from . import __version__
from .registry import available_backends, open_store
from .store import SupportsInitialize, SupportsPurge, probe
from .url import mask_url, redact

# What `pip install 'sessionkit[demo]'` brings, imported before the demo runs so that a
# missing one is named at once rather than when a server or a worker starts.
DEMO_NEEDS = ("starlette", "uvicorn", "gunicorn")


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
    try:
        for module in DEMO_NEEDS:
            importlib.import_module(module)
        from . import demo
    except ModuleNotFoundError as exc:
        print(
            f"sessionkit demo: {exc.name} is not installed: pip install 'sessionkit[demo]'",
            file=sys.stderr,
        )
        return 1
    summary = (demo.__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="sessionkit demo", description=summary)
    demo.add_arguments(parser)
    code: int = demo.main(parser.parse_args(args.demo_argv))
    return code


def _add_traceback_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--traceback",
        action="store_true",
        default=argparse.SUPPRESS,  # so that a subcommand's default cannot undo the parent's
        help="on failure, print the whole traceback instead of one line",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionkit", description="Server-side HTTP sessions: tools for stores."
    )
    parser.add_argument("--version", action="version", version=f"sessionkit {__version__}")
    _add_traceback_flag(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backends = commands.add_parser(
        "backends", help="list installed backends (scheme, distribution, version)"
    )
    backends.set_defaults(run=_backends)
    _add_traceback_flag(backends)
    for name, run, text in (
        ("check", _check, "write, read and delete a probe session; print the round trip"),
        ("purge", _purge, "remove expired sessions; print how many"),
        ("init", _init, "create what the store needs (tables, directories)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("url", help="store URL, e.g. file://./sessions or redis://host/0")
        command.set_defaults(run=run)
        _add_traceback_flag(command)
    # The demo's own options are parsed by the demo, imported only when it is asked for.
    demo = commands.add_parser(
        "demo",
        help="serve the demo app (a visit counter and a cart); see: sessionkit demo --help",
        add_help=False,
        allow_abbrev=False,
    )
    demo.set_defaults(run=_demo)
    _add_traceback_flag(demo)
    return parser


def _one_line(error: Exception, url: str | None) -> str:
    message = " ".join(str(error).split())
    if url:
        message = redact(message, url)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "demo":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.demo_argv = rest
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print(f"sessionkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and status 1
        url = getattr(args, "url", None)
        if getattr(args, "traceback", False):
            shown = "".join(traceback.format_exception(exc))
            print(redact(shown, url) if url else shown, file=sys.stderr, end="")
        else:
            print(f"sessionkit {args.command}: {_one_line(exc, url)}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
