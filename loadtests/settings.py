"""The weights of what the load-test users do, and their think time; no Locust import here.

``--weights`` overrides some of :data:`DEFAULT_WEIGHTS`, e.g. ``--weights visit=20,logout=0``.
``anonymous`` and ``visitor`` weigh the two HTTP user classes against each other; the other
names weigh what a user does next.
"""

from __future__ import annotations

import re

DEFAULT_THINK_TIME = 0.1
DEFAULT_PARALLEL = 5  # cart updates a ParallelShopper sends at once
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


def parse_timespan(text: str) -> int:
    """Seconds in a run time such as ``60s``, ``2m``, ``1h30m`` or ``90``."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"not a run time: {text!r} (e.g. 60s, 2m, 1h30m)")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
