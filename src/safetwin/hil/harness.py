"""The HIL harness: the battery plant (``safetwin.battery.Pack``) and its sensors on one side of
the link, the firmware on the other, a scenario's faults in between.

One cycle (lockstep; the harness owns time):
  1. apply the faults due now (plant: cooling, internal short; sensors: stuck, offset;
     link: frame loss / corruption / delay, plant heartbeat loss; firmware crash),
  2. read the sensors of the plant's present state and pack one cycle of frames (Cython codec),
  3. send them with PLANT_TICK(seq) and wait for FW_TICK_ACK(seq) (re-sending on time-out),
  4. apply the command: the plant draws the commanded current while its contactor is closed; the
     contactor opens when the firmware asks, or when the plant's own watchdog sees no firmware
     heartbeat for ``plant.fw_heartbeat_timeout_s`` (until then the last command holds, as an
     inverter holds its set-point),
  5. step the plant by dt_s and log the true state.

Real time (``transport="realtime"``): the firmware process runs its own fixed-rate loop; the
harness paces itself on the wall clock at the same rate, sends measurements every period and
applies the latest command it has received.
"""
from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from safetwin import battery, profiles
from safetwin.hil import _codec
from safetwin.hil.attest_nodes import ATTEST_CHECKS, ATTEST_REASONS, AttestationNodes
from safetwin.hil.diag import anomaly_threshold, connection_resistance
from safetwin.hil.link import (
    PLANT_FRAMES,
    PLANT_TICK,
    REQUEST_MODES,
    AnswerDecoder,
    FirmwareAnswer,
    fault_codes,
)
from safetwin.hil.report_nodes import ReportNodes, bus_load, node_name
from safetwin.hil.scenario import Scenario
from safetwin.hil.sensors import PackSensors

TRANSPORTS = ("inprocess", "udp", "realtime")
MAX_CELL_SAMPLES = 2_000_000  # per-cell traces beyond this are decimated
TRACE_COLUMNS = 18            # float64 columns of the run's trace, one row per step (see Bench._run)
RATE_MAX_HZ = 10_000.0        # firmware_sim's own limit of --rate-hz


def step_s(sc: Scenario, transport: str, rate_hz: float | None) -> float:
    """The plant's step: the scenario's dt_s in lockstep, the cycle period on the wall clock."""
    return sc.dt_s if transport != "realtime" else 1.0 / (rate_hz or (1.0 / sc.dt_s))


def trace_bytes(sc: Scenario, duration_s: float, transport: str = "inprocess", rate_hz: float | None = None) -> float:
    """Memory the run's traces take (allocated before the first step): the summary columns and the
    load profile every step, the per-cell trace up to MAX_CELL_SAMPLES samples."""
    steps = duration_s / step_s(sc, transport, rate_hz)
    cells = int(sc.pack["series"])
    return 8.0 * (steps * (TRACE_COLUMNS + 2) + 3 * min(steps * cells, MAX_CELL_SAMPLES + cells))


def spilled_bytes(sc: Scenario, duration_s: float, transport: str = "inprocess", rate_hz: float | None = None) -> float:
    """The part of trace_bytes that goes to disk when the run spills (Bench(spill_dir=...)): the
    summary columns; the load profile and the (capped) per-cell trace stay in memory."""
    return 8.0 * TRACE_COLUMNS * duration_s / step_s(sc, transport, rate_hz)


