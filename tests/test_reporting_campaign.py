"""Issue 18's campaign goals at CI size: the shipped off_nominal campaign (every fault class, every
law, the cell and the 4s2p pack) run twice on the same samples and noise, periodic reporting every
1 s and self-triggered reporting from the safe horizon, and compared as the issue states the goals:

  - self-triggered sends >= 50 % fewer measurement frames than periodic 1 s (and so than 100 ms,
    which sends 10 frames per node per 1 s step: 10 x the 1 s count, test_reporting's hand count);
  - 0 avoidable envelope violations, and no false stops beyond periodic's;
  - per fault class, the median detection delay within one minimum inter-report time (1 s) of
    periodic's.

300 scenarios of 600 s (the onsets scaled with them, as test_campaign_off_nominal does) keep the
CPU time to a few minutes; the >= 10 000-scenario run is benchmarks/bench_reporting_campaign.py.

Asserted here: the goals that hold. Measured on this run and NOT met (so not asserted, see the
README): frames 31 % fewer than periodic 1 s (goal 50 %); 1 avoidable over-temperature (an
internal short); median detection delay later than periodic's by more than 1 s for internal_short
(169 -> 203 s) and voltage_stuck (41 -> 73 s)."""
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


def test_self_triggered_sends_fewer_frames_than_periodic_1s_and_100ms(runs):
    p, s = runs["periodic"], runs["self"]
    assert 0 < s["frames"] < p["frames"]
    assert s["frames"] < 10 * p["frames"]  # periodic 100 ms


def test_no_false_stop_beyond_periodic(runs):
    p, s = runs["periodic"], runs["self"]
    assert s["fault_free_safe_runs"] == p["fault_free_safe_runs"] > 0  # the same samples
    assert s["false_stops"] <= p["false_stops"]


def test_every_fault_class_periodic_detects_is_detected(runs):
    p, s = runs["periodic"], runs["self"]
    assert set(p["by_fault"]) == set(s["by_fault"])
    for fault, bp in p["by_fault"].items():
        dp, ds = bp["detection_delay_s"]["median"], s["by_fault"][fault]["detection_delay_s"]["median"]
        if dp is not None and math.isfinite(dp):
            assert ds is not None and math.isfinite(ds), (fault, dp, ds)
