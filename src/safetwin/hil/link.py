"""The HIL link: the DBC (hil/safetwin_hil.dbc), its cantools database, frame IDs, fault codes and
the firmware-answer decoder.

cantools is the reference encoder/decoder on the Python side (tests and slow paths); the hot path
packs through ``safetwin.hil._codec``, Cython over the C that cantools generated from the same DBC
and that the firmware compiles, so both sides are byte-identical by construction.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from safetwin.hil import _codec
from safetwin.hil._link_layout import (  # noqa: F401  (frame IDs re-exported: the DBC's, generated)
    ATTEST_FC_0,
    ATTEST_NONCE_0,
    ATTEST_NONCE_0_FIRST_MUXED,
    ATTEST_NONCE_0_MUX_VALUES,
    ATTEST_NONCE_0_NONCE_FRAG,
    ATTEST_NONCE_COUNT,
    ATTEST_QUOTE_0,
    ATTEST_RESULT,
    ATTEST_RESULT_RESULT_CHECK,
    ATTEST_RESULT_RESULT_CYCLE,
    ATTEST_RESULT_RESULT_KIND,
    ATTEST_RESULT_RESULT_NODE,
    ATTEST_RESULT_RESULT_REASON,
    CELL_T,
    CELL_T_MUX_VALUES,
    CELL_T_PER_MUX,
    CELL_V_A,
    CELL_V_B,
    CHOICES,
    FRAME_IDS,
    FW_COMMAND,
    FW_COMMAND_CMD_MODE,
    FW_COMMAND_CONTACTOR_REQ,
    FW_COMMAND_CURRENT_CMD,
    FW_EVENT,
    FW_EVENT_EVENT_CELL,
    FW_EVENT_EVENT_CODE,
    FW_EVENT_EVENT_CYCLE,
    FW_HEARTBEAT,
    FW_HEARTBEAT_FW_JITTER,
    FW_STATUS,
    FW_STATUS_DIAG_FLAGS,
    FW_STATUS_E2E_ERRORS,
    FW_STATUS_EST_SOC,
    FW_STATUS_FAULT_FLAGS,
    FW_STATUS_FW_MODE,
    FW_TICK_ACK,
    FW_TICK_ACK_ACK_SEQ,
    FW_TICK_ACK_CYCLE_TIME,
    LOAD_REQUEST,
    PACK_MEAS,
    PLANT_HEARTBEAT,
    PLANT_TICK,
    REPORT_SCHEDULE,
    REPORT_SCHEDULE_EVENT_THRESHOLD,
    REPORT_SCHEDULE_REPORT_IN,
    REPORT_SCHEDULE_SCHED_NODE,
    SENDERS,
)

# Attestation (issue 17): node n's nonce, its ISO-TP answer and the firmware's flow control at
# the family's first ID + n, the firmware's verdicts in ATTEST_RESULT.
ATTEST_NODES = ATTEST_NONCE_COUNT
NONCE_BYTES = 32  # 6 bytes per fragment, the last fragment carries bytes 30..31

# The frames the plant side sends (the DBC's senders), by name.
PLANT_FRAMES = {name: fid for name, fid in FRAME_IDS.items() if SENDERS[name] == "PLANT"}
MODES = tuple(CHOICES[("FW_STATUS", "FW_MODE")][k] for k in sorted(CHOICES[("FW_STATUS", "FW_MODE")]))
REQUEST_MODES = {name.lower(): code for code, name in CHOICES[("LOAD_REQUEST", "REQ_MODE")].items()}
MAX_CELLS = CELL_T_MUX_VALUES * CELL_T_PER_MUX


def dbc_path() -> Path:
    """The DBC: shipped in the package (wheel), or hil/ of a source checkout."""
    packaged = Path(str(resources.files("safetwin.hil") / "safetwin_hil.dbc"))
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[3] / "hil" / "safetwin_hil.dbc"


@functools.lru_cache(maxsize=1)
def database():
    import cantools
    return cantools.database.load_file(str(dbc_path()))


@functools.lru_cache(maxsize=1)
def fault_codes() -> dict[int, str]:
    """EVENT_CODE -> fault name, from the DBC's value table (FAULT_FLAGS bit code-1)."""
    sig = database().get_message_by_frame_id(FW_EVENT).get_signal_by_name("EVENT_CODE")
    return {int(k): str(v) for k, v in sig.choices.items()}


