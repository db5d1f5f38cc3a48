"""Campaign execution: the same records for any number of Dask workers, a killed or partial
campaign resumed from its Parquet folder with nothing lost or counted twice, and the CLI
contract (JSON keys, refusals before anything runs)."""
import dataclasses
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from safetwin.campaign import engine, execution, spec
from safetwin.cli import main

SHORT = """
[campaign]
name = "short"
family = "closed_loop"
seed = 4
n = {n}
method = "mc"
batch_size = 2
duration_s = {duration_s}
[failure]
event = "robust_voltage_max_v < 0.05 or robust_temp_max_k < 0"
[variables.topology]
dist = "categorical"
values = ["cell", "2s2p"]
[variables.law]
dist = "categorical"
values = ["mpc", "const_3c", "faulty"]
[variables.fault]
dist = "categorical"
values = ["none", "voltage_offset", "internal_short", "node_tampered"]
[variables.soc0]
dist = "uniform"
low = 0.5
high = 0.9
[variables.severity]
dist = "uniform"
low = 0.0
high = 1.0
[variables.onset_s]
dist = "uniform"
low = 10.0
high = 100.0
[filter]
voltage_max_v = 4.1
"""


def short(n=8, duration_s=150.0) -> spec.Campaign:
    return spec.loads(SHORT.format(n=n, duration_s=duration_s), "short.toml")


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def _equal(a, b) -> bool:
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(x[k] == y[k] or (isinstance(x[k], float) and math.isnan(x[k]) and math.isnan(y[k]))
                                     for k in x) for x, y in zip(_strip(a), _strip(b)))


def test_records_are_identical_on_one_and_two_dask_workers_and_in_process():
    c = short()
    local = engine.run(c)
    results = {}
    for workers in (1, 2):
        ex = execution.DaskExecutor(workers=workers)
        try:
            assert ex.workers == workers
            results[workers] = engine.run(c, executor=ex)
        finally:
            ex.close()
    assert _equal(results[1].rows, results[2].rows)
    assert _equal(local.rows, results[2].rows)
    assert [r["index"] for r in results[2].rows] == list(range(8))
    assert results[2].summary["workers"] == 2


def test_a_partial_campaign_resumes_to_the_uninterrupted_result(tmp_path):
    c = short(n=10)
    whole = engine.run(c)
    with pytest.raises(execution.Interrupted):
        engine.run(c, out_dir=tmp_path, max_batches=2)
    assert len(list((tmp_path / "stage_000").glob("batch_*.parquet"))) == 2
    resumed = engine.run(c, out_dir=tmp_path)
    assert _equal(whole.rows, resumed.rows)
    stored = pq.read_table(tmp_path / "stage_000").to_pylist()
    assert sorted(r["index"] for r in stored) == list(range(10))  # each sample once
    assert resumed.summary["n_scenarios"] == 10
    assert resumed.summary["p_failure"] == whole.summary["p_failure"]


def test_a_ce_is_campaign_resumed_in_a_later_stage_reproduces_its_proposals(tmp_path):
    c = spec.load(Path(spec.__file__).parent.parent / "data" / "campaigns" / "closed_form_intersection.toml")
    c = dataclasses.replace(c, batch_size=250, n=1000, ce=dataclasses.replace(c.ce, stage_n=500))
    whole = engine.run(c)
    with pytest.raises(execution.Interrupted):
        engine.run(c, out_dir=tmp_path, max_batches=3)  # stages 0, 1 done; stage 2 partial
    resumed = engine.run(c, out_dir=tmp_path)
    assert resumed.summary["p_failure"] == whole.summary["p_failure"]
    assert resumed.summary["ci95"] == whole.summary["ci95"]
    assert resumed.stages == whole.stages


def test_resuming_into_another_campaign_is_refused(tmp_path):
    c = short(n=4)
    engine.run(c, out_dir=tmp_path)
    with pytest.raises(execution.ResumeError, match="seed: 4 here, 5 now"):
        engine.run(c.with_options(seed=5), out_dir=tmp_path)


def test_a_killed_cli_campaign_resumes_with_nothing_lost_or_counted_twice(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(SHORT.format(n=24, duration_s=300.0))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "safetwin.cli", "campaign", "run", str(path), "--workers", "0", "-o", str(out), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # not read: no pipes left open
    deadline = time.monotonic() + 300
    while len(list((out / "stage_000").glob("batch_*.parquet"))) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((out / "stage_000").glob("batch_*.parquet")))
    assert 2 <= done < 12, "the kill came after the campaign ended: nothing to resume"
    resumed = subprocess.run(cmd, capture_output=True, text=True, check=True)
    uninterrupted = subprocess.run(cmd[:-3] + ["-o", str(tmp_path / "whole"), "--json"], capture_output=True,
                                   text=True, check=True)
    a, b = json.loads(resumed.stdout), json.loads(uninterrupted.stdout)
    for key in ("n_scenarios", "n_failures", "p_failure", "ci95", "avoidable", "by_fault", "false_rejection_rate"):
        assert a[key] == b[key], key
    rows = pq.read_table(out / "stage_000").to_pylist()
    assert sorted(r["index"] for r in rows) == list(range(24))
    assert not list((out / "stage_000").glob(".*tmp"))


