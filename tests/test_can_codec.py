"""The HIL link's codec: the Cython codec over the cantools-generated C against cantools itself,
frame by frame; the E2E protection against an independent CRC library and AUTOSAR's check value;
the generated C against a fresh regeneration."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

cantools = pytest.importorskip("cantools")
from crc import Calculator, Configuration  # noqa: E402

from safetwin.hil import _codec  # noqa: E402
from safetwin.hil.link import database  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# CRC-8 SAE J1850 as AUTOSAR Crc_CalculateCRC8 (poly 0x1D, init 0xFF, xor-out 0xFF)
J1850 = Calculator(Configuration(width=8, polynomial=0x1D, init_value=0xFF, final_xor_value=0xFF,
                                 reverse_input=False, reverse_output=False))


def _random_values(msg, mux_value, rng):
    """Random in-range physical values for every signal, cantools' signal objects by name."""
    values = {}
    for sig in msg.signals:
        if sig.multiplexer_ids is not None and mux_value not in sig.multiplexer_ids:
            continue
        if sig.is_multiplexer:
            values[sig.name] = mux_value
            continue
        lo, hi = sig.minimum, sig.maximum
        raw_lo = math.ceil((lo - sig.offset) / sig.scale)
        raw_hi = math.floor((hi - sig.offset) / sig.scale)
        raw = int(rng.integers(raw_lo, raw_hi + 1))
        # exact raw values half the time, arbitrary in-range reals the other half
        values[sig.name] = raw * sig.scale + sig.offset if rng.random() < 0.5 else float(rng.uniform(lo, hi))
    return values


def _mux_values(msg):
    mux = next((s for s in msg.signals if s.is_multiplexer), None)
    if mux is None:
        return [None]
    return sorted({i for s in msg.signals for i in (s.multiplexer_ids or [])})


def test_the_table_lists_every_message_of_the_dbc_with_its_signals():
    db = database()
    table = {m["frame_id"]: m for m in _codec.messages()}
    assert set(table) == {m.frame_id for m in db.messages}
    for msg in db.messages:
        assert table[msg.frame_id]["name"] == msg.name
        assert sorted(table[msg.frame_id]["signals"]) == sorted(s.name for s in msg.signals)


def test_cython_codec_matches_cantools_frame_by_frame():
    rng = np.random.default_rng(20261122)
    db = database()
    table = {m["frame_id"]: m for m in _codec.messages()}
    frames = 0
    for msg in db.messages:
        order = table[msg.frame_id]["signals"]
        for mux_value in _mux_values(msg):
            for _ in range(40):
                values = _random_values(msg, mux_value, rng)
                expected = msg.encode(values, strict=True)
                ours = _codec.encode(msg.frame_id, [values.get(name, 0.0) for name in order])
                assert ours == bytes(expected), (msg.name, values)
                decoded = dict(zip(order, _codec.decode(msg.frame_id, ours)))
                reference = msg.decode(expected, decode_choices=False)
                for name, ref in reference.items():
                    assert decoded[name] == pytest.approx(ref, rel=0, abs=1e-9 * max(1.0, abs(ref))), (msg.name, name)
                frames += 1
    assert frames > 2000


def test_rounding_ties_match_cantools():
    msg = database().get_message_by_name("CELL_V_A")
    values = {"E2E_CRC": 0, "E2E_COUNTER": 0, "CELL_V_A_MUX": 0, "CELL_V_001": 3.71235,
              "CELL_V_002": 0.00005, "CELL_V_003": 0.00015}
    table = {m["name"]: m for m in _codec.messages()}["CELL_V_A"]
    ours = _codec.encode(msg.frame_id, [values.get(n, 0.0) for n in table["signals"]])
    assert ours == bytes(msg.encode(values))