@dataclass
class RunResult:
    scenario: Scenario
    transport: str
    trace: dict[str, np.ndarray]
    cell_trace: dict[str, np.ndarray]        # per-cell true state, rows at cell_trace["t_s"]
    events: list[dict[str, Any]]             # firmware fault events and harness events, in time order
    fault_times: list[tuple[str, float]]     # (fault type, injection time) of the scenario's faults
    criteria: list[dict[str, Any]] = field(default_factory=list)
    firmware_report: dict | None = None
    wall_s: float = 0.0
    retransmissions: int = 0
    dt_s: float | None = None                # the plant's step: the scenario's dt_s, 1/rate_hz in real time
    # The firmware's attestation outcomes (ATTEST_RESULT): t_s, node, kind (answer / round), reason, check
    attestation: list[dict[str, Any]] = field(default_factory=list)
    # The sensor nodes' measurement frames sent, per node (CELL_V_A_0, ..., CELL_T_1); every frame
    # on the link both ways (a re-sent datagram once), and their share of the link's capacity
    # (report_nodes.py: classic CAN 500 kbit/s, 135 bits per frame); per node the times it reported.
    frames_by_node: dict[str, int] = field(default_factory=dict)
    bus_frames: int = 0
    bus_load: float = 0.0
    report_times: dict[str, list[float]] = field(default_factory=dict)

    def attest_counts(self, kind: str = "round") -> dict[int, dict[str, int]]:
        """Per node, how many rounds (or verified answers) ended with each reason."""
        out: dict[int, dict[str, int]] = {}
        for a in self.attestation:
            if a["kind"] == kind:
                c = out.setdefault(a["node"], {})
                c[a["reason"]] = c.get(a["reason"], 0) + 1
        return out

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.criteria)

    @property
    def simulated_s(self) -> float:
        return float(len(self.trace["t_s"]) * (self.dt_s or self.scenario.dt_s))


def make_pack(sc: Scenario, cell_file: str | None = None) -> battery.Pack:
    """The plant: the scenario's pack of REF-CELL-1 cells, or of the cell file's cells (read by
    safetwin.cellfile), at the scenario's ambient temperature."""
    if cell_file is None:
        cell = battery.CellParams.ref_cell_1()
    else:
        from safetwin.cellfile import load_cell
        cell = load_cell(cell_file)
    cell.ambient_temp_k = sc.ambient_c + battery.ZERO_CELSIUS_K
    p = sc.pack
    spread = battery.SpreadConfig(capacity_rel=p["spread_capacity_rel"], r0_rel=p["spread_r0_rel"],
                                  seed=int(p["spread_seed"]))
    init = battery.CellState(soc=sc.initial["soc"], temp_k=sc.initial["temp_c"] + battery.ZERO_CELSIUS_K)
    return battery.Pack(battery.PackConfig(series=int(p["series"]), parallel=int(p["parallel"]), cell=cell,
                                           spread=spread, initial=init))


def load_profile(sc: Scenario, dt_s: float, steps: int) -> tuple[int, np.ndarray]:
    """(REQ_MODE, REQ_CURRENT per step) of the scenario's [load]."""
    ld = sc.load
    mode = REQUEST_MODES[ld["mode"]]
    if ld["mode"] == "drive" and ld["profile"] == "drive":
        cur = profiles.drive_cycle(steps * dt_s, dt_s, seed=sc.seed, mean_current_a=ld["current_a"],
                                   peak_current_a=ld.get("peak_current_a", 5 * abs(ld["current_a"])),
                                   regen_current_a=ld.get("regen_current_a", 2 * abs(ld["current_a"])))
        cur = np.resize(cur, steps)
    else:
        cur = np.full(steps, float(ld["current_a"]))
    return mode, np.clip(cur, -327.67, 327.67)


