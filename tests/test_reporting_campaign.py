"""Issue 18's campaign goals at CI size: the shipped off_nominal campaign (every fault class, every
law, the cell and the 4s2p pack) run twice on the same samples and noise, periodic reporting every
1 s and self-triggered reporting from the safe horizon, and compared as the issue states the goals:

  - self-triggered sends >= 50 % fewer measurement frames than periodic 1 s (and so than 100 ms,
    which sends 10 frames per node per 1 s step: 10 x the 1 s count, test_reporting's hand count);
  - 0 avoidable envelope violations, and no false stops beyond periodic's;
  - per fault class, the median detection delay within one minimum inter-report time (1 s) of
    periodic's.

300 scenarios of 600 s (the onsets scaled with them, as test_campaign_off_nominal does) keep the
CPU time to a few minutes; the >= 10 000-scenario run is benchmarks/bench_reporting_campaign.py."""
import math

import pytest
from _ci_campaign import off_nominal_ci

from safetwin.campaign import engine
from safetwin.campaign.simulate import runner_available
from safetwin.commands.campaign import _with_reporting

N = 300
DURATION_S = 600.0
MIN_INTERVAL_S = 1.0  # ReportingConfig.min_interval_s, the default the campaign runs with

pytestmark = pytest.mark.skipif(not runner_available(), reason="the closed-loop runner is not built in")


@pytest.fixture(scope="module")
def runs():
    c = off_nominal_ci(N, DURATION_S)
    return {"periodic": engine.run(_with_reporting(c, "periodic", 1.0)).summary,
            "self": engine.run(_with_reporting(c, "self-triggered", None)).summary}


def test_self_triggered_sends_at_least_half_fewer_frames_than_periodic_1s(runs):
    p, s = runs["periodic"], runs["self"]
    assert p["frames"] > 0 and s["frames"] > 0
    assert s["frames"] <= 0.5 * p["frames"], (s["frames"], p["frames"], 1.0 - s["frames"] / p["frames"])
    assert s["frames"] < 10 * p["frames"]  # periodic 100 ms


def test_no_avoidable_violation_and_no_false_stop_beyond_periodic(runs):
    p, s = runs["periodic"], runs["self"]
    by_class = {f: b["avoidable"] for f, b in s["by_fault"].items() if b["avoidable"]}
    assert s["avoidable"] == 0, (s["avoidable_by_side"], by_class)
    assert s["fault_free_safe_runs"] == p["fault_free_safe_runs"] > 0  # the same samples
    assert s["false_stops"] <= p["false_stops"]


def test_detection_delays_per_fault_class_within_one_minimum_interval_of_periodic(runs):
    p, s = runs["periodic"], runs["self"]
    assert set(p["by_fault"]) == set(s["by_fault"])
    late = {}
    for fault, bp in p["by_fault"].items():
        dp, ds = bp["detection_delay_s"]["median"], s["by_fault"][fault]["detection_delay_s"]["median"]
        if dp is None or (isinstance(dp, float) and math.isnan(dp)):
            continue  # periodic never detects this class: nothing to be late against
        assert ds is not None and math.isfinite(ds), (fault, dp, ds)
        if ds > dp + MIN_INTERVAL_S:
            late[fault] = (dp, ds)
    assert not late, late
