"""The CI-sized run of the shipped issue-13 campaign (off_nominal.toml): 300 randomized off-nominal
scenarios -- every fault class, every law, the single cell and the 4s2p pack -- through the true
plant and the guarded cycle, each against its own counterfactual at 0 A from the fault onset.

The goals of issue 13, asserted as they are (nothing loosened to pass):
  - 0 avoidable envelope violations (a side the closed loop violated that the same scenario, the
    same noise, with 0 A from the onset keeps inside);
  - 0 runs in which a true cell current exceeds its limit;
  - false stops (SAFE_STOP in a fault-free run with a safe law) <= 0.5 % of those runs;
  - 0 non-finite commands.

Shorter scenarios (600 s instead of 1800 s) keep the CPU time of CI to a few minutes; the fault
onsets are scaled with them (60-1200 s of 1800 s -> 20-400 s of 600 s) so that every fault acts
for at least a third of its run, as in the shipped file. The full-length campaign is
`safetwin campaign run off_nominal --n 1000` (docs/campaign.md)."""
import pytest
from _ci_campaign import off_nominal_ci

from safetwin.campaign import engine, simulate

N = 300
DURATION_S = 600.0


@pytest.fixture(scope="module")
def summary():
    c = off_nominal_ci(N, DURATION_S)
    return engine.run(c).summary


def test_the_ci_run_covers_every_fault_class_law_side_and_topology(summary):
    assert summary["n_scenarios"] == N
    # Every fault class of the runner but link_loss (added after this campaign was measured; its
    # fail-closed behaviour is tests/test_campaign_link_loss.py's).
    assert set(summary["by_fault"]) == set(simulate.FAULTS) - {"link_loss"}
    assert all(b["count"] > 0 for b in summary["by_fault"].values())
    assert 0 < summary["pack_runs"] < N
    assert summary["fault_free_safe_runs"] > 0


# The internal shorts that 0 A keeps under 45 degC while a loop that kept charging (derated) for
# 40 s after the onset carried the cell over (1 of 300 here on main before issue 13 item 6): the
# thermal twin (CoolingEstimator) sees the short's heat within seconds and the temperature barrier
# allows 0 A once that heat settles past the limit at 0 A (cbf_filter.hpp, stored heat).
def test_no_avoidable_envelope_violation(summary):
    by_class = {f: b["avoidable"] for f, b in summary["by_fault"].items() if b["avoidable"]}
    assert summary["avoidable"] == 0, (summary["avoidable_by_side"], by_class)


def test_no_true_cell_current_over_its_limit(summary):
    assert summary["current_limit_exceeded"] == 0, summary["worst_charge_cell_current_a"]


def test_false_stops_at_most_half_a_percent_of_fault_free_safe_runs(summary):
    assert summary["false_stops"] <= 0.005 * summary["fault_free_safe_runs"], \
        (summary["false_stops"], summary["fault_free_safe_runs"])


def test_no_non_finite_command(summary):
    assert summary["nonfinite_commands"] == 0
