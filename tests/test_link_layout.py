"""The link's one source of truth (issue 19): the layout generated from hil/safetwin_hil.dbc
(safetwin.hil._link_layout, the same list as firmware_sim/generated/safetwin_hil_layout.h) against
cantools' reading of the DBC, and every declared range enforced by the decoder: a raw value one
step outside a signal's [minimum, maximum] is refused by the Cython codec, by the firmware (the
same generated C) and by the harness's answer decoder, and the value on the bound is accepted.
The out-of-range frames are built bit by bit here from the DBC's start bits and lengths, not by
the generated code under test."""
import math

import pytest

cantools = pytest.importorskip("cantools")

from safetwin.hil import _codec  # noqa: E402
from safetwin.hil import _link_layout as L  # noqa: E402
from safetwin.hil._firmware import InProcessFirmware  # noqa: E402
from safetwin.hil.link import AnswerDecoder, database  # noqa: E402


def _name(text):
    return "".join(c if c.isalnum() else "_" for c in text).upper()


def test_the_layout_is_the_dbc_as_cantools_reads_it():
    db = database()
    table = {m["frame_id"]: m for m in _codec.messages()}
    assert L.FRAME_IDS == {m.name: m.frame_id for m in db.messages}
    for msg in db.messages:
        assert getattr(L, _name(msg.name)) == msg.frame_id
        assert L.SENDERS[msg.name] == ",".join(msg.senders)
        order = table[msg.frame_id]["signals"]
        assert getattr(L, f"{_name(msg.name)}_N_SIGNALS") == len(order) == len(msg.signals)
        for sig in msg.signals:
            sn = f"{_name(msg.name)}_{_name(sig.name)}"
            assert order[getattr(L, sn)] == sig.name
            assert getattr(L, f"{sn}_MIN") == sig.minimum and getattr(L, f"{sn}_MAX") == sig.maximum
            assert getattr(L, f"{sn}_SCALE") == sig.scale and getattr(L, f"{sn}_OFFSET") == sig.offset
            for value, choice in (sig.choices or {}).items():
                assert getattr(L, f"{sn}_{_name(str(choice))}") == value
                assert L.CHOICES[(msg.name, sig.name)][int(value)] == str(choice)
    # the multiplexed blocks: value v's k-th signal, and the node families
    assert (L.CELL_V_A_MUX_VALUES, L.CELL_V_A_PER_MUX, L.CELL_T_MUX_VALUES, L.CELL_T_PER_MUX) == (16, 3, 16, 6)
    order = table[L.CELL_V_B]["signals"]
    assert order[L.CELL_V_B_FIRST_MUXED + L.CELL_V_B_PER_MUX * 15 + 2] == "CELL_V_096"
    assert table[L.CELL_T]["signals"][L.CELL_T_FIRST_MUXED + L.CELL_T_PER_MUX * 7 + 5] == "CELL_T_048"
    assert (L.ATTEST_NONCE_COUNT, L.ATTEST_QUOTE_COUNT, L.ATTEST_FC_COUNT) == (8, 8, 8)
    assert [db.get_message_by_name(f"ATTEST_QUOTE_{k}").frame_id for k in range(8)] == \
        [L.ATTEST_QUOTE_0 + k for k in range(8)]


def _raw_bounds(sig):
    lo = math.ceil((sig.minimum - sig.offset) / sig.scale - 1e-9)
    hi = math.floor((sig.maximum - sig.offset) / sig.scale + 1e-9)
    if sig.is_signed:
        return lo, hi, -(1 << (sig.length - 1)), (1 << (sig.length - 1)) - 1
    return lo, hi, 0, (1 << sig.length) - 1


def _sna(sig, field_lo, field_hi, lo, hi):
    """The documented "not available" raw value (hil/generate_codec.py): all ones (the most
    negative for signed signals) of any signal but a multiplexer when it lies outside the declared
    range (cell voltages and temperatures of a multiplexed block too)."""
    if sig.is_multiplexer:
        return None
    raw = field_lo if sig.is_signed else field_hi
    return raw if not lo <= raw <= hi else None


def _put(frame: int, sig, raw: int) -> int:
    # every signal of the link is little-endian (@1): bits start .. start + length - 1
    mask = (1 << sig.length) - 1
    return (frame & ~(mask << sig.start)) | ((raw & mask) << sig.start)


