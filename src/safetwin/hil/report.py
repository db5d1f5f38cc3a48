"""Reports of a HIL run: JUnit XML (one test case per criterion, for CI systems), a CSV of the
whole run, a CSV of the events, and plots (matplotlib, optional extra ``plot``)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from safetwin.hil.link import MODES

SUMMARY_COLUMNS = ("t_s", "current_a", "command_a", "request_a", "contactor_closed", "fw_mode", "fw_flags",
                   "pack_voltage_v", "cell_v_max", "cell_v_min", "cell_t_max_c", "soc_mean", "soc_min", "soc_max",
                   "meas_v_max", "answered", "fw_cycle_time_s", "fw_est_soc")


def write_junit(result, path: Path) -> None:
    cases = result.criteria
    suite = ET.Element("testsuite", name=f"hil.{result.scenario.name}", tests=str(len(cases)),
                       failures=str(sum(not c["passed"] for c in cases)), errors="0",
                       time=f"{result.wall_s:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("scenario", str(result.scenario.path)), ("transport", result.transport),
                 ("simulated_s", f"{result.simulated_s:g}")):
        ET.SubElement(props, "property", name=k, value=v)
    for c in cases:
        case = ET.SubElement(suite, "testcase", classname=f"hil.{result.scenario.path.stem}", name=c["name"],
                             time="0")
        if not c["passed"]:
            fail = ET.SubElement(case, "failure", message=c["message"], type="criterion")
            fail.text = c["message"]
        else:
            ET.SubElement(case, "system-out").text = c["message"]
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_csv(result, path: Path) -> None:
    """Summary columns every step; per-cell true voltage, temperature and SOC on the rows of the
    cell trace (every step unless the run is long: see harness.MAX_CELL_SAMPLES)."""
    tr = result.trace
    cols = [tr[c] for c in SUMMARY_COLUMNS]
    header = list(SUMMARY_COLUMNS)
    ct = result.cell_trace
    n = ct["voltage_v"].shape[1]
    if len(ct["t_s"]) == len(tr["t_s"]):
        cols += list(ct["voltage_v"].T) + list(ct["temp_c"].T) + list(ct["soc"].T)
        header += [f"voltage_v_{j + 1}" for j in range(n)] + [f"temp_c_{j + 1}" for j in range(n)] + \
                  [f"soc_{j + 1}" for j in range(n)]
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(header), comments="", fmt="%.9g")


def write_events(result, path: Path) -> None:
    with open(path, "w") as f:
        # cell: the series cell a firmware event names (1-based; 0 = the pack; empty for the others)
        f.write("t_s,source,event,cell\n")
        for e in result.events:
            f.write(f"{e['t_s']:.6g},{e['source']},{e['event']},{e.get('cell', '')}\n")


def write_plot(result, path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    tr = result.trace
    t = tr["t_s"]
    fig, ax = plt.subplots(4, 1, figsize=(10, 10), sharex=True)
    ax[0].plot(t, tr["current_a"], label="plant current")
    ax[0].plot(t, tr["command_a"], "--", label="firmware command")
    ax[0].set_ylabel("current (A)")
    ax[0].legend(loc="best")
    ax[1].plot(t, tr["cell_v_max"], label="max cell (true)")
    ax[1].plot(t, tr["cell_v_min"], label="min cell (true)")
    ax[1].set_ylabel("voltage (V)")
    ax[1].legend(loc="best")
    ax[2].plot(t, tr["cell_t_max_c"], color="tab:red")
    ax[2].set_ylabel("max temp (degC)")
    ax[3].plot(t, tr["soc_mean"], label="mean SOC (true)")
    ax[3].plot(t, tr["fw_est_soc"], ":", label="mean SOC (firmware estimate)")
    ax[3].step(t, tr["fw_mode"] / 2.0, where="post", label="mode / 2 (" + ", ".join(MODES) + ")")
    ax[3].step(t, tr["contactor_closed"], where="post", label="contactor closed")
    ax[3].set_ylabel("SOC, mode")
    ax[3].set_xlabel("time (s)")
    ax[3].legend(loc="best")
    for e in result.events:
        if e["source"] == "harness":
            for a in ax:
                a.axvline(e["t_s"], color="grey", lw=0.8, ls=":")
    verdict = "PASS" if result.passed else "FAIL"
    fig.suptitle(f"{result.scenario.name} [{result.transport}]: {verdict}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_all(result, out_dir: Path, plots: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result.scenario.path.stem
    paths = {"junit": out_dir / f"{stem}.junit.xml", "csv": out_dir / f"{stem}.csv",
             "events": out_dir / f"{stem}.events.csv"}
    write_junit(result, paths["junit"])
    write_csv(result, paths["csv"])
    write_events(result, paths["events"])
    if plots and write_plot(result, out_dir / f"{stem}.png"):
        paths["plot"] = out_dir / f"{stem}.png"
    return paths
