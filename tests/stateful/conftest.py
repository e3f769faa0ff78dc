"""Hypothesis profiles for the stateful tests: "ci" is small, "deep" is for make test-deep."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
# A chain transaction costs tens of milliseconds (a revert more: ape fetches its trace),
# so the CI profile stays small; `make test-deep` runs the deep one.
settings.register_profile("ci", max_examples=12, stateful_step_count=12, **_COMMON)
settings.register_profile("deep", max_examples=300, stateful_step_count=40, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
