"""Settings for the whole suite.

No test may depend on wall time. Hypothesis times two things on the wall clock, which a loaded machine
stretches: a test's deadline and its too_slow health check (how long generating the examples took). The
"previrt" profile switches both off and is the default here; a test's own @settings keeps them off unless it
names deadline or suppress_health_check itself, and then it must keep them off too: a hypothesis test whose
settings bring either back is refused at set-up, naming what to change."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("previrt", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("previrt")


def wall_clock_settings(test) -> list[str]:
    """What in a hypothesis test's settings depends on wall time (empty: nothing, or not a hypothesis test)."""
    chosen = getattr(test, "_hypothesis_internal_use_settings", None)
    if not getattr(test, "is_hypothesis_test", False) or chosen is None:
        return []
    found = []
    if chosen.deadline is not None:
        found.append(f"a deadline of {chosen.deadline} (set deadline=None)")
    if HealthCheck.too_slow not in chosen.suppress_health_check:
        found.append("the too_slow health check (add HealthCheck.too_slow to suppress_health_check)")
    return found


def pytest_runtest_setup(item: pytest.Item) -> None:
    found = wall_clock_settings(getattr(item, "obj", None))
    if found:
        pytest.fail(f"{item.nodeid}: hypothesis settings depend on wall time: {'; '.join(found)}", pytrace=False)