def firmware_options(sc: Scenario, rate_hz: float | None = None, cell_file: str | None = None,
                     nodes: AttestationNodes | None = None) -> dict[str, Any]:
    """The firmware's configuration for a scenario: its pack, its [firmware] table, the cycle rate
    (the monitor's sample period: the scenario's dt in lockstep), the cell file the firmware reads
    with its own (C++) reader when one is given, and, when the scenario attests, the enrolment of
    its sensor nodes (their AKs and golden PCRs; those of `nodes`, the run's own, when given:
    a swtpm node's AK exists only in its TPM) and the rounds' timing."""
    opts = {"cell": cell_file} if cell_file is not None else {}
    opts.update({"series": int(sc.pack["series"]), "parallel": int(sc.pack["parallel"]),
                 "rate_hz": rate_hz or 1.0 / sc.dt_s, **sc.firmware})
    if "anomaly_alpha_per_h" in opts:  # the firmware takes the calibrated threshold itself
        opts["anomaly_threshold"] = anomaly_threshold(opts.pop("anomaly_alpha_per_h"))
    if sc.attestation["every_s"] > 0:
        own = nodes is None
        nodes = nodes or AttestationNodes(sc, 1.0 / opts["rate_hz"])
        try:
            opts.update(nodes.firmware_options(sc.attestation["every_s"]))
        finally:
            if own:
                nodes.close()
    return opts


class LinkFaults:
    """Frame loss, corruption and delay on the plant -> firmware direction, per cycle, seeded."""

    def __init__(self, faults, seed: int) -> None:
        self.faults = [f for f in faults if f.type in ("frame_loss", "frame_corrupt", "frame_delay")]
        self.rng = np.random.default_rng(seed + 7919)
        self.delayed: list[tuple[int, bytes]] = []  # (release cycle, frame record)

    @staticmethod
    def _mask(ids: np.ndarray, names: list[str] | None) -> np.ndarray:
        if not names:  # default: every frame but the tick (the simulator's clock, not a bus frame)
            return ids != PLANT_TICK
        return np.isin(ids, [PLANT_FRAMES[n] for n in names])

    def apply(self, body: bytes, k: int, t_s: float) -> bytes:
        if not self.faults and not self.delayed:
            return body
        rec = np.frombuffer(body, dtype=np.uint8).reshape(-1, 16).copy()
        ids = rec[:, :4].copy().view("<u4")[:, 0]
        keep = np.ones(len(rec), dtype=bool)
        for f in self.faults:
            if not f.active(t_s):
                continue
            hit = self._mask(ids, f.params.get("frames")) & keep
            p = f.params.get("probability", 1.0)
            if p < 1.0:
                hit &= self.rng.random(len(rec)) < p
            if f.type == "frame_loss":
                keep &= ~hit
            elif f.type == "frame_corrupt":
                for r in np.flatnonzero(hit):
                    byte = 8 + int(self.rng.integers(0, 8))
                    rec[r, byte] ^= np.uint8(1 << int(self.rng.integers(0, 8)))
            elif f.type == "frame_delay":
                d = int(f.params.get("delay_cycles", 1))
                for r in np.flatnonzero(hit):
                    self.delayed.append((k + d, rec[r].tobytes()))
                keep &= ~hit
        # late frames go before this cycle's tick, which stays last
        due = [r for (c, r) in self.delayed if c <= k]
        self.delayed = [(c, r) for (c, r) in self.delayed if c > k]
        is_tick = ids == PLANT_TICK
        return rec[keep & ~is_tick].tobytes() + b"".join(due) + rec[keep & is_tick].tobytes()