def fault_code(name: str) -> int:
    for code, n in fault_codes().items():
        if n == name.upper():
            return code
    raise ValueError(f"fault {name!r}: not an EVENT_CODE of the DBC (known: {', '.join(fault_codes().values())})")


def flag_names(flags: int) -> list[str]:
    return [n for c, n in fault_codes().items() if flags & (1 << (c - 1))]


E2E_OK = {0, 1, 2}  # OK, OK_SOME_LOST, INITIAL (indices of _codec.E2E_STATUS)


# The signals a firmware frame cannot do without. Each of them has a "not available" raw value
# (all ones, outside its DBC range: hil/generate_codec.py), which decodes to NaN; in one of these it
# makes the frame invalid, as an out-of-range value does: a command, a mode, an index or a code is
# never guessed (int(NaN) would raise, a NaN current would reach the plant). FW_STATUS's EST_SOC is
# the one signal the firmware may leave not available (no estimate yet).
REQUIRED_SIGNALS = {
    FW_COMMAND: (FW_COMMAND_CURRENT_CMD, FW_COMMAND_CONTACTOR_REQ, FW_COMMAND_CMD_MODE),
    FW_STATUS: (FW_STATUS_FW_MODE, FW_STATUS_FAULT_FLAGS, FW_STATUS_E2E_ERRORS, FW_STATUS_DIAG_FLAGS),
    FW_EVENT: (FW_EVENT_EVENT_CODE, FW_EVENT_EVENT_CYCLE, FW_EVENT_EVENT_CELL),
    FW_HEARTBEAT: (FW_HEARTBEAT_FW_JITTER,),
    FW_TICK_ACK: (FW_TICK_ACK_ACK_SEQ, FW_TICK_ACK_CYCLE_TIME),
    REPORT_SCHEDULE: (REPORT_SCHEDULE_SCHED_NODE, REPORT_SCHEDULE_REPORT_IN, REPORT_SCHEDULE_EVENT_THRESHOLD),
    ATTEST_RESULT: (ATTEST_RESULT_RESULT_NODE, ATTEST_RESULT_RESULT_KIND, ATTEST_RESULT_RESULT_REASON,
                    ATTEST_RESULT_RESULT_CHECK, ATTEST_RESULT_RESULT_CYCLE),
}


@dataclass
class FirmwareAnswer:
    """What the firmware said in one cycle (frames that passed their E2E check)."""
    ack_seq: int | None = None
    cycle_time_s: float | None = None
    current_a: float | None = None
    contactor_request: bool | None = None
    mode: int | None = None
    fault_flags: int | None = None
    e2e_errors_fw: int | None = None
    est_soc: float | None = None  # the firmware's estimate of the mean SOC (0..1), None if not available
    heartbeat: bool = False
    jitter_s: float | None = None
    events: list[tuple[int, int]] = field(default_factory=list)  # (code, firmware cycle)
    invalid_frames: int = 0
    nonces: dict[int, bytes] = field(default_factory=dict)  # node -> the nonce of a round started
    isotp_fc: list[tuple[int, bytes]] = field(default_factory=list)  # ISO-TP flow control (no E2E)
    attest_results: list[dict] = field(default_factory=list)  # ATTEST_RESULT: node, kind, reason, check
    schedules: list[tuple[int, float, float]] = field(default_factory=list)  # REPORT_SCHEDULE: node, in_s, threshold
    frames: int = 0  # frames in the answer, valid or not (the link's load)


