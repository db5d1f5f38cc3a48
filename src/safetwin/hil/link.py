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

PLANT_TICK = 0x080
FW_TICK_ACK = 0x081
FW_COMMAND = 0x090
FW_STATUS = 0x0A0
FW_EVENT = 0x0A1
PLANT_HEARTBEAT = 0x0F0
FW_HEARTBEAT = 0x0F1
PACK_MEAS = 0x100
LOAD_REQUEST = 0x101
CELL_V_A = 0x110
CELL_V_B = 0x111
CELL_T = 0x120
# Attestation (issue 17): node n's nonce, its ISO-TP answer and the firmware's flow control at
# these IDs + n (n = 0..7), the firmware's verdicts in ATTEST_RESULT.
ATTEST_NONCE_0 = 0x300
ATTEST_QUOTE_0 = 0x310
ATTEST_FC_0 = 0x320
ATTEST_RESULT = 0x330
ATTEST_NODES = 8
# Self-triggered reporting (issue 18): a sensor node's next report time and event threshold.
REPORT_SCHEDULE = 0x140

PLANT_FRAMES = {"PLANT_TICK": PLANT_TICK, "PLANT_HEARTBEAT": PLANT_HEARTBEAT, "PACK_MEAS": PACK_MEAS,
                "LOAD_REQUEST": LOAD_REQUEST, "CELL_V_A": CELL_V_A, "CELL_V_B": CELL_V_B, "CELL_T": CELL_T,
                **{f"ATTEST_QUOTE_{n}": ATTEST_QUOTE_0 + n for n in range(ATTEST_NODES)}}
MODES = ("NORMAL", "DERATED", "SAFE_STOP")
REQUEST_MODES = {"idle": 0, "charge": 1, "drive": 2}
MAX_CELLS = 96


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
            v = _codec.decode(can_id, data)
            if can_id == FW_COMMAND:
                ans.current_a, ans.contactor_request, ans.mode = v[2], v[3] != 0.0, int(v[4])
            elif can_id == FW_STATUS:
                # bit (code - 1) of every active code: FAULT_FLAGS, and DIAG_FLAGS (codes 17-21) above it
                ans.mode, ans.fault_flags, ans.e2e_errors_fw = int(v[2]), int(v[3]) | int(v[6]) << 16, int(v[5])
                ans.est_soc = None if v[4] != v[4] else v[4] / 100.0
            elif can_id == FW_EVENT:
                ans.events.append((int(v[2]), int(v[3]), int(v[4])))
            elif can_id == FW_HEARTBEAT:
                ans.heartbeat, ans.jitter_s = True, v[3]
            elif can_id == FW_TICK_ACK:
                ans.ack_seq, ans.cycle_time_s = int(v[2]), v[3]
            elif ATTEST_NONCE_0 <= can_id < ATTEST_NONCE_0 + ATTEST_NODES:
                g = int(v[2])
                frags.setdefault(can_id - ATTEST_NONCE_0, {})[g] = int(v[3 + g])
            elif can_id == REPORT_SCHEDULE:
                ans.schedules.append((int(v[2]), float(v[3]), float(v[4])))
            elif can_id == ATTEST_RESULT:
                ans.attest_results.append({"node": int(v[2]), "kind": "round" if v[3] else "answer",
                                           "reason": int(v[4]), "check": int(v[5]), "fw_cycle": int(v[6])})
        for node, f in frags.items():
            if sorted(f) == list(range(6)):  # a round's nonce needs all six fragments
                ans.nonces[node] = b"".join(f[g].to_bytes(6, "little") for g in range(6))[:32]
        return ans
