"""The link through python-can's Bus API: the registered ``safetwin_udp`` interface between two
buses on loopback, and the in-process firmware driven with can.Message frames that cantools packed
(so a bench with another transport keeps the harness)."""
import pytest

can = pytest.importorskip("can")
pytest.importorskip("cantools")

from safetwin.hil import _codec  # noqa: E402
from safetwin.hil.bus import InProcessBus, UdpCanBus  # noqa: E402
from safetwin.hil.link import database  # noqa: E402


def test_udp_interface_is_registered_and_carries_messages():
    a = can.Bus(interface="safetwin_udp", channel="127.0.0.1:0", peer="127.0.0.1:9")
    b = can.Bus(interface="safetwin_udp", channel="127.0.0.1:0", peer=a.local_address)
    try:
        assert isinstance(a, UdpCanBus)
        a.peer = ("127.0.0.1", b.local[1])
        sent = [can.Message(arbitration_id=0x110 + i, data=bytes([i] * (i % 9)), is_extended_id=False) for i in range(5)]
        sent.append(can.Message(arbitration_id=0x1ABCDE, data=b"\x01", is_extended_id=True))
        for m in sent[:3]:
            a.send(m)
        a.send_many(sent[3:])  # one datagram
        got = [b.recv(timeout=2.0) for _ in sent]
        for s, g in zip(sent, got):
            assert g is not None
            assert (g.arbitration_id, g.is_extended_id, bytes(g.data)) == (s.arbitration_id, s.is_extended_id, bytes(s.data))
        assert b.recv(timeout=0.05) is None
        # a datagram that is not ours is dropped, not raised
        b.sock.sendto(b"garbage", a.local)
        assert a.recv(timeout=0.2) is None
    finally:
        a.shutdown()
        b.shutdown()


def _cantools_cycle(db, seq, counters, v_cell, n):
    """One cycle of plant frames packed by cantools (E2E CRC from the codec), as can.Messages."""
    msgs = []

    def put(name, values, mux=0):
        msg = db.get_message_by_name(name)
        key = (name, mux)
        counters[key] = counters.get(key, -1) + 1 & 0x0F
        values = {"E2E_CRC": 0, "E2E_COUNTER": counters[key], **values}
        data = bytearray(msg.encode(values, strict=False))
        _codec.e2e_protect(msg.frame_id, data)
        msgs.append(can.Message(arbitration_id=msg.frame_id, data=bytes(data), is_extended_id=False))

    put("PLANT_HEARTBEAT", {"PLANT_TIME": seq, "PLANT_CONTACTOR_CLOSED": 1})
    put("PACK_MEAS", {"PACK_CURRENT": 0.0, "PACK_VOLTAGE": n * v_cell, "CONTACTOR_CLOSED": 1})
    put("LOAD_REQUEST", {"REQ_CURRENT": 12.5, "REQ_MODE": 2})
    put("CELL_V_A", {"CELL_V_A_MUX": 0, "CELL_V_001": v_cell, "CELL_V_002": v_cell, "CELL_V_003": v_cell})
    put("CELL_T", {"CELL_T_MUX": 0, **{f"CELL_T_{j:03d}": 25.0 for j in range(1, 7)}})
    put("PLANT_TICK", {"TICK_SEQ": seq, "TICK_DT": 0.1})
    return msgs


def test_inprocess_firmware_answers_cantools_frames_through_the_bus_api():
    db = database()
    bus = InProcessBus(series=3)
    counters = {}
    try:
        for seq in range(1, 6):
            for m in _cantools_cycle(db, seq, counters, 3.7, 3):
                bus.send(m)
            answer = {}
            while (m := bus.recv(timeout=0)) is not None:
                answer[db.get_message_by_frame_id(m.arbitration_id).name] = \
                    db.decode_message(m.arbitration_id, m.data, decode_choices=False)
            assert answer["FW_TICK_ACK"]["ACK_SEQ"] == seq
            assert answer["FW_COMMAND"]["CURRENT_CMD"] == pytest.approx(12.5)  # the drive demand, in limits
            assert answer["FW_COMMAND"]["CONTACTOR_REQ"] == 1
            assert answer["FW_STATUS"]["FAULT_FLAGS"] == 0
    finally:
        bus.shutdown()


def test_udp_bus_to_the_firmware_process_with_messages():
    from safetwin.hil.firmware import FirmwareProcess
    db = database()
    counters = {}
    with FirmwareProcess(lockstep=True, series=3) as fp:
        bus = fp.bus
        for seq in range(1, 4):
            bus.send_many(_cantools_cycle(db, seq, counters, 3.7, 3))
            ack = None
            while ack is None:
                m = bus.recv(timeout=5.0)
                assert m is not None
                if m.arbitration_id == 0x081:
                    ack = db.decode_message(m.arbitration_id, m.data)
            assert ack["ACK_SEQ"] == seq
        report = fp.stop()
    assert report["cycles"] == 3 and report["e2e_errors"] == 0