class AnswerDecoder:
    """Decodes firmware datagrams with the Cython codec and checks every frame's E2E protection."""

    def __init__(self) -> None:
        self.rx = _codec.E2EReceiver(max_delta=2)

    def decode(self, datagram: bytes, into: FirmwareAnswer | None = None) -> FirmwareAnswer:
        ans = into or FirmwareAnswer()
        frags: dict[int, dict[int, int]] = {}
        for can_id, data in _codec.wire_unpack(datagram):
            ans.frames += 1
            if ATTEST_FC_0 <= can_id < ATTEST_FC_0 + ATTEST_NODES:  # ISO 15765-2 owns these bytes
                ans.isotp_fc.append((can_id, data))
                continue
            status = self.rx.check(can_id, data)
            if status not in E2E_OK:
                ans.invalid_frames += 1
                continue
            try:  # a raw value outside its DBC range: refused, as the firmware refuses one
                v = _codec.decode(can_id, data)
            except ValueError:
                ans.invalid_frames += 1
                continue
            if any(v[k] != v[k] for k in REQUIRED_SIGNALS.get(can_id, ())):  # "not available"
                ans.invalid_frames += 1
                continue
            if can_id == FW_COMMAND:
                ans.current_a, ans.contactor_request = v[FW_COMMAND_CURRENT_CMD], v[FW_COMMAND_CONTACTOR_REQ] != 0.0
                ans.mode = int(v[FW_COMMAND_CMD_MODE])
            elif can_id == FW_STATUS:
                # bit (code - 1) of every active code: FAULT_FLAGS, and DIAG_FLAGS (codes 17-21) above it
                ans.mode = int(v[FW_STATUS_FW_MODE])
                ans.fault_flags = int(v[FW_STATUS_FAULT_FLAGS]) | int(v[FW_STATUS_DIAG_FLAGS]) << 16
                ans.e2e_errors_fw = int(v[FW_STATUS_E2E_ERRORS])
                soc = v[FW_STATUS_EST_SOC]
                ans.est_soc = None if soc != soc else soc / 100.0
            elif can_id == FW_EVENT:
                ans.events.append((int(v[FW_EVENT_EVENT_CODE]), int(v[FW_EVENT_EVENT_CYCLE]),
                                   int(v[FW_EVENT_EVENT_CELL])))
            elif can_id == FW_HEARTBEAT:
                ans.heartbeat, ans.jitter_s = True, v[FW_HEARTBEAT_FW_JITTER]
            elif can_id == FW_TICK_ACK:
                ans.ack_seq, ans.cycle_time_s = int(v[FW_TICK_ACK_ACK_SEQ]), v[FW_TICK_ACK_CYCLE_TIME]
            elif ATTEST_NONCE_0 <= can_id < ATTEST_NONCE_0 + ATTEST_NODES:
                g = int(v[ATTEST_NONCE_0_NONCE_FRAG])  # one signal per fragment
                frags.setdefault(can_id - ATTEST_NONCE_0, {})[g] = int(v[ATTEST_NONCE_0_FIRST_MUXED + g])
            elif can_id == REPORT_SCHEDULE:
                ans.schedules.append((int(v[REPORT_SCHEDULE_SCHED_NODE]), float(v[REPORT_SCHEDULE_REPORT_IN]),
                                      float(v[REPORT_SCHEDULE_EVENT_THRESHOLD])))
            elif can_id == ATTEST_RESULT:
                ans.attest_results.append({"node": int(v[ATTEST_RESULT_RESULT_NODE]),
                                           "kind": "round" if v[ATTEST_RESULT_RESULT_KIND] else "answer",
                                           "reason": int(v[ATTEST_RESULT_RESULT_REASON]),
                                           "check": int(v[ATTEST_RESULT_RESULT_CHECK]),
                                           "fw_cycle": int(v[ATTEST_RESULT_RESULT_CYCLE])})
        frag_bytes = -(-NONCE_BYTES // ATTEST_NONCE_0_MUX_VALUES)
        for node, f in frags.items():
            if sorted(f) == list(range(ATTEST_NONCE_0_MUX_VALUES)):  # a round's nonce needs every fragment
                ans.nonces[node] = b"".join(f[g].to_bytes(frag_bytes, "little")
                                            for g in range(ATTEST_NONCE_0_MUX_VALUES))[:NONCE_BYTES]
        return ans
