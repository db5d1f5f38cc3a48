"""`safetwin diagnose` and `safetwin diagnose calibrate` end to end through the CLI."""
import json
from pathlib import Path

import pytest

from safetwin.cli import main

DFN = "tests/data/dfn_lgm50_cccv_1c.csv"


def test_diagnose_json_on_the_dfn_run(capsys):
    assert main(["diagnose", DFN, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alarms"] == []  # nominal operation of a cell the twin does not model exactly
    assert out["false_alarm_alpha_per_h"] == 0.01
    lo, hi = out["soh"]["ci95"]
    assert lo < out["soh"]["capacity_rel"] < hi
    lo, hi = out["r0_rel"]["ci95"]
    assert lo < out["r0_rel"]["value"] < hi
    assert out["rul"] is None
    assert set(out["faults"]) == {"ageing_drift", "internal_short", "connection_resistance", "sensor", "cooling_loss"}
    for f in out["faults"].values():
        assert set(f) >= {"detected", "time_s", "estimate", "ci95"}


def test_diagnose_flags_an_injected_sensor_bias(tmp_path, capsys):
    lines = Path(DFN).read_text().splitlines()
    header = lines[0].split(",")
    iv = header.index("voltage_v")
    rows = []
    for k, line in enumerate(lines[1:]):
        f = line.split(",")
        if k >= 2000:
            f[iv] = f"{float(f[iv]) + 0.3:.6f}"  # the voltage node reads 300 mV high from t = 2000 s
        rows.append(",".join(f))
    log = tmp_path / "biased.csv"
    log.write_text("\n".join([lines[0]] + rows) + "\n")
    assert main(["diagnose", str(log), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["alarms"]) >= 1
    assert out["alarms"][0]["time_s"] >= 2000
    assert out["alarms"][0]["score"] > out["alarms"][0]["threshold"]


def test_diagnose_table_and_plot(tmp_path, capsys):
    png = tmp_path / "d.png"
    assert main(["diagnose", DFN, "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "anomaly alarms" in text and "capacity (SOH)" in text
    assert png.stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["diagnose", DFN, "--alpha-per-h", "0.05"],
     "--alpha-per-h = 0.05: the calibration has thresholds for alpha = 0.01, 0.001"),
    (["diagnose", DFN, "--alpha-per-h", "2"], "--alpha-per-h = 2: must be in (0, 1) (a false-alarm rate per hour)"),
    (["diagnose", DFN, "--alpha", "2"], "--alpha-per-h = 2: must be in (0, 1)"),  # the old spelling, a hidden alias
    (["diagnose", "no_such.csv"], "no_such.csv"),
    (["diagnose", DFN, "--calibration", "no_such.json"], "no_such.json"),
    (["diagnose", "calibrate", "--hours", "50"], "--hours = 50: too few to calibrate"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_calibrate_writes_a_calibration_file_diagnose_can_use(tmp_path, capsys):
    out = tmp_path / "cal.json"
    assert main(["diagnose", "calibrate", "--hours", "1000", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["hours"] == 1000 and set(summary["thresholds"]) == {"0.01"}
    assert main(["diagnose", DFN, "--calibration", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["threshold"] == summary["thresholds"]["0.01"]


def test_cell_file_of_ref_cell_1_gives_the_built_in_result(capsys):
    """--cell with the shipped REF-CELL-1 file (equal to the built-in cell, test_cellfile) changes
    nothing: the file reaches the estimator and the fault estimates as the same cell."""
    assert main(["diagnose", DFN, "--json"]) == 0
    built_in = json.loads(capsys.readouterr().out)
    assert main(["diagnose", DFN, "--json", "--cell", "src/safetwin/data/cells/ref_cell_1.toml"]) == 0
    assert json.loads(capsys.readouterr().out) == built_in


def test_faults_are_filled_per_class_from_one_cells_log(capsys):
    """One cell's log: internal_short is evaluated (the DFN run is a nominal cell: not detected, its
    estimate inside its 95 % interval); cooling_loss reports its estimate but says why one cell
    cannot decide; connection_resistance and sensor say why they are not evaluated."""
    assert main(["diagnose", DFN, "--json"]) == 0
    faults = json.loads(capsys.readouterr().out)["faults"]
    f = faults["internal_short"]
    assert f["evaluated"] and f["detected"] is False, f
    assert f["ci95"][0] < f["estimate"]["leak_current_a"] < f["ci95"][1]
    c = faults["cooling_loss"]
    assert c["evaluated"] is False and c["reason"] and c["ci95"][0] < c["estimate"]["heat_transfer_drop_rel"] < c["ci95"][1]
    for name in ("connection_resistance", "sensor"):
        assert faults[name]["evaluated"] is False and faults[name]["reason"]


def test_a_bad_cell_file_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[cell]\nname = 'x'\n")
    assert main(["diagnose", DFN, "--cell", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml" in err[0], err
