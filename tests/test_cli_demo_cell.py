"""`safetwin demo --cell FILE`: the shipped REF-CELL-1 file tells the same story as the built-in cell;
the LFP variant (the shipped 2RC fit of PyBaMM's Prada2013 A123 26650) runs the whole stack on an LFP
pack, its monitor tiers moved with the file's limits: the attacked node is distrusted and the true
cells stay inside the file's limits (not yet the whole story: on this LFP pack the honest redundant
node is distrusted too at 649 s and the pack stops at SOC 0.54; without the attack's SOC offset it
keeps its trust). The cause, measured on this run by re-enacting the trust layer's cross-node
attribution with the true voltage as the twin: on LFP's flat OCV the attack's SOC offset moves the
cell monitor's reading by only -12 mV on average (-18 mV at 649 s; REF-CELL-1: -72 / -137 mV), under
the "nodes agree" gate |d| <= 2.5 sqrt(sa^2 + sb^2) = 25.5 mV, in 301 of 345 samples (REF-CELL-1: 58),
so the node baselines keep learning and the cell monitor's absorbs the slow ramp; the redundant
node's 10 mV noise then departs further from its baseline than the 2 mV node's, and the
disagreement is laid at the honest node in 76 % of the samples (REF-CELL-1: 5 %), mean z +1.2,
which its CUSUM accumulates. Not fixed (the trust layer's attribution; one candidate: compare the
departures in units of each node's own sensor sigma). A structure the demo's MPC does not take is
refused in one line naming it."""
from __future__ import annotations

import json

import pytest

from safetwin import demo
from safetwin.cellfile import load_cell_named, shipped_cell_path
from safetwin.cli import main

REF = str(shipped_cell_path("ref_cell_1"))
LFP_2RC = str(shipped_cell_path("lfp_prada2013_2rc"))
LFP_HYST = str(shipped_cell_path("lfp_a123_26650"))


def run_json(capsys, tmp_path, *extra):
    assert main(["demo", "--json", "--no-plot", "-o", str(tmp_path), *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def lfp_summary(tmp_path_factory):
    cfg = demo.DemoConfig(cell_file=LFP_2RC)
    return demo.run(cfg).summary


def test_the_ref_cell_file_tells_the_built_in_cells_story(tmp_path, capsys):
    built_in = run_json(capsys, tmp_path / "a")
    from_file = run_json(capsys, tmp_path / "b", "--cell", REF)
    assert from_file.pop("cell") == "REF-CELL-1 (LG M50 21700)" and "cell" not in built_in  # the file's [cell] name
    from_file.pop("output"), built_in.pop("output")
    # the file's C = tau / R differ from the built-in by the rounding of its decimal tau (1e-12
    # relative): the same events and mode changes at the same seconds, the figures to 1e-6
    assert [(e["time_s"], e["group"], e["invariant"], e["kind"]) for e in from_file["events"]] == \
        [(e["time_s"], e["group"], e["invariant"], e["kind"]) for e in built_in["events"]]
    assert from_file["mode_changes"] == built_in["mode_changes"]
    assert from_file["time_to_80_s"] == built_in["time_to_80_s"]
    for k in ("max_cell_voltage_v", "max_cell_temperature_c", "voltage_limit_v", "temperature_limit_c"):
        assert from_file["limits"][k] == pytest.approx(built_in["limits"][k], abs=1e-6), k
    assert from_file["limits"]["temperature_tiers_c"] == pytest.approx(built_in["limits"]["temperature_tiers_c"],
                                                                       abs=1e-9)


def test_the_lfp_variant_runs_within_the_files_limits(lfp_summary):
    s = lfp_summary
    name, cell = load_cell_named(LFP_2RC)
    assert s["cell"] == name
    lim = s["limits"]
    assert lim["voltage_limit_v"] == 3.6 and lim["temperature_limit_c"] == pytest.approx(55.0, abs=1e-9)
    # the tiers keep demo_monitor.toml's distances below the limit (5, 2.5 and 0.5 K under REF-CELL-1's 45 degC)
    assert lim["temperature_tiers_c"] == pytest.approx({"operating": 50.0, "recommended": 52.5, "maximum": 54.5},
                                                       abs=1e-9)
    assert lim["held"] and lim["max_cell_voltage_v"] <= 3.6 + 0.005 and lim["max_cell_voltage_v"] > 3.4
    # the story: the stealthy attack on the cell monitor's reading is caught by the trust layer
    assert s["attack"]["distrusted_at_s"] is not None and s["attack"]["distrusted_at_s"] >= s["attack"]["at_s"]
    # the charge goes on: the pack is charged well past its start of 10 %
    assert s["soc_end"] > 0.5


def test_the_lfp_monitor_tiers_follow_the_voltage_limits_too():
    d = demo.monitor_definition(demo.DemoConfig(cell_file=LFP_2RC))
    by_name = {inv.name: inv for inv in d.invariants}
    # REF-CELL-1's tiers: 4.21 / 4.23 / 4.26 V over 4.2 V, 2.49 / 2.47 / 2.44 V under 2.5 V
    assert by_name["voltage_a_high.operating"].hi == pytest.approx(3.61, abs=1e-12)
    assert by_name["voltage_b_high.maximum"].hi == pytest.approx(3.66, abs=1e-12)
    assert by_name["voltage_a_low.recommended"].lo == pytest.approx(1.97, abs=1e-12)


def test_a_structure_the_demo_does_not_take_is_refused_in_one_line(tmp_path, capsys):
    assert main(["demo", "--cell", LFP_HYST, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert LFP_HYST in lines[0] and "1 RC pair + hysteresis" in lines[0] and "MPC" in lines[0]
    assert not (tmp_path / "out").exists()