def _frame(msg, target, raw):
    """Every other signal of the target's block at its minimum raw value, the target at `raw`."""
    mux_sig = next((s for s in msg.signals if s.is_multiplexer), None)
    mux = (0 if target is mux_sig or target.multiplexer_ids is None else target.multiplexer_ids[0])
    frame = 0
    for sig in msg.signals:
        if sig.multiplexer_ids is not None and mux not in sig.multiplexer_ids:
            continue
        frame = _put(frame, sig, mux if sig is mux_sig else max(_raw_bounds(sig)[0], _raw_bounds(sig)[2]))
    return bytearray(_put(frame, target, raw).to_bytes(msg.length, "little"))


def _cases():
    """(message, signal, raw one step outside, raw on the bound) for every declared range narrower
    than its raw field, but for the "not available" value."""
    out = []
    for msg in database().messages:
        for sig in msg.signals:
            lo, hi, field_lo, field_hi = _raw_bounds(sig)
            sna = _sna(sig, field_lo, field_hi, lo, hi)
            if lo - 1 >= field_lo and lo - 1 != sna:
                out.append((msg, sig, lo - 1, lo))
            if hi + 1 <= field_hi and hi + 1 != sna:
                out.append((msg, sig, hi + 1, hi))
    return out


CASES = _cases()


def test_the_cases_cover_the_known_narrow_ranges():
    names = {(m.name, s.name) for m, s, _, _ in CASES}
    assert {("PLANT_TICK", "TICK_DT"), ("ATTEST_NONCE_0", "NONCE_FRAG"), ("ATTEST_NONCE_7", "NONCE_FRAG"),
            ("FW_STATUS", "EST_SOC"), ("REPORT_SCHEDULE", "SCHED_NODE"), ("ATTEST_RESULT", "RESULT_CHECK"),
            ("FW_EVENT", "EVENT_CELL")} <= names
    assert len(CASES) == 16


@pytest.mark.parametrize("msg,sig,outside,bound", CASES, ids=[f"{m.name}.{s.name}={o}" for m, s, o, _ in CASES])
def test_the_codec_refuses_a_raw_value_outside_the_declared_range(msg, sig, outside, bound):
    _codec.decode(msg.frame_id, bytes(_frame(msg, sig, bound)))  # the bound itself is a value
    with pytest.raises(ValueError, match=f"{msg.name}"):
        _codec.decode(msg.frame_id, bytes(_frame(msg, sig, outside)))


def _protected(msg, sig, raw, counter=0):
    data = _frame(msg, sig, raw)
    data[1] = (data[1] & 0xF0) | counter
    _codec.e2e_protect(msg.frame_id, data)
    return bytes(data)


PLANT_CASES = [c for c in CASES if c[0].senders == ["PLANT"]]
FW_CASES = [c for c in CASES if c[0].senders == ["FW"]]


@pytest.mark.parametrize("msg,sig,outside,bound", PLANT_CASES,
                         ids=[f"{m.name}.{s.name}={o}" for m, s, o, _ in PLANT_CASES])
def test_the_firmware_refuses_a_raw_value_outside_the_declared_range(msg, sig, outside, bound):
    fw = InProcessFirmware(series=12)
    fw.feed(_codec.wire_pack(_codec.wire_frame(msg.frame_id, _protected(msg, sig, bound))))
    assert fw.e2e_errors == 0
    fw.feed(_codec.wire_pack(_codec.wire_frame(msg.frame_id, _protected(msg, sig, outside, counter=1))))
    assert fw.e2e_errors == 1


@pytest.mark.parametrize("msg,sig,outside,bound", FW_CASES, ids=[f"{m.name}.{s.name}={o}" for m, s, o, _ in FW_CASES])
def test_the_harness_refuses_a_firmware_frame_outside_the_declared_range(msg, sig, outside, bound):
    dec = AnswerDecoder()
    ok = dec.decode(_codec.wire_pack(_codec.wire_frame(msg.frame_id, _protected(msg, sig, bound))))
    assert ok.invalid_frames == 0
    bad = dec.decode(_codec.wire_pack(_codec.wire_frame(msg.frame_id, _protected(msg, sig, outside, counter=1))))
    assert bad.invalid_frames == 1 and bad.frames == 1


