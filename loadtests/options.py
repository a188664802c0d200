"""The command-line options the locustfiles add to Locust's own (see :mod:`.settings`).

Locust hands custom options from the master to its workers, so they are only needed where
the master (or the single process) runs.
"""

from __future__ import annotations

from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser

from loadtests.settings import DEFAULT_PARALLEL, DEFAULT_THINK_TIME, DEFAULT_WEIGHTS, parse_weights


def weights_of(options: Any) -> dict[str, int]:
    """The weights set by the parsed Locust options (the defaults without options)."""
    return parse_weights(getattr(options, "weights", "") or "")


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _add_options(parser: LocustArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        default="",
        help="NAME=WEIGHT,... overriding the defaults: "
        + ",".join(f"{name}={weight}" for name, weight in DEFAULT_WEIGHTS.items()),
    )
    parser.add_argument(
        "--think-time",
        type=float,
        default=DEFAULT_THINK_TIME,
        help="the most seconds a user waits between actions (uniform from 0; default %(default)s)",
    )
    parser.add_argument(
        "--store-url",
        default="",
        env_var="LOCUST_STORE_URL",
        help="the store that StoreUser drives directly (no HTTP)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        help="cart updates that a ParallelShopper sends at once (default %(default)s)",
    )
    parser.add_argument(
        "--output-prefix",
        default="",
        help="write each request and the final stats under this path prefix "
        "(see loadtests/recorder.py)",
    )


def parallel_of(options: Any) -> int:
    """How many cart updates a ParallelShopper sends at once (at least 1)."""
    return max(int(getattr(options, "parallel", DEFAULT_PARALLEL)), 1)


def think_time(options: Any) -> float:
    """The most seconds a user waits between two actions (each wait is uniform up to it)."""
    return float(getattr(options, "think_time", DEFAULT_THINK_TIME))
