"""The firmware never commands a current outside its limits, whatever arrives: random bytes,
random frames with valid CRCs and random payloads, random valid-looking measurements. Fixed seeds.
The in-process firmware is the same C++ as the executable; one test also fuzzes the process."""
import math
import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cantools")

from safetwin.hil import _codec  # noqa: E402
from safetwin.hil._firmware import InProcessFirmware  # noqa: E402
from safetwin.hil.firmware import FirmwareProcess, find_firmware  # noqa: E402
from safetwin.hil.link import AnswerDecoder  # noqa: E402

CHARGE_MAX_A, DISCHARGE_MAX_A = 15.0, 25.0  # REF-CELL-1 limits, one cell per group
PLANT_IDS = [0x080, 0x0F0, 0x100, 0x101, 0x110, 0x111, 0x120, 0x130]


def _tick(enc, seq, rng, v=None):
    n = enc.n_cells
    v = rng.uniform(2.0, 4.6, n) if v is None else v
    return enc.encode(seq, 0.01, seq * 0.01, True, v, rng.uniform(-30, 80, n), rng.uniform(-300, 300),
                      rng.uniform(0, 600), rng.uniform(-300, 300), int(rng.integers(0, 3)))


def _check(answer_dg, dec):
    a = dec.decode(answer_dg)
    assert a.invalid_frames == 0
    assert a.current_a is not None and math.isfinite(a.current_a)
    assert -CHARGE_MAX_A <= a.current_a <= DISCHARGE_MAX_A
    return a