def test_not_available_is_the_all_ones_raw_value_outside_the_declared_range():
    msg = database().get_message_by_name("CELL_V_A")
    table = {m["name"]: m for m in _codec.messages()}["CELL_V_A"]
    vals = [0.0] * len(table["signals"])
    vals[table["signals"].index("CELL_V_002")] = float("nan")
    data = _codec.encode(msg.frame_id, vals)
    raw = msg.decode(data, scaling=False, decode_choices=False)
    assert raw["CELL_V_002"] == 0xFFFF and raw["CELL_V_001"] == 0
    assert math.isnan(_codec.decode(msg.frame_id, data)[table["signals"].index("CELL_V_002")])
    # a counter has no "not available" value: NaN is refused, naming the signal
    vals[table["signals"].index("E2E_COUNTER")] = float("nan")
    with pytest.raises(ValueError, match="CELL_V_A.E2E_COUNTER = nan"):
        _codec.encode(msg.frame_id, vals)


def test_out_of_range_values_are_refused_with_the_signal_and_its_range():
    table = {m["name"]: m for m in _codec.messages()}["PACK_MEAS"]
    vals = [0.0] * len(table["signals"])
    vals[table["signals"].index("PACK_VOLTAGE")] = 700.0
    with pytest.raises(ValueError, match=r"PACK_MEAS.PACK_VOLTAGE = 700.0: outside the DBC range \[0.0, 655.34\]"):
        _codec.encode(0x100, vals)
    with pytest.raises(ValueError, match="frame_id = 0x7FF"):
        _codec.encode(0x7FF, [])


