"""Bad input at the command line: one line naming the option or file, the value and the limit,
exit status 2, no traceback, nothing written; and the resource bounds checked before anything runs.

Every case here is one a user met (issue 20)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safetwin.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "hil" / "scenarios" / "nominal_fast_charge.toml"


def refused(capsys, argv, *fragments):
    """Runs the CLI; asserts exit 2 and one line on stderr holding every fragment; returns it."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"safetwin {argv[0]}: error: "), lines[0]
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------- simulate
@pytest.mark.parametrize("dt,text", [("0", "--dt-s = 0 s: must be in (0, 60] s"),
                                     ("1e6", "--dt-s = 1e+06 s: must be in (0, 60] s"),
                                     ("nan", "--dt-s = nan: must be a finite number"),
                                     ("-1", "--dt-s = -1 s: must be in (0, 60] s")])
@pytest.mark.parametrize("flag", ["--dt-s", "--dt"])  # --dt: the old spelling, a hidden alias
def test_simulate_dt(tmp_path, capsys, dt, text, flag):
    out = tmp_path / "x.csv"
    refused(capsys, ["simulate", flag, dt, "-o", out], text)
    assert not out.exists()


def test_simulate_temperatures_name_the_option_not_the_core_field(tmp_path, capsys):
    line = refused(capsys, ["simulate", "--temp-c", "-300", "-o", tmp_path / "x.csv"],
                   "--temp-c = -300 degC", "[-40, 120] degC")
    assert "ambient_temp_k" not in line
    refused(capsys, ["charge", "--temp-c", "298.15"], "--temp-c = 298.15 degC", "looks like Kelvin (25.00 degC)")
    refused(capsys, ["simulate", "--temp-c", "298.15", "-o", tmp_path / "x.csv"], "looks like Kelvin")


def test_simulate_profile_text_names_file_line_and_column(tmp_path, capsys):
    prof = tmp_path / "p.csv"
    prof.write_text("t_s,current_a\n0,1.0\n1,abc\n2,1.0\n")
    refused(capsys, ["simulate", "--profile", prof, "-o", tmp_path / "x.csv"],
            f"{prof}, line 3: column current_a = 'abc' is not a number")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x7fELF\x02\x01\x00\x00" * 10)
    refused(capsys, ["simulate", "--profile", binary, "-o", tmp_path / "x.csv"], str(binary), "binary")
    refused(capsys, ["simulate", "--profile", tmp_path / "nope.csv", "-o", tmp_path / "x.csv"],
            "does not exist", "built-in profile")


def test_simulate_output_in_a_missing_folder(tmp_path, capsys):
    refused(capsys, ["simulate", "-o", tmp_path / "no" / "x.csv"], "-o", "does not exist")
    refused(capsys, ["simulate", "-o", tmp_path], "is a folder")


# ---------------------------------------------------------------------------- monitor
INV = 'sample_period_s = 1.0\nsignals = ["voltage_v"]\n[[invariant]]\nname = "v"\nsignal = "voltage_v"\nhi = 4.1\n'


@pytest.mark.parametrize("trace,text", [
    ("", "the file is empty"),
    ("t_s,voltage_v\n", "the file has a header but no data rows"),
    ("t_s,voltage_v\n0,4.0\n1,4.0,5\n", "line 3: 3 fields, the header has 2"),
    ("t_s,voltage_v\n0,4.0\n1,x\n", "line 3: column voltage_v = 'x' is not a number"),
    ("t_s,voltage_v\n0,4.0\n0,4.0\n", "t_s must increase strictly; data row 2 has t_s = 0 after 0"),
    ("t_s,current_a\n0,1\n", "columns ['voltage_v'] not found"),
])
def test_monitor_bad_traces(tmp_path, capsys, trace, text):
    (tmp_path / "t.csv").write_text(trace)
    (tmp_path / "i.toml").write_text(INV)
    refused(capsys, ["monitor", tmp_path / "t.csv", "--invariants", tmp_path / "i.toml", "-o", tmp_path / "e.csv"],
            str(tmp_path / "t.csv"), text)
    assert not (tmp_path / "e.csv").exists()