def test_random_bytes_never_move_the_command():
    rng = np.random.default_rng(1)
    fw = InProcessFirmware(series=12)
    dec = AnswerDecoder()
    enc = _codec.PlantFrameEncoder(12)
    for _ in range(2000):
        n = int(rng.integers(0, 200))
        junk = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        if rng.random() < 0.5 and n >= 8:  # a plausible header over random frames
            m = min((n - 8) // 16, 128)
            junk = b"STCN\x01\x00" + m.to_bytes(2, "little") + junk[8:8 + 16 * m]
        assert fw.exchange(junk) is None  # no tick in junk: no cycle
        assert fw.current_a == 0.0
    assert fw.e2e_errors > 0
    # a valid tick afterwards still gets a valid, in-limits answer
    _check(fw.exchange(_codec.wire_pack(_tick(enc, 1, rng))), dec)


def test_random_valid_measurements_keep_the_command_in_limits():
    """Plausible random packs (every cell between about 15 % and 85 % SOC), random modes and
    demands: the command moves, and never leaves [-15, 25] A; in drive mode it never exceeds the
    demand's magnitude. (A pack with a nearly empty and a nearly full cell may move neither way:
    the empty cell's CBF refuses discharge, the full one's refuses charge.)"""
    rng = np.random.default_rng(2)
    # random cells are far apart: widen the imbalance check so that it does not latch a stop
    fw = InProcessFirmware(series=24, imbalance_v=2.0)
    dec = AnswerDecoder()
    enc = _codec.PlantFrameEncoder(24)
    seen = set()
    v, temp = rng.uniform(3.45, 4.05, 24), rng.uniform(10, 40, 24)
    for seq in range(1, 3001):
        # cells wander (a random walk of 0.2 mV and 0.01 K per 10 ms sample from random starting
        # points): plausible readings. Readings drawn afresh every sample are not, and the safety
        # layer's learned model-error bound then (rightly) holds the command at zero.
        v = np.clip(v + rng.normal(0.0, 2e-4, 24), 3.45, 4.05)
        temp = np.clip(temp + rng.normal(0.0, 0.01, 24), 10.0, 40.0)
        mode = int(rng.integers(0, 3))
        req = float(rng.uniform(-300, 300))
        body = enc.encode(seq, 0.01, seq * 0.01, True, v, temp, float(rng.uniform(-30, 30)),
                          float(v.sum()), req, mode)
        a = _check(fw.exchange(_codec.wire_pack(body)), dec)
        if mode == 0:
            assert a.current_a == 0.0
        if mode == 2:
            assert abs(a.current_a) <= abs(req) + 0.005
        seen.add(round(a.current_a, 2))
    # the fuzz did drive the command around: both directions, over more than 5 A
    assert min(seen) < 0.0 < max(seen) and max(seen) - min(seen) > 5.0


def test_random_frames_with_valid_crc_keep_the_command_in_limits():
    """Random payloads under every plant ID, with correct CRCs (the E2E check cannot reject them):
    whatever they decode to, the command stays inside the limits, and whenever the firmware is in
    SAFE_STOP the command is 0 with the contactor open. (A single random over-voltage no longer
    stops the pack: the guarded cycle's stop tiers are debounced; the stop path is tested below.)"""
    rng = np.random.default_rng(5)
    fw = InProcessFirmware(series=24, plant_heartbeat_timeout_s=10.0, meas_loss_timeout_s=10.0)
    dec = AnswerDecoder()
    enc = _codec.PlantFrameEncoder(24)
    modes = set()
    for seq in range(1, 2001):
        v = rng.uniform(3.0, 4.19, 24)
        body = enc.encode(seq, 0.01, seq * 0.01, True, v, rng.uniform(10, 40, 24), 0.0, float(v.sum()),
                          float(rng.uniform(-300, 300)), int(rng.integers(0, 3)))
        extra = []
        for _ in range(int(rng.integers(0, 4)) if seq > 500 else 0):
            can_id = int(rng.choice(PLANT_IDS[1:]))
            data = bytearray(rng.integers(0, 256, 8, dtype=np.uint8).tobytes())
            _codec.e2e_protect(can_id, data)
            extra.append(_codec.wire_frame(can_id, bytes(data)))
        a = _check(fw.exchange(_codec.wire_pack(b"".join(extra) + body)), dec)
        modes.add(a.mode)
        if a.mode == 2:
            assert a.current_a == 0.0 and a.contactor_request is False
    assert len(modes) >= 2  # the random frames did disturb the firmware (E2E errors: DERATED)


def test_valid_measurements_at_and_beyond_the_limits():
    """Boundary: cells at exactly V_max may not be charged further (the CBF, no fault); past the
    stop tier (V_max + 60 mV) for the debounce time (2 s: two samples at 1 Hz) the guarded cycle
    latches SAFE_STOP and the contactor opens."""
    rng = np.random.default_rng(3)
    fw = InProcessFirmware(series=12, rate_hz=1.0)
    dec = AnswerDecoder()
    enc = _codec.PlantFrameEncoder(12)

    def cycle(seq, v, mode, req, i_meas=0.0):
        body = enc.encode(seq, 1.0, seq, True, np.full(12, v), np.full(12, 25.0), i_meas, 12 * v, req, mode)
        return _check(fw.exchange(_codec.wire_pack(body)), dec)

    a = cycle(1, 4.2, 1, -15.0)   # at V_max, at rest: the barrier allows no charge current
    assert a.current_a == 0.0 and a.mode == 0
    a = cycle(2, 4.1, 2, 20.0)    # drive demand inside the limits passes through
    assert a.current_a == pytest.approx(20.0)
    a = cycle(3, 4.1, 2, 300.0)   # beyond the discharge limit: clamped
    assert a.current_a == pytest.approx(DISCHARGE_MAX_A)
    a = cycle(4, 4.2 + 0.0599, 1, -15.0)  # inside the stop tier: DERATED (past the derate tier, 30 mV)
    a = cycle(5, 4.2 + 0.0599, 1, -15.0)
    assert a.mode == 1 and a.contactor_request is True and a.current_a == 0.0
    a = cycle(6, 4.2 + 0.0601, 1, -15.0)
    assert a.mode == 1  # one sample past the tier: debounced
    a = cycle(7, 4.2 + 0.0601, 1, -15.0)
    assert a.mode == 2 and a.contactor_request is False and a.current_a == 0.0
    a = cycle(8, 3.7, 2, 20.0)    # SAFE_STOP is latched
    assert a.mode == 2 and a.current_a == 0.0
    del rng


def test_the_firmware_process_survives_fuzz_and_answers_in_limits():
    rng = np.random.default_rng(4)
    enc = _codec.PlantFrameEncoder(12)
    dec = AnswerDecoder()
    with FirmwareProcess(lockstep=True, executable=find_firmware(), series=12,
                         plant_heartbeat_timeout_s=10.0) as fp:
        for _ in range(300):
            junk = rng.integers(0, 256, int(rng.integers(1, 1500)), dtype=np.uint8).tobytes()
            fp.bus.send_datagram(junk)
        for seq in range(1, 51):
            fp.bus.send_datagram(_codec.wire_pack(_tick(enc, seq, rng)))
            while True:
                dg = fp.bus.recv_datagram(5.0)
                assert dg is not None, "the firmware stopped answering"
                a = _check(dg, dec)
                if a.ack_seq == seq:
                    break
        assert fp.alive
        report = fp.stop()
    assert report["bad_datagrams"] >= 250 and report["cycles"] == 50


def test_the_firmware_process_frees_both_ports_and_its_files_when_stopped():
    # After the context manager: the process has exited, the harness's socket is closed and the
    # firmware's is released (both exact ports can be bound again: a UDP bind without SO_REUSEADDR
    # fails with EADDRINUSE while any socket holds the port), and the temporary directory is gone.
    with FirmwareProcess(lockstep=True, executable=find_firmware(), series=12) as fp:
        harness_addr, firmware_addr = fp.bus.local, fp.bus.peer
        assert fp.alive
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(OSError):
            s.bind(firmware_addr)  # held by the running firmware
        tmp_dir = Path(fp._tmp.name)
    assert fp.proc.returncode is not None and not fp.alive
    assert fp.bus is None and not tmp_dir.exists()
    for addr in (harness_addr, firmware_addr):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(addr)
            assert s.getsockname() == addr