def _sna_cases(sender):
    """(message, signal, its "not available" raw value) of every signal of `sender` that has one."""
    out = []
    for msg in database().messages:
        if msg.senders != [sender]:
            continue
        for sig in msg.signals:
            lo, hi, field_lo, field_hi = _raw_bounds(sig)
            sna = _sna(sig, field_lo, field_hi, lo, hi)
            if sna is not None:
                out.append((msg, sig, sna))
    return out


FW_SNA_CASES = _sna_cases("FW")


def test_the_firmware_sna_cases_cover_the_commands_and_the_indices():
    names = {(m.name, s.name) for m, s, _ in FW_SNA_CASES}
    assert {("FW_COMMAND", "CURRENT_CMD"), ("FW_COMMAND", "CMD_MODE"), ("FW_STATUS", "FW_MODE"),
            ("FW_STATUS", "EST_SOC"), ("REPORT_SCHEDULE", "SCHED_NODE"), ("ATTEST_RESULT", "RESULT_NODE"),
            ("FW_EVENT", "EVENT_CELL")} <= names


@pytest.mark.parametrize("msg,sig,sna", FW_SNA_CASES, ids=[f"{m.name}.{s.name}={r}" for m, s, r in FW_SNA_CASES])
def test_the_harness_refuses_a_firmware_frame_missing_a_signal_it_needs(msg, sig, sna):
    """A firmware frame whose signal carries its "not available" raw value (the codec's NaN) is
    refused by the answer decoder, nothing of it taken: a NaN current never reaches the plant, a NaN
    mode, node or code never reaches int(). The one exception is EST_SOC: no estimate, None."""
    frame = _protected(msg, sig, sna)
    assert math.isnan(_codec.decode(msg.frame_id, frame)[_codec_index(msg, sig)])  # the codec's NaN
    ans = AnswerDecoder().decode(_codec.wire_pack(_codec.wire_frame(msg.frame_id, frame)))
    assert ans.frames == 1
    if (msg.name, sig.name) == ("FW_STATUS", "EST_SOC"):
        assert ans.invalid_frames == 0 and ans.est_soc is None and ans.mode == 0
        return
    assert ans.invalid_frames == 1
    assert (ans.current_a, ans.mode, ans.fault_flags, ans.ack_seq, ans.jitter_s) == (None,) * 5
    assert not ans.heartbeat and ans.events == [] and ans.schedules == [] and ans.attest_results == []


def _codec_index(msg, sig):
    return next(m for m in _codec.messages() if m["frame_id"] == msg.frame_id)["signals"].index(sig.name)


def _bound_cases():
    """(message, signal, raw) for each end of every signal's in-range raw values (not the
    "not available" one): where raw * scale + offset can round past the declared bound."""
    out = []
    for msg in database().messages:
        for sig in msg.signals:
            lo, hi, field_lo, field_hi = _raw_bounds(sig)
            out += [(msg, sig, max(lo, field_lo)), (msg, sig, min(hi, field_hi))]
    return out


BOUND_CASES = _bound_cases()


def test_a_raw_value_on_its_bound_decodes_inside_the_range_and_encodes_again():
    """Every signal at both ends of its raw range, the frame built bit by bit: the decoded value lies
    in [minimum, maximum] and the strict encoder takes the frame back (PLANT_TICK.TICK_DT = 65535
    once decoded to 65535 * 1e-4 = 6.5535000000000005 > 6.5535, which the encoder refused)."""
    rounded = 0
    for msg, sig, raw in BOUND_CASES:
        k = _codec_index(msg, sig)
        values = _codec.decode(msg.frame_id, bytes(_frame(msg, sig, raw)))
        assert sig.minimum <= values[k] <= sig.maximum, (msg.name, sig.name, raw, values[k])
        again = _codec.decode(msg.frame_id, _codec.encode(msg.frame_id, values))
        assert all(a == b or (a != a and b != b) for a, b in zip(again, values)), (msg.name, sig.name)  # NaN: other mux
        rounded += raw * sig.scale + sig.offset != values[k]
    assert rounded >= 1  # the rounding case is among them (TICK_DT)