@pytest.mark.parametrize("toml,text", [
    (INV.replace("hi = 4.1", 'knd = "range"'), "invariant[0].knd: unknown key (did you mean 'kind'?)"),
    (INV.replace("hi = 4.1", 'hi = "4.1 V"'), "invariant[0].hi = '4.1 V': must be a number"),
    ("", "signals: missing or empty"),
    ('signals = ["voltage_v"]\n', "no [[invariant]] or [[tiered]] table"),
    ("a = 1; b = 2\n", "not valid TOML"),
    (INV.replace('signal = "voltage_v"', 'signal = "volts"'), "invariant[0].signal = 'volts': not in signals"),
    ('signals = ["v"]\n[[tiered]]\nname = "t"\nsignal = "v"\nside = "hi"\noperating = 1.0\n',
     "tiered[0]: missing recommended, maximum (required)"),
])
def test_monitor_bad_toml(tmp_path, capsys, toml, text):
    (tmp_path / "t.csv").write_text("t_s,voltage_v\n0,4.0\n1,4.2\n")
    (tmp_path / "i.toml").write_text(toml)
    refused(capsys, ["monitor", tmp_path / "t.csv", "--invariants", tmp_path / "i.toml", "-o", tmp_path / "e.csv"],
            str(tmp_path / "i.toml"), text)


# ---------------------------------------------------------------------------- estimate
def test_estimate_on_a_folder_or_a_binary_file(tmp_path, capsys):
    refused(capsys, ["estimate", tmp_path], str(tmp_path), "is a folder, not a file")
    binary = tmp_path / "log.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    refused(capsys, ["estimate", binary], str(binary), "binary")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("t_s,current_a,voltage_v,temperature_c\n0,1,3.7,25 \xb0C\n".encode("latin-1"))
    refused(capsys, ["estimate", latin], str(latin), "not UTF-8")


# ---------------------------------------------------------------------------- hil
@pytest.mark.parametrize("value,text", [("-5", "--duration-s = -5 s: must be in (0, 86400] s"),
                                        ("0", "--duration-s = 0 s: must be in (0, 86400] s"),
                                        ("nan", "--duration-s = nan: must be a finite number"),
                                        ("1e9", "--duration-s = 1e+09 s: must be in (0, 86400] s")])
def test_hil_duration(tmp_path, capsys, value, text):
    refused(capsys, ["hil", "run", "--lockstep", NOMINAL, "--duration-s", value, "-o", tmp_path / "o"], text)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv,text", [
    (["--realtime", "--rate-hz", "-1"], "--rate-hz = -1 Hz: must be in (0, 10000] Hz"),
    (["--realtime", "--rate-hz", "0"], "--rate-hz = 0 Hz: must be in (0, 10000] Hz"),
    (["--lockstep", "--rate-hz", "10"], "--rate-hz = 10: applies to --realtime only"),
    (["--firmware", "/nosuch/firmware_sim"], "--firmware /nosuch/firmware_sim: does not exist"),
])
def test_hil_rate_and_firmware(tmp_path, capsys, argv, text):
    refused(capsys, ["hil", "run", *argv, NOMINAL, "--duration-s", "1", "-o", tmp_path / "o"], text)


