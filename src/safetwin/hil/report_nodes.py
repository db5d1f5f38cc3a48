"""The bench's sensor nodes under the firmware's schedule (issue 18: self-triggered reporting).

A node is one measurement frame of the DBC (hil/safetwin_hil.dbc, REPORT_SCHEDULE): node n < 16
is CELL_V_A mux n (cells 3n..3n+2, 0-based), 16 <= n < 32 CELL_V_B mux n - 16, 32 <= n < 48 CELL_T
mux n - 32 (cells 6(n-32)..). Until the firmware schedules it, a node reports every cycle (so a
firmware that reports every step sees the link as before). Once told (REPORT_SCHEDULE: an interval
REPORT_IN and EVENT_THRESHOLD), it is due REPORT_IN after the cycle that sent the frame and, after
each report, REPORT_IN after that report; it reports when due, or early when one of its cells'
readings departs from the value it last reported by more than the threshold; otherwise it sends
nothing (firmware_sim/src/report_nodes.hpp keeps the same rule for each node). A node whose reading is unavailable (a sensor dropout, NaN) still reports when due:
the frame says "not available", and the firmware counts it as silence.

The link's load: classic CAN at 500 kbit/s; every frame is counted at 135 bits, an 8-byte frame
with an 11-bit ID (111 bits with the 3-bit interframe space) and the worst case of bit stuffing
(24 stuff bits over the 98 stuffable bits: Davis, Burns, Bril & Lukkien 2007, "Controller Area
Network (CAN) schedulability analysis refuted, revisited and revised", eq. 1: 8n + 47 +
floor((34 + 8n - 1) / 4) with n = 8).
"""
from __future__ import annotations

import numpy as np

from safetwin.hil import _link_layout as L

VOLTAGE_NODES_A = L.CELL_V_A_MUX_VALUES  # CELL_V_A mux 0..15, then CELL_V_B mux 0..15
TEMP_NODE_0 = VOLTAGE_NODES_A + L.CELL_V_B_MUX_VALUES
NODES = TEMP_NODE_0 + L.CELL_T_MUX_VALUES
assert NODES == int(L.REPORT_SCHEDULE_SCHED_NODE_MAX) + 1, "REPORT_SCHEDULE.SCHED_NODE numbers every measurement frame"
V_CELLS_PER_NODE = L.CELL_V_A_PER_MUX
T_CELLS_PER_NODE = L.CELL_T_PER_MUX
CAN_BITRATE_BPS = 500_000.0
FRAME_BITS = 135  # the worst-case 8-byte standard frame, above


def node_name(node: int) -> str:
    if node < VOLTAGE_NODES_A:
        return f"CELL_V_A_{node}"
    if node < TEMP_NODE_0:
        return f"CELL_V_B_{node - VOLTAGE_NODES_A}"
    return f"CELL_T_{node - TEMP_NODE_0}"


def bus_load(frames: int, duration_s: float) -> float:
    """Fraction of the link's capacity that `frames` frames take in `duration_s`."""
    return frames * FRAME_BITS / (CAN_BITRATE_BPS * duration_s) if duration_s > 0 else 0.0


class ReportNodes:
    """Which measurement frames the nodes send this cycle (mask()) and what they have sent."""

    def __init__(self, n_cells: int) -> None:
        self.n_cells = n_cells
        self.v_nodes = list(range(-(-n_cells // V_CELLS_PER_NODE)))
        self.t_nodes = [TEMP_NODE_0 + g for g in range(-(-n_cells // T_CELLS_PER_NODE))]
        self.due_at = np.zeros(NODES)               # report at or after this time (0: every cycle until told)
        self.interval = np.zeros(NODES)             # due again this long after each report
        self.threshold = np.full(NODES, np.inf)     # no local event until the firmware sends a threshold
        self.last_v = np.full(n_cells, np.nan)      # the values last reported, as the frame carries them
        self.last_t = np.full(n_cells, np.nan)
        self.frames = np.zeros(NODES, dtype=np.int64)
        self.report_times: dict[int, list[float]] = {n: [] for n in self.v_nodes + self.t_nodes}

    def on_schedule(self, schedules: list[tuple[int, float, float]], t_s: float) -> None:
        """REPORT_SCHEDULE frames of the cycle at t_s: (node, report_in_s, threshold)."""
        for node, report_in_s, threshold in schedules:
            self.due_at[node] = t_s + report_in_s
            self.interval[node] = report_in_s
            self.threshold[node] = threshold

    def mask(self, t_s: float, cell_v: np.ndarray, cell_t_c: np.ndarray) -> np.ndarray:
        """uint8[48]: 1 = the node reports at t_s. Records the reported values and counts the frame."""
        out = np.zeros(NODES, dtype=np.uint8)
        # the frame's resolution (the firmware decodes this)
        v = np.round(cell_v / L.CELL_V_A_CELL_V_001_SCALE) * L.CELL_V_A_CELL_V_001_SCALE
        tc = np.round(cell_t_c / L.CELL_T_CELL_T_001_SCALE) * L.CELL_T_CELL_T_001_SCALE
        eps = 1e-9 * max(1.0, abs(t_s))
        for node in self.v_nodes + self.t_nodes:
            first, per = ((V_CELLS_PER_NODE * node, V_CELLS_PER_NODE) if node < TEMP_NODE_0 else
                          (T_CELLS_PER_NODE * (node - TEMP_NODE_0), T_CELLS_PER_NODE))
            cells = slice(first, min(first + per, self.n_cells))
            now, last = (v, self.last_v) if node < TEMP_NODE_0 else (tc, self.last_t)
            due = t_s + eps >= self.due_at[node]
            with np.errstate(invalid="ignore"):
                event = bool(np.any(np.abs(now[cells] - last[cells]) > self.threshold[node]))
            if due or event:
                out[node] = 1
                last[cells] = now[cells]
                self.due_at[node] = t_s + self.interval[node]
                self.frames[node] += 1
                self.report_times[node].append(t_s)
        return out

    def frames_by_node(self) -> dict[str, int]:
        return {node_name(n): int(self.frames[n]) for n in self.v_nodes + self.t_nodes}
