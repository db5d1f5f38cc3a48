"""HIL bench speed: the codec against cantools, the harness cycle for a 96-cell pack, lockstep
speed (simulated s per wall s) in-process and over UDP, and real-time loop jitter of the firmware
process over UDP at 100 Hz and 1 kHz.

    python benchmarks/bench_hil.py [--quick] [--realtime-s 10]

Prints medians and p99 of the per-cycle/per-frame times; the anchor is cantools (the reference
Python encoder) on the same frames in the same run.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from safetwin.hil import _codec
from safetwin.hil.harness import Bench
from safetwin.hil.link import database
from safetwin.hil.scenario import load_scenario

PACK96 = """
[scenario]
name = "PACK-96 drive"
description = "96s1p (PACK-96 spread), synthetic drive cycle"
duration_s = {duration}
dt_s = {dt}
seed = 1

[pack]
series = 96
spread_capacity_rel = 0.03
spread_r0_rel = 0.10
spread_seed = 1

[initial]
soc = 0.8

[load]
mode = "drive"
profile = "drive"
current_a = 5.15

[firmware]
plant_heartbeat_timeout_s = {hb}

[sensors.cell_voltage]
noise_v = 0.001
[sensors.cell_temp]
noise_c = 0.2

[criteria]
max_cell_voltage_v = 4.25
"""


def pct(a, q):
    return float(np.percentile(np.asarray(a), q))


def scenario(duration: float, dt: float, hb: float = 1.0):
    tmp = Path(tempfile.mkdtemp(prefix="bench-hil-")) / "pack96.toml"
    tmp.write_text(PACK96.format(duration=duration, dt=dt, hb=hb))
    return load_scenario(tmp)


def bench_codec(reps: int) -> None:
    """One cycle of a 96-cell pack (52 frames): Cython codec vs cantools + the same E2E CRC."""
    db = database()
    rng = np.random.default_rng(0)
    v, t = rng.uniform(3.0, 4.2, 96), rng.uniform(20, 40, 96)
    enc = _codec.PlantFrameEncoder(96)
    cy = []
    for k in range(reps):
        t0 = time.perf_counter()
        enc.encode(k + 1, 0.001, k * 0.001, True, v, t, 12.0, 380.0, 12.0, 2)
        cy.append(time.perf_counter() - t0)
    msgs = {m.name: m for m in db.messages}
    ct = []
    for k in range(max(reps // 10, 20)):
        t0 = time.perf_counter()
        frames = []
        for g in range(32):
            m = msgs["CELL_V_A" if g < 16 else "CELL_V_B"]
            base = 0 if g < 16 else 48
            vals = {"E2E_CRC": 0, "E2E_COUNTER": k & 15, f"{m.name}_MUX": g % 16}
            for j in range(3):
                c = g * 3 + j
                vals[f"CELL_V_{c + 1:03d}"] = float(v[c])
            data = bytearray(m.encode(vals))
            _codec.e2e_protect(m.frame_id, data)
            frames.append(data)
            del base
        for g in range(16):
            m = msgs["CELL_T"]
            vals = {"E2E_CRC": 0, "E2E_COUNTER": k & 15, "CELL_T_MUX": g}
            for j in range(6):
                vals[f"CELL_T_{g * 6 + j + 1:03d}"] = float(t[g * 6 + j])
            data = bytearray(m.encode(vals))
            _codec.e2e_protect(m.frame_id, data)
            frames.append(data)
        for name, vals in (("PACK_MEAS", {"PACK_CURRENT": 12.0, "PACK_VOLTAGE": 380.0, "CONTACTOR_CLOSED": 1}),
                           ("LOAD_REQUEST", {"REQ_CURRENT": 12.0, "REQ_MODE": 2}),
                           ("PLANT_HEARTBEAT", {"PLANT_TIME": k * 0.001, "PLANT_CONTACTOR_CLOSED": 1}),
                           ("PLANT_TICK", {"TICK_SEQ": k + 1, "TICK_DT": 0.001})):
            data = bytearray(msgs[name].encode({"E2E_CRC": 0, "E2E_COUNTER": k & 15, **vals}))
            _codec.e2e_protect(msgs[name].frame_id, data)
            frames.append(data)
        ct.append(time.perf_counter() - t0)
    n = enc.frames_per_cycle
    print(f"codec, one 96-cell cycle ({n} frames, packed + E2E-protected):")
    print(f"  Cython (generated C)  median {np.median(cy) * 1e6:8.1f} us/cycle  p99 {pct(cy, 99) * 1e6:8.1f}  "
          f"= {np.median(cy) / n * 1e6:6.2f} us/frame")
    print(f"  cantools (Python)     median {np.median(ct) * 1e6:8.1f} us/cycle  p99 {pct(ct, 99) * 1e6:8.1f}  "
          f"= {np.median(ct) / n * 1e6:6.2f} us/frame")
    print(f"  ratio cantools / Cython: {np.median(ct) / np.median(cy):.0f}x")


def bench_lockstep(quick: bool) -> None:
    print("lockstep, 96s1p drive cycle (whole harness cycle: sensors, frames, firmware, plant step):")
    for transport in ("inprocess", "udp"):
        for dt, duration in ((1.0, 600.0 if quick else 1800.0), (0.01, 20.0 if quick else 60.0),
                             (0.001, 5.0 if quick else 10.0)):
            sc = scenario(duration, dt)
            r = Bench(sc, transport).run()
            steps = len(r.trace["t_s"])
            per = r.wall_s / steps
            fw = ""
            if r.firmware_report:  # the process times its own cycles: decode, guarded pack cycle, encode
                c = r.firmware_report["cycle_time"]
                fw = f"; firmware's own cycle p50 {c['p50_us']:5.0f} us p99 {c['p99_us']:5.0f} us"
            print(f"  {transport:9s} dt = {dt:6.3f} s: {steps:6d} cycles in {r.wall_s:6.2f} s = {per * 1e6:7.1f} us/cycle, "
                  f"{r.simulated_s / r.wall_s:9.1f} simulated s per wall s "
                  f"({'keeps up with' if per < dt else 'slower than'} {1 / dt:g} Hz){fw}")


def bench_realtime(seconds: float) -> None:
    print(f"real time over UDP, firmware_sim process + harness paced on the wall clock, {seconds:g} s each:")
    for rate in (100.0, 1000.0):
        sc = scenario(seconds, 1.0 / rate, hb=0.5)
        r = Bench(sc, "realtime", rate_hz=rate, duration_s=seconds).run()
        rep = r.firmware_report
        j, c = rep["jitter"], rep["cycle_time"]
        answered = float(np.nanmean(r.trace["answered"]))
        print(f"  {rate:6.0f} Hz, 96 cells: firmware wake-up jitter p50 {j['p50_us']:6.0f} us  p99 {j['p99_us']:6.0f} us  "
              f"max {j['max_us']:7.0f} us; cycle time p50 {c['p50_us']:4.0f} us p99 {c['p99_us']:5.0f} us; "
              f"{rep['deadline_misses']} deadline misses in {rep['cycles']} cycles; harness got an answer in "
              f"{answered * 100:.1f} % of its cycles; harness wall {r.wall_s:.2f} s for {seconds:g} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--realtime-s", type=float, default=10.0)
    args = ap.parse_args()
    bench_codec(200 if args.quick else 2000)
    bench_lockstep(args.quick)
    bench_realtime(args.realtime_s)


if __name__ == "__main__":
    main()
