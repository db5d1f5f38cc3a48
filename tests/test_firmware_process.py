"""firmware_sim as a program: --help, a config file with flags on top, refusals naming the option."""
import subprocess

import pytest

pytest.importorskip("cantools")

from safetwin.hil.firmware import FirmwareProcess, find_firmware  # noqa: E402


def _run(*args):
    return subprocess.run([str(find_firmware()), *args], capture_output=True, text=True, timeout=30)


def test_help_lists_every_option():
    r = _run("--help")
    assert r.returncode == 0
    for opt in ("--lockstep", "--rate-hz", "--listen", "--peer", "--config", "--controller",
                "--plant-heartbeat-timeout-s", "--series", "--report"):
        assert opt in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--series", "97"], "FirmwareConfig.series = 97"),
    (["--rate-hz", "0"], "rate-hz = 0: must be in (0, 10000]"),
    (["--controller", "pid"], "controller = 'pid': mpc or cccv"),
    (["--bogus", "1"], "bogus: unknown option"),
    (["--listen", "nowhere"], "--listen = 'nowhere': expected IPv4 host:port"),
])
def test_bad_options_exit_2_naming_the_option(args, message):
    r = _run(*args)
    assert r.returncode == 2
    assert message in r.stderr


def test_config_file_then_flags(tmp_path):
    cfg = tmp_path / "fw.conf"
    cfg.write_text("# firmware settings\nseries = 7\nplant_heartbeat_timeout_s = 0.5\ncontroller = cccv\n")
    r = _run("--config", str(cfg), "--series", "200")  # the flag overrides the file: and is refused
    assert r.returncode == 2 and "FirmwareConfig.series = 200" in r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("series = 7\nrate_hz = fast\n")
    r = _run("--config", str(bad))
    assert r.returncode == 2 and f"{bad}:2: rate-hz = 'fast': not a finite number" in r.stderr
    # a good file runs: the lockstep firmware answers and reports on SIGTERM
    with FirmwareProcess(lockstep=True, config=str(cfg)) as fp:
        assert fp.alive
        report = fp.stop()
    assert report["mode"] == "lockstep" and report["cycles"] == 0