def test_output_naming_an_existing_file(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep me")
    refused(capsys, ["hil", "run", "--lockstep", NOMINAL, "--duration-s", "5", "-o", f],
            f"-o {f}: is an existing file, not a folder")
    refused(capsys, ["demo", "-o", f], f"-o {f}: is an existing file, not a folder")
    assert f.read_text() == "keep me"


def test_hil_scenario_that_does_not_exist(tmp_path, capsys):
    refused(capsys, ["hil", "run", tmp_path / "nope.toml"], "scenario", "nope.toml: does not exist")


def test_hil_firmware_horizon_is_the_working_range(tmp_path, capsys):
    """firmware.horizon 161..240 passed the old check and then faulted (CONTROLLER_FAULT from 165)."""
    text = NOMINAL.read_text().replace('controller = "mpc"', 'controller = "mpc"\nhorizon = 161')
    sc = tmp_path / "h.toml"
    sc.write_text(text)
    refused(capsys, ["hil", "run", "--lockstep", sc, "-o", tmp_path / "o"],
            "firmware.horizon: 161 is impossible: must be in [1, 160]")


# ---------------------------------------------------------------------------- demo
@pytest.mark.parametrize("value", ["10", "200", "400", "nan"])
def test_demo_durations_without_the_faults(tmp_path, capsys, value):
    refused(capsys, ["demo", "--duration-s", value, "--no-plot", "-o", tmp_path / "o"], "--duration-s = ")
    # the old spelling is still understood, and refused the same way
    refused(capsys, ["demo", "--duration", value, "--no-plot", "-o", tmp_path / "o"], "--duration-s = ")


# ---------------------------------------------------------------------------- resource bounds
def test_hil_memory_is_checked_before_anything_is_allocated(tmp_path, capsys, monkeypatch):
    """86 400 s at dt 1e-4 s are 8.6e8 steps: about 130 GiB of traces. Too much for memory, so the
    trace columns would stream to disk; what stays in memory (the load profile, 14 GB) is still
    more than half of 8 GiB: refused in the check, which says how much, before the harness
    allocates a byte."""
    from safetwin.commands import checks
    from safetwin.hil.harness import spilled_bytes, trace_bytes
    from safetwin.hil.scenario import load_scenario
    monkeypatch.setattr(checks, "available_memory_bytes", lambda: 8 * 2**30)
    text = NOMINAL.read_text().replace("dt_s = 1.0", "dt_s = 0.0001").replace("duration_s = 2400", "duration_s = 86400")
    sc = tmp_path / "long.toml"
    sc.write_text(text)
    need = trace_bytes(load_scenario(sc), 86400.0)
    steps = 86400 / 1e-4
    assert need == pytest.approx(8.0 * (steps * 20 + 3 * (2_000_000 + 12)))  # the arrays Bench._run makes
    in_memory = need - spilled_bytes(load_scenario(sc), 86400.0)
    assert in_memory == pytest.approx(8.0 * (steps * 2 + 3 * (2_000_000 + 12)))
    line = refused(capsys, ["hil", "run", "--lockstep", sc, "-o", tmp_path / "o"], "--duration-s")
    assert f"needs {in_memory / 2**30:.3g} GiB for its traces, more than 50% of the 8 GiB available" in line
    assert not (tmp_path / "o").exists()  # nothing made for a refused run


def test_simulate_size_is_checked_before_the_run(tmp_path, capsys):
    """A long profile streams through the core in chunks, so memory holds only the profile; its
    CSV must fit on disk: 3600 s at 1 ms on a 400s100p pack are 3.6e6 rows of 120 002 values,
    about 6.3 TiB at 16 bytes a value. Refused before the file is opened."""
    out = tmp_path / "x.csv"
    line = refused(capsys, ["simulate", "--profile", "cc", "--dt", "0.001", "--series", "400", "--parallel", "100",
                            "-o", out], "GiB on disk")
    assert f"needs {16 * 3.6e6 * (3 * 40000 + 2) / 2**30:.3g} GiB on disk" in line
    assert not out.exists()


def test_simulate_streams_a_long_profile_in_chunks(tmp_path, monkeypatch):
    """With chunks of 1000 steps the 3600-step drive cycle runs in 4 pieces; the CSV is the same
    as the one-piece run's, bit for bit (the pack carries its state from piece to piece)."""
    from safetwin.commands import simulate
    argv = ["simulate", "--profile", "drive", "--soc0", "0.9", "--series", "2"]
    assert main([*argv, "-o", str(tmp_path / "one.csv")]) == 0
    monkeypatch.setattr(simulate, "CHUNK_VALUES", 1000 * (3 * 2 + 2))
    assert simulate.chunk_steps(2) == 1000
    assert main([*argv, "-o", str(tmp_path / "four.csv")]) == 0
    assert (tmp_path / "four.csv").read_text() == (tmp_path / "one.csv").read_text()


# ---------------------------------------------------------------------------- the shell's view
def test_a_closed_pipe_is_not_an_error():
    """`safetwin hil list | head`: the reader has gone before anything is written."""
    with subprocess.Popen([sys.executable, "-m", "safetwin.cli", "hil", "list"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and err == ""


def test_version_and_the_firmware_command(capfd):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    from importlib import metadata
    assert capfd.readouterr().out.strip() == f"safetwin {metadata.version('safetwin')}"
    assert main(["firmware", "--help"]) == 0
    out = capfd.readouterr().out
    assert out.startswith("usage: firmware_sim") and "--rate-hz" in out


def test_the_console_script_prints_no_traceback_for_bad_input(tmp_path):
    r = subprocess.run([sys.executable, "-m", "safetwin.cli", "simulate", "--dt", "0", "-o", str(tmp_path / "x.csv")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "safetwin simulate: error: --dt-s = 0 s: must be in (0, 60] s\n"


def test_a_run_too_long_for_memory_streams_its_trace_to_disk(tmp_path, capsys, monkeypatch):
    """With (pretend) 100 kB of memory the 30 s real-time scenario's 150 steps do not fit: its trace
    columns go to files in the report folder, and the reports are the same as from memory."""
    from safetwin.commands import checks
    sc = ROOT / "hil" / "scenarios" / "realtime_charge.toml"
    assert main(["hil", "run", "--lockstep", "--no-plot", str(sc), "-o", str(tmp_path / "mem")]) == 0
    assert "stream to disk" not in capsys.readouterr().out
    # 150 steps: 8 B x (150 x 20 + 3 x 150 x 12 cells) = 67 kB of traces, 46 kB without the 18 columns
    monkeypatch.setattr(checks, "available_memory_bytes", lambda: 100_000)
    assert main(["hil", "run", "--lockstep", "--no-plot", str(sc), "-o", str(tmp_path / "disk")]) == 0
    assert f"its traces stream to disk in {tmp_path / 'disk'}" in capsys.readouterr().out
    assert (tmp_path / "disk" / "realtime_charge.csv").read_text() == (tmp_path / "mem" / "realtime_charge.csv").read_text()


def test_the_spilled_trace_is_a_file_backed_array(tmp_path):
    import numpy as np

    from safetwin.hil.harness import Bench
    from safetwin.hil.scenario import load_scenario
    sc = load_scenario(ROOT / "hil" / "scenarios" / "realtime_charge.toml")
    r = Bench(sc, "inprocess", duration_s=5.0, spill_dir=str(tmp_path)).run()
    ref = Bench(sc, "inprocess", duration_s=5.0).run()
    assert isinstance(r.trace["t_s"], np.memmap)
    for k in ref.trace:
        np.testing.assert_array_equal(r.trace[k], ref.trace[k], err_msg=k)


@pytest.mark.parametrize("argv,text", [
    (["simulate", "--profile", "cc", "--current", "-1e6"], "--current-a = -1e+06 A is beyond 20x the cell's charge limit"),
    (["simulate", "--temp-c", "-inf"], "--temp-c = -inf: must be a finite temperature in degC"),
    (["simulate", "--profile", "cc", "--current", "nan"], "--current-a = nan: must be a finite number"),
    (["charge", "--soc0", "-1e308"], "--soc0 = -1e+308: must be in [0, 0.79)"),
])
def test_negative_and_non_finite_values_reach_the_checks(tmp_path, capsys, argv, text):
    """'-1e6' and '-inf' after an option are its value, not an unknown option (argparse alone
    refuses them with 'expected one argument'); NaN is refused without a warning first."""
    if argv[0] == "simulate":
        argv = [*argv, "-o", str(tmp_path / "x.csv")]
    refused(capsys, argv, text)


def test_a_firmware_that_does_not_start_is_one_line_and_closes_its_bus(tmp_path):
    """A relative --firmware path is the file there (not a PATH lookup); when it exits at once, the
    command says so in one line, exit 2, and the UDP bus the harness opened is shut down (python-can
    would warn 'not properly shut down' when it is collected)."""
    fw = tmp_path / "broken_fw"
    fw.write_text("#!/bin/sh\necho 'firmware_sim: error: this build is broken' >&2\nexit 1\n")
    fw.chmod(0o755)
    scenario = ROOT / "hil" / "scenarios" / "realtime_charge.toml"
    r = subprocess.run([sys.executable, "-W", "always", "-m", "safetwin.cli", "hil", "run", "--firmware", "./broken_fw",
                        str(scenario), "--duration-s", "1", "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"safetwin hil: error: {scenario}: firmware_sim did not start: firmware_sim: error: this build is broken "
        f"(executable: {fw})"]


def test_a_scenario_temperature_in_kelvin_is_named(tmp_path, capsys):
    sc = tmp_path / "k.toml"
    sc.write_text(NOMINAL.read_text().replace("[initial]\nsoc = 0.10\ntemp_c = 25", "[initial]\nsoc = 0.10\ntemp_c = 298.15"))
    refused(capsys, ["hil", "run", "--lockstep", sc, "-o", tmp_path / "o"],
            "initial.temp_c: 298.15 is impossible: must be in [-40.0, 80.0] (298.15 looks like Kelvin: 25.00 degC)")