def test_crc8_sae_j1850_check_value_and_independent_library():
    assert _codec.crc8_sae_j1850(b"123456789") == 0x4B  # AUTOSAR SWS CRC library check value
    rng = np.random.default_rng(7)
    for n in range(1, 40):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert _codec.crc8_sae_j1850(data) == J1850.checksum(data)
        # chaining: the previous result as start value continues the same CRC
        assert _codec.crc8_sae_j1850(data[n // 2:], _codec.crc8_sae_j1850(data[:n // 2])) == J1850.checksum(data)


def test_e2e_crc_covers_the_data_id_and_bytes_1_to_7():
    payload = bytearray(b"\x00\x13\x22\x33\x44\x55\x66\x77")
    _codec.e2e_protect(0x110, payload)
    assert payload[0] == J1850.checksum(bytes([0x10, 0x01]) + bytes(payload[1:]))


def test_e2e_receiver_classifies_loss_repetition_sequence_and_corruption():
    names = _codec.E2E_STATUS
    frame_id = 0x100
    table = {m["name"]: m for m in _codec.messages()}["PACK_MEAS"]

    def frame(counter):
        vals = [0.0] * len(table["signals"])
        vals[1] = counter
        data = bytearray(_codec.encode(frame_id, vals))
        _codec.e2e_protect(frame_id, data)
        return bytes(data)

    rx = _codec.E2EReceiver(max_delta=2)
    assert names[rx.check(frame_id, frame(5))] == "INITIAL"
    assert names[rx.check(frame_id, frame(6))] == "OK"
    assert names[rx.check(frame_id, frame(6))] == "REPEATED"
    assert names[rx.check(frame_id, frame(8))] == "OK_SOME_LOST"      # one lost: delta 2
    assert names[rx.check(frame_id, frame(12))] == "WRONG_SEQUENCE"   # delta 4 > max_delta
    assert names[rx.check(frame_id, frame(13))] == "OK"               # resynchronised on 12
    assert names[rx.check(frame_id, frame(15))] == "OK_SOME_LOST"
    assert names[rx.check(frame_id, frame(0))] == "OK"                # wraps mod 16
    bad = bytearray(frame(1))
    bad[4] ^= 0x10
    assert names[rx.check(frame_id, bytes(bad))] == "WRONG_CRC"
    # the same bytes under another frame ID (a masquerading frame) fail the CRC: the data ID is in it
    assert names[rx.check(0x101, frame(1))] == "WRONG_CRC"


def test_plant_frame_encoder_frames_decode_with_cantools_to_the_inputs():
    db = database()
    n = 96
    rng = np.random.default_rng(3)
    v = rng.uniform(2.5, 4.2, n)
    t = rng.uniform(-20, 60, n)
    v[17] = np.nan
    enc = _codec.PlantFrameEncoder(n)
    body = enc.encode(77, 0.01, 12.5, True, v, t, -12.34, 380.5, -20.0, 1)
    frames = _codec.wire_unpack(_codec.wire_pack(body))
    assert len(frames) == enc.frames_per_cycle
    assert frames[-1][0] == 0x080  # the tick comes last
    got_v, got_t = {}, {}
    for can_id, data in frames:
        msg = db.get_message_by_frame_id(can_id)
        assert data[0] == J1850.checksum(bytes([can_id & 0xFF, can_id >> 8]) + data[1:])
        d = msg.decode(data, decode_choices=False)
        raw = msg.decode(data, scaling=False, decode_choices=False)
        for name, val in d.items():
            if name.startswith("CELL_V_") and not name.endswith("MUX"):
                got_v[int(name[7:]) - 1] = np.nan if raw[name] == 0xFFFF else val
            elif name.startswith("CELL_T_") and not name.endswith("MUX"):
                got_t[int(name[7:]) - 1] = val
        if msg.name == "PLANT_TICK":
            assert d["TICK_SEQ"] == 77 and d["TICK_DT"] == pytest.approx(0.01)
        if msg.name == "PACK_MEAS":
            assert d["PACK_CURRENT"] == pytest.approx(-12.34) and d["PACK_VOLTAGE"] == pytest.approx(380.5)
    gv = np.array([got_v[j] for j in range(n)])
    assert np.isnan(gv[17])
    np.testing.assert_allclose(np.delete(gv, 17), np.delete(v, 17), atol=0.5e-4 + 1e-12)
    np.testing.assert_allclose([got_t[j] for j in range(n)], t, atol=0.25 + 1e-12)


def test_alive_counters_advance_per_data_element():
    enc = _codec.PlantFrameEncoder(6)
    v, t = np.full(6, 3.7), np.full(6, 25.0)
    rx = _codec.E2EReceiver(max_delta=1)
    for k in range(40):
        for can_id, data in _codec.wire_unpack(_codec.wire_pack(enc.encode(k + 1, 1.0, k, True, v, t, 0, 22, 0, 0))):
            assert _codec.E2E_STATUS[rx.check(can_id, data)] == ("INITIAL" if k == 0 else "OK")


def test_wire_framing_round_trip_and_refusal():
    body = _codec.wire_frame(0x123, b"\x01\x02\x03") + _codec.wire_frame(0x80000456, bytes(8))
    dg = _codec.wire_pack(body)
    assert dg[:4] == b"STCN" and dg[6] == 2
    assert _codec.wire_unpack(dg) == [(0x123, b"\x01\x02\x03"), (0x80000456, bytes(8))]
    for bad in (dg[:-1], b"XXXX" + dg[4:], dg[:6] + b"\x03\x00" + dg[8:]):
        with pytest.raises(ValueError, match="not a safetwin HIL batch"):
            _codec.wire_unpack(bad)


def _generator():
    sys.path.insert(0, str(ROOT / "hil"))
    try:
        import generate_codec
    finally:
        sys.path.pop(0)
    return generate_codec


# The committed C is cantools 45.1's output (hil/generate_codec.py); Python 3.9 can only have
# cantools 40.7, whose generator writes different C. The codec itself is checked on every version.
@pytest.mark.skipif(int(cantools.__version__.split(".")[0]) < 45,
                    reason=f"the committed codec is cantools 45's output; cantools {cantools.__version__} here")
def test_generated_c_matches_a_fresh_regeneration():
    for name, text in _generator().generate_all().items():
        committed = (ROOT / name).read_text()
        assert committed == text, f"{name} is stale: run python hil/generate_codec.py"


def test_the_generated_layout_matches_a_fresh_regeneration():
    """The layout (C header, Cython declarations, Python module) is the generator's own text, on
    every cantools: a DBC edited without re-running hil/generate_codec.py fails here."""
    layout = _generator().generate_layout()
    assert sorted(layout) == ["firmware_sim/generated/safetwin_hil_layout.h",
                              "firmware_sim/generated/safetwin_hil_layout.pxi", "src/safetwin/hil/_link_layout.py"]
    for name, text in layout.items():
        assert (ROOT / name).read_text() == text, f"{name} is stale: run python hil/generate_codec.py"
