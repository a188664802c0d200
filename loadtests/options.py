"""The command-line options the locustfiles add to Locust's own, and the action weights.

``--weights`` overrides some of :data:`DEFAULT_WEIGHTS`, e.g. ``--weights visit=20,logout=0``.
``anonymous`` and ``visitor`` weigh the two HTTP user classes against each other; the other
names weigh what a user does next. Locust hands custom options from the master to its
workers, so the options are only needed where the master (or the single process) runs.
"""

from __future__ import annotations

from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser

DEFAULT_THINK_TIME = 0.1
DEFAULT_WEIGHTS = {
    # HTTP user classes
    "anonymous": 1,
    "visitor": 4,
    # what a visitor does
    "first_visit": 1,
    "visit": 8,
    "login": 1,
    "cart": 4,
    "me": 2,
    "logout": 1,
    # what a store user does
    "lookup": 4,
    "save": 1,
}


def parse_weights(spec: str) -> dict[str, int]:
    """:data:`DEFAULT_WEIGHTS` with the ``name=weight,...`` pairs of ``spec`` applied."""
    weights = dict(DEFAULT_WEIGHTS)
    for pair in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in weights:
            known = ", ".join(weights)
            raise ValueError(f"--weights: {pair!r} is not NAME=WEIGHT with NAME one of {known}")
        try:
            weight = int(value)
        except ValueError:
            weight = -1
        if weight < 0:
            raise ValueError(f"--weights: the weight of {name} must be a whole number >= 0")
        weights[name] = weight
    return weights


def weights_of(options: Any) -> dict[str, int]:
    """The weights set by the parsed Locust options (the defaults without options)."""
    return parse_weights(getattr(options, "weights", "") or "")


@events.init_command_line_parser.add_listener
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


def think_time(options: Any) -> float:
    """The most seconds a user waits between two actions (each wait is uniform up to it)."""
    return float(getattr(options, "think_time", DEFAULT_THINK_TIME))
