"""Fuzz tests: Hypothesis feeds hostile and near-valid input to the parts that face it.

Every test here is decorated with :data:`FUZZ`, the settings of the profile that
``HYPOTHESIS_PROFILE`` names: ``ci`` (the default; the whole package in well under a minute)
or ``long`` (thousands of examples per test; ``scripts/fuzz.sh`` or ``tox -e fuzz``). They are
registered as ``sessionkit-fuzz-ci`` and ``sessionkit-fuzz-long``, so Hypothesis's own ``ci``
profile, and the other tests' settings, stay as they are.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_INPUT = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "sessionkit-fuzz-ci", max_examples=150, deadline=None, suppress_health_check=_SLOW_INPUT
)
settings.register_profile(
    "sessionkit-fuzz-long",
    max_examples=3000,
    deadline=None,
    derandomize=False,  # explore afresh on every run, even where CI makes the rest repeatable
    suppress_health_check=_SLOW_INPUT,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be 'ci' or 'long', not {PROFILE!r}")
FUZZ = settings.get_profile(f"sessionkit-fuzz-{PROFILE}")