CONTRACT = {"n_scenarios", "n_failures", "p_failure", "ci95", "method", "ess", "avoidable", "unavoidable",
            "false_stops", "nonfinite_commands", "current_limit_exceeded", "by_fault", "false_rejection_rate",
            "wall_s", "workers"}


def test_cli_json_has_the_contract_keys(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(SHORT.format(n=6, duration_s=100.0))
    assert main(["campaign", "run", str(path), "--workers", "0", "--json", "-o", str(tmp_path / "o")]) == 0
    s = json.loads(capsys.readouterr().out)
    assert CONTRACT <= set(s)
    assert s["method"] == "mc" and s["n_scenarios"] == 6 and s["workers"] == 1
    lo, hi = s["ci95"]
    assert lo <= s["p_failure"] <= hi
    assert sum(b["count"] for b in s["by_fault"].values()) == 6
    for b in s["by_fault"].values():
        assert set(b["detection_delay_s"]) == {"median", "p95"}
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {"summary.json", "manifest.json", "robustness.png",
                                                          "convergence.png", "failures.png", "stage_000"}


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('method = "mc"', 'method = "is"'), "short.toml: campaign: method = 'is': must be one of"),
    (lambda t: t.replace("high = 0.9", "high = 1.5"), "variables.soc0: soc0: support [0.5, 1.5] leaves the variable's range [0.01, 0.99]"),
    (lambda t: t.replace('"none", "voltage_offset"', '"none", "volt_offset"'), "variables.fault: fault: values ['volt_offset'] unknown"),
    (lambda t: t.replace("robust_voltage_max_v < 0.05", "robust_vmax < 0.05"), "unknown fields ['robust_vmax']"),
    (lambda t: t.replace("[variables.severity]", "[variables.severityy]"), "variables.severityy: unknown variable 'severityy'"),
    (lambda t: t + '\n[variables.ambient_c]\ndist = "uniform"\nlow = 0.0\nhigh = 40.0\nspread = 1\n', "variables.ambient_c: unknown keys ['spread']"),
    # an unhashable dist (a list) was a TypeError traceback (found by the atheris campaign harness in CI)
    (lambda t: t + '\n[variables.ambient_c]\ndist = ["uniform"]\nlow = 0.0\nhigh = 40.0\n', "variables.ambient_c.dist = ['uniform']: must be one of"),
    (lambda t: t.replace("batch_size = 2", "batch_size = 0"), "campaign: batch_size = 0: must be in [1, 10000000]"),
    (lambda t: t.replace('values = ["mpc", "const_3c", "faulty"]', 'values = ["mpc", "const_3c", "faulty"]\nprobs = [0.5, 0.5, 0.5]'), "variables.law.probs sum to 1.5: must sum to 1"),
])
def test_bad_campaign_files_are_refused_before_anything_runs(tmp_path, capsys, edit, message):
    path = tmp_path / "short.toml"
    path.write_text(edit(SHORT.format(n=4, duration_s=100.0)))
    out = tmp_path / "o"
    assert main(["campaign", "run", str(path), "--workers", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("safetwin campaign: error: ") and str(path) in err
    assert message in err, err
    assert not out.exists()  # refused before a cluster or a folder was made


def test_cli_option_refusals(tmp_path, capsys):
    path = tmp_path / "short.toml"
    path.write_text(SHORT.format(n=4, duration_s=100.0))
    assert main(["campaign", "run", str(path), "--n", "0", "--workers", "0"]) == 2
    assert "--n = 0: must be an integer >= 1" in capsys.readouterr().err
    assert main(["campaign", "run", "no_such_campaign", "--workers", "0"]) == 2
    assert "no shipped campaign of that name" in capsys.readouterr().err


def test_cli_runs_on_an_existing_scheduler(tmp_path, capsys):
    from dask.distributed import LocalCluster

    path = tmp_path / "c.toml"
    path.write_text(SHORT.format(n=4, duration_s=100.0))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        assert main(["campaign", "run", str(path), "--scheduler", cluster.scheduler_address, "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert main(["campaign", "run", str(path), "--workers", "0", "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert remote["workers"] == 1
    for key in ("n_scenarios", "p_failure", "ci95", "by_fault", "avoidable", "false_rejection_rate"):
        assert remote[key] == local[key], key
