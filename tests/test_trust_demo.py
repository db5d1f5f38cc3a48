"""The issue's end-to-end criteria on the attack demo: under a stealthy injection on one of two
voltage nodes the chi-square detector stays silent, the SOC error exceeds 10 % without trust
weighting and stays below 3 % with it, and the trust event is raised. Plus the CLI contract."""
import json

import pytest
from scipy.stats import poisson

from safetwin.cli import main
from safetwin.trust.demo import DemoConfig, run_attack_demo


@pytest.fixture(scope="module")
def demo():
    return run_attack_demo(DemoConfig())


def test_chi_square_detector_alone_stays_silent(demo):
    # The per-channel chi-square gate (probability 0.9999) alarms about 1e-4 per channel and
    # sample on an honest sensor. Under the attack its alarm count stays within that false-alarm
    # budget: below the 99.9 % Poisson quantile of the expected count (an attack it noticed would
    # show as a count far above it: the open-loop run below).
    budget = poisson.ppf(0.999, demo.expected_false_alarms)
    assert demo.expected_false_alarms == pytest.approx(7200 * 3 * 1e-4)
    assert demo.clean_detector_alarms <= budget
    assert demo.summaries["without_trust"].detector_alarms <= budget


def test_open_loop_injection_is_seen_by_the_detector():
    """The contrast: an attacker without a copy of the twin ramps the SOC too fast for the filter
    and the gate rejects the attacked channel for most of the attack."""
    r = run_attack_demo(DemoConfig(duration_s=2400.0, ramp_s=1200.0, soc_offset=0.2, closed_loop=False))
    assert r.summaries["without_trust"].detector_alarms > 10 * poisson.ppf(0.999, r.expected_false_alarms)


def test_soc_error_without_trust_exceeds_10_percent(demo):
    assert demo.summaries["without_trust"].soc_max_error > 0.10


def test_soc_error_with_trust_stays_below_3_percent(demo):
    s = demo.summaries["with_trust"]
    assert s.soc_max_error < 0.03
    # and it is as good as the estimator without any attack
    assert s.soc_max_error < demo.extra["clean_soc_max_error"] + 0.005


def test_trust_event_raised_at_attack_start(demo):
    s = demo.summaries["with_trust"]
    assert s.trust_event and s.trust_event_severity == "derate"
    # the first failed quote is at the attack start; trust < 0.1 within 3 cycles of it
    assert demo.config.attack_start_s <= s.trust_event_time_s <= demo.config.attack_start_s + 3
    assert s.trust < 0.1
    assert demo.attestation_failures == int(demo.config.duration_s - demo.config.attack_start_s)
    # the honest pack node keeps its trust: no stop
    assert demo.trust["with_trust"][-1, 1] > 0.99


def test_cli_json_keys_exactly(capsys):
    assert main(["attack-demo", "--json", "--duration-s", "1800"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"with_trust", "without_trust"}
    for run in out.values():
        assert set(run) == {"soc_rmse", "soc_max_error", "detector_alarms", "trust"}
        assert isinstance(run["detector_alarms"], int)
    assert out["with_trust"]["trust"] < 0.1


def test_cli_plot_and_table(tmp_path, capsys):
    png = tmp_path / "attack.png"
    assert main(["attack-demo", "--duration-s", "900", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "without_trust" in text and "with_trust" in text


def test_cli_bad_argument_named(capsys):
    assert main(["attack-demo", "--attack-start-s", "9000", "--duration-s", "3600"]) == 2
    assert "--attack-start-s = 9000 s" in capsys.readouterr().err