class Bench:
    """Runs one scenario. ``transport``: "inprocess" (lockstep, firmware in this process),
    "udp" (lockstep with the firmware_sim process over UDP), "realtime" (firmware_sim process at
    ``rate_hz`` on the wall clock, UDP)."""

    def __init__(self, scenario: Scenario, transport: str = "inprocess", firmware: str | None = None,
                 rate_hz: float | None = None, duration_s: float | None = None,
                 progress: Callable[[float], None] | None = None, answer_timeout_s: float = 1.0,
                 spill_dir: str | None = None, cell_file: str | None = None) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport = {transport!r}: one of {', '.join(TRANSPORTS)}")
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"duration_s = {duration_s}: must be finite and > 0")
        if rate_hz is not None and not (math.isfinite(rate_hz) and 0 < rate_hz <= RATE_MAX_HZ):
            raise ValueError(f"rate_hz = {rate_hz}: must be in (0, {RATE_MAX_HZ:g}]")
        self.sc = scenario
        self.transport = transport
        self.firmware_path = firmware
        self.rate_hz = rate_hz
        self.duration_s = duration_s if duration_s is not None else scenario.duration_s
        self.progress = progress
        self.answer_timeout_s = answer_timeout_s
        # A long run's trace columns live in (unlinked) files in this folder instead of in memory:
        # the OS pages them out as the run goes and reads them back for the report.
        self.spill_dir = spill_dir
        # A cell file: the plant's cells (read here by safetwin.cellfile) and the firmware's (read by
        # its C++ reader, the same file); None: REF-CELL-1 on both sides.
        self.cell_file = cell_file

    def _column(self, steps: int) -> np.ndarray:
        if self.spill_dir is None:
            return np.full(steps, np.nan)
        # The mapping keeps its own descriptor of the (unlinked) file: the file object can close now.
        with tempfile.TemporaryFile(dir=self.spill_dir, prefix="safetwin-trace-") as f:
            return np.memmap(f, dtype=np.float64, mode="w+", shape=(steps,))  # every row is written by the run

    def run(self) -> RunResult:
        from safetwin.hil.criteria import evaluate
        # The run's sensor nodes, made once: the firmware is enrolled with their AKs (a swtpm
        # node's lives in its TPM, started here and stopped when the run ends).
        lockstep = self.transport != "realtime"
        dt = step_s(self.sc, "inprocess" if lockstep else "realtime", self.rate_hz)
        nodes = AttestationNodes(self.sc, dt) if self.sc.attestation["every_s"] > 0 else None
        try:
            result = self._run_with(nodes, lockstep)
        finally:
            if nodes is not None:
                nodes.close()
        result.criteria = evaluate(result)
        return result

    def _run_with(self, nodes: AttestationNodes | None, lockstep: bool) -> RunResult:
        if self.transport == "inprocess":
            from safetwin.hil.bus import InProcessBus
            opts = firmware_options(self.sc, cell_file=self.cell_file, nodes=nodes)
            bus = InProcessBus(**opts)
            try:
                return self._run(bus, kill=bus.kill, alive=lambda: bus.alive, lockstep=True, nodes=nodes)
            finally:
                bus.shutdown()
        from safetwin.hil.firmware import FirmwareProcess
        opts = firmware_options(self.sc, None if lockstep else self.rate_hz, self.cell_file, nodes=nodes)
        fp = FirmwareProcess(lockstep=lockstep, executable=self.firmware_path, **opts)
        try:  # not `with`: a firmware that fails to start must still close the bus start() opened
            fp.start()
            result = self._run(fp.bus, kill=fp.kill, alive=lambda: fp.alive, lockstep=lockstep, nodes=nodes)
            report = fp.stop()
        finally:
            fp.__exit__(None, None, None)  # stop() again (a no-op after the first) and the temp folder
        result.firmware_report = report
        return result

    # ------------------------------------------------------------------------------------------
    def _run(self, bus, kill, alive, lockstep: bool, nodes: AttestationNodes | None = None) -> RunResult:
        sc = self.sc
        dt = step_s(sc, "inprocess" if lockstep else "realtime", self.rate_hz)
        steps = int(round(self.duration_s / dt))
        pack = make_pack(sc, self.cell_file)
        n = pack.series
        sensors = PackSensors(sc.sensors, sc.seed, n)
        enc = _codec.PlantFrameEncoder(n)
        dec = AnswerDecoder()
        link = LinkFaults(sc.faults, sc.seed)
        req_mode, req_i = load_profile(sc, dt, steps)
        # The sensor nodes answer the firmware's nonces with quotes over ISO-TP (attest_nodes.py); a
        # tampered node, a forger, a replay, a silent node or a third node burning nonces are theirs.
        if nodes is None and sc.attestation["every_s"] > 0:
            nodes = AttestationNodes(sc, dt)
        # The sensor nodes report when the firmware's REPORT_SCHEDULE says (every cycle until it does).
        reporters = ReportNodes(n)
        bus_frames = 0
        attestation: list[dict[str, Any]] = []
        injectors: dict[int, Any] = {}  # fault index -> OnlineStealthyInjection, while it runs
        zero_c = battery.ZERO_CELSIUS_K

        # traces
        tr = {k: self._column(steps) for k in (
            "t_s", "current_a", "command_a", "request_a", "contactor_closed", "fw_mode", "fw_flags",
            "pack_voltage_v", "cell_v_max", "cell_v_min", "cell_t_max_c", "soc_mean", "soc_min", "soc_max",
            "meas_v_max", "answered", "fw_cycle_time_s", "fw_est_soc")}
        stride = max(1, math.ceil(steps * n / MAX_CELL_SAMPLES))
        rows = (steps + stride - 1) // stride
        cells = {"t_s": np.zeros(rows), "voltage_v": np.zeros((rows, n)), "temp_c": np.zeros((rows, n)),
                 "soc": np.zeros((rows, n))}
        events: list[dict[str, Any]] = []
        fault_times: list[tuple[str, float]] = [(f.type, f.at_s) for f in sc.faults]

        v_true = np.array([pack.cell_voltage_at(j, 0.0) for j in range(n)])
        tk = np.asarray(pack.cell_temp_k)
        hb_loss = [f for f in sc.faults if f.type == "plant_heartbeat_loss"]
        i_true = 0.0
        cmd, contactor_req = 0.0, True
        fw_silent = 0
        watchdog_open = False
        started: set[int] = set()
        ended: set[int] = set()
        retrans = 0
        fw_mode, fw_flags = 0, 0
        wall0 = time.perf_counter()
        next_deadline = wall0
        for k in range(steps):
            t = k * dt
            # 1. faults due now
            for idx, f in enumerate(sc.faults):
                if idx not in started and t >= f.at_s:
                    started.add(idx)
                    self._start_fault(f, pack, sensors, v_true)
                    if f.type == "stealthy_injection":
                        injectors[idx] = self._injector(f, pack)
                    events.append({"t_s": t, "source": "harness", "event": f"inject {f.type}"})
                    if f.type == "firmware_crash":
                        kill()
                if idx in started and idx not in ended and t >= f.at_s + f.duration_s:
                    ended.add(idx)
                    self._end_fault(f, pack, sensors)
                    injectors.pop(idx, None)
                    events.append({"t_s": t, "source": "harness", "event": f"end {f.type}"})
            hb = not any(f.active(t) for f in hb_loss)

            # 2. sensors and frames (an attack fakes the reading of the interval that just ended)
            for idx, inj in injectors.items():
                cell = sc.faults[idx].params["cell"]
                sensors.offset[cell] = inj.offset_v(t, i_true / pack.parallel, dt)
            temp_c = tk - zero_c
            mv, mt, mi, mpv = sensors.read(v_true, temp_c, i_true, float(np.sum(v_true)))
            closed = pack.contactor_closed
            body = enc.encode(k + 1, dt, t, closed, mv, mt, mi, mpv, float(req_i[k]), req_mode,
                              heartbeat=hb, tick=lockstep, report=reporters.mask(t, mv, mt))
            if nodes is not None:  # the nodes' ISO-TP frames, before the tick (the last frame)
                isotp_frames = b"".join(_codec.wire_frame(i, d) for i, d in nodes.frames(k, t))
                body = body[:-16] + isotp_frames + body[-16:] if lockstep else body + isotp_frames
            bus_frames += len(body) // _codec.WIRE_FRAME_BYTES  # what the plant side put on the bus
            body = link.apply(body, k, t)
            datagram = _codec.wire_pack(body)

            # 3. exchange
            ans = FirmwareAnswer()
            if lockstep:
                if alive():
                    got, r = self._exchange(bus, datagram, k + 1, dec)
                    retrans += r
                    ans = got or ans
            else:
                bus.send_datagram(datagram)
                while True:
                    d = bus.recv_datagram(0.0)
                    if d is None:
                        break
                    dec.decode(d, ans)
            answered = ans.current_a is not None
            bus_frames += ans.frames
            reporters.on_schedule(ans.schedules, t)
            if nodes is not None:
                nodes.on_answer(ans, k, t)
                for a in ans.attest_results:
                    reason = ATTEST_REASONS[a["reason"]] if a["reason"] < len(ATTEST_REASONS) else str(a["reason"])
                    check = ATTEST_CHECKS[a["check"]] if a["check"] < len(ATTEST_CHECKS) else str(a["check"])
                    attestation.append({"t_s": t, "node": a["node"], "kind": a["kind"], "reason": reason,
                                        "check": check})
                    if reason != "pass":
                        what = "ROUND" if a["kind"] == "round" else "ANSWER"
                        events.append({"t_s": t, "source": "attestation",
                                       "event": f"NODE{a['node']}_{what}_{reason.upper()}"})
            if answered:
                cmd, contactor_req = ans.current_a, bool(ans.contactor_request)
            if ans.mode is not None:
                fw_mode = ans.mode
            if ans.fault_flags is not None:
                fw_flags = ans.fault_flags
            for code, cyc, cell in ans.events:
                events.append({"t_s": t, "source": "firmware", "event": fault_codes().get(code, str(code)),
                               "code": code, "fw_cycle": cyc, "cell": cell})

            # 4. plant-side watchdog and contactor
            # silent cycles counted as integers: a float sum of dt would trip a cycle early
            fw_silent = 0 if ans.heartbeat else fw_silent + 1
            if not watchdog_open and fw_silent * dt > sc.plant["fw_heartbeat_timeout_s"] + 1e-9:
                watchdog_open = True
                events.append({"t_s": t, "source": "plant", "event": "FW_HEARTBEAT_LOST_CONTACTOR_OPEN"})
            want_closed = contactor_req and not watchdog_open
            if pack.contactor_closed and not want_closed:
                events.append({"t_s": t, "source": "plant", "event": "CONTACTOR_OPENED"})
            if want_closed != pack.contactor_closed and not want_closed:
                pack.contactor_closed = False
            current = cmd if pack.contactor_closed else 0.0

            # 5. plant step
            pack.step(current, dt)
            v_true = np.asarray(pack.cell_voltage_v)
            i_true = current if pack.contactor_closed else 0.0
            soc = np.asarray(pack.cell_soc)
            tk = np.asarray(pack.cell_temp_k)
            tr["t_s"][k] = t
            tr["current_a"][k] = i_true
            tr["command_a"][k] = cmd
            tr["request_a"][k] = req_i[k]
            tr["contactor_closed"][k] = float(pack.contactor_closed)
            tr["fw_mode"][k] = fw_mode
            tr["fw_flags"][k] = fw_flags
            tr["pack_voltage_v"][k] = pack.pack_voltage_v
            tr["cell_v_max"][k] = v_true.max()
            tr["cell_v_min"][k] = v_true.min()
            tr["cell_t_max_c"][k] = tk.max() - zero_c
            tr["soc_mean"][k] = soc.sum() / n
            tr["soc_min"][k] = soc.min()
            tr["soc_max"][k] = soc.max()
            tr["meas_v_max"][k] = mv.max()  # NaN when a reading is missing
            tr["answered"][k] = float(answered)
            tr["fw_cycle_time_s"][k] = ans.cycle_time_s if ans.cycle_time_s is not None else np.nan
            tr["fw_est_soc"][k] = ans.est_soc if ans.est_soc is not None else np.nan
            if k % stride == 0:
                r = k // stride
                cells["t_s"][r] = t
                cells["voltage_v"][r] = v_true
                cells["temp_c"][r] = tk - zero_c
                cells["soc"][r] = soc
            if self.progress and k % 1000 == 0:
                self.progress(k / steps)
            if not lockstep:
                next_deadline += dt
                while True:
                    rest = next_deadline - time.perf_counter()
                    if rest <= 0:
                        break
                    if rest > 0.002:
                        time.sleep(rest - 0.0015)
        wall = time.perf_counter() - wall0
        return RunResult(scenario=sc, transport=self.transport, trace=tr, cell_trace=cells, events=events,
                         fault_times=fault_times, wall_s=wall, retransmissions=retrans, dt_s=dt,
                         attestation=attestation, frames_by_node=reporters.frames_by_node(), bus_frames=bus_frames,
                         bus_load=bus_load(bus_frames, steps * dt),
                         report_times={node_name(n): ts for n, ts in reporters.report_times.items()})

    def _exchange(self, bus, datagram: bytes, seq: int, dec: AnswerDecoder) -> tuple[FirmwareAnswer | None, int]:
        """Sends one cycle and waits for the answer with the same sequence number; re-sends the
        identical datagram on time-out (the firmware answers a repeated tick without a new cycle)."""
        retries = 0
        for _attempt in range(4):
            bus.send_datagram(datagram)
            end = time.monotonic() + self.answer_timeout_s
            while True:
                wait = end - time.monotonic()
                d = bus.recv_datagram(max(wait, 0.0))
                if d is None:
                    break
                try:
                    ans = dec.decode(d)
                except ValueError:
                    continue  # not a batch of ours
                if ans.ack_seq == seq:
                    return ans, retries
            retries += 1
        return None, retries

    @staticmethod
    def _start_fault(f, pack, sensors, v_true) -> None:
        p = f.params
        if f.type == "cooling_failure":
            for c in p.get("cells", range(pack.cells)):
                pack.set_cooling_factor(int(c), p.get("factor", 0.0))
        elif f.type == "internal_short":
            pack.set_leak_resistance(p["cell"], p["resistance_ohm"])
        elif f.type == "connection_resistance":
            connection_resistance(pack, p["cell"], p["resistance_ohm"])
        elif f.type == "sensor_stuck":
            sensors.stuck[p["cell"]] = p.get("value_v", float(v_true[p["cell"]]))
        elif f.type == "sensor_offset":
            sensors.offset[p["cell"]] = p["offset_v"]

    @staticmethod
    def _injector(f, pack):
        """The attack library's stealthy false-data injection on one cell's voltage reading: the
        attacker runs a copy of the twin from the cell's true state and fakes readings consistent
        with a SOC offset (safetwin.trust.attacks)."""
        from safetwin.trust.attacks import OnlineStealthyInjection, StealthyInjection
        p = f.params
        attack = StealthyInjection(node="cell_monitor", start_s=f.at_s, stop_s=f.at_s + f.duration_s,
                                   holds_valid_key=p.get("holds_valid_key", False),
                                   soc_offset=p.get("soc_offset", -0.2), ramp_s=p.get("ramp_s", 600.0))
        # the attacker's twin: REF-CELL-1, the model the firmware's estimator runs
        return OnlineStealthyInjection(attack, pack.states[p["cell"] * pack.parallel])

    @staticmethod
    def _end_fault(f, pack, sensors) -> None:
        p = f.params
        if f.type == "cooling_failure":
            for c in p.get("cells", range(pack.cells)):
                pack.set_cooling_factor(int(c), 1.0)
        elif f.type == "internal_short":
            pack.set_leak_resistance(p["cell"], math.inf)
        elif f.type == "connection_resistance":
            connection_resistance(pack, p["cell"], -p["resistance_ohm"])
        elif f.type == "sensor_stuck":
            sensors.stuck.pop(p["cell"], None)
        elif f.type in ("sensor_offset", "stealthy_injection"):
            sensors.offset.pop(p["cell"], None)
