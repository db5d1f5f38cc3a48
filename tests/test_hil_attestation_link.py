"""The attestation round on the link: the firmware's side (nonce from its DRBG, ISO-TP receiver,
quote verifier; firmware_sim/src/attest_isotp.hpp, quote_verifier.hpp through `quote_verify`)
against a node whose answer is segmented by the maintained `can-isotp` package over a python-can
virtual bus, with the flow control going back the other way. Shown: the genuine answer arrives
byte-exact and passes; a replayed old answer, a forged one, a tampered node, a node that burns the
nonce of another and a silent node each get their reason; the DRBG is reproducible per seed."""
from __future__ import annotations

import pytest

can = pytest.importorskip("can")
isotp = pytest.importorskip("isotp")
pytest.importorskip("cryptography")

from safetwin.hil.quote_verify import FirmwareQuoteVerifier  # noqa: E402
from safetwin.trust.software_node import SoftwareNode  # noqa: E402

NONCE_REQ, NODE_TX, FW_FC = 0x300, 0x310, 0x320  # + node index (hil/safetwin_hil.dbc 0x300-0x33F)


def answer_bytes(attest: bytes, signature: bytes) -> bytes:
    """TPM2B_ATTEST || TPMT_SIGNATURE (tpm2_quote's -m and -s back to back)."""
    return len(attest).to_bytes(2, "big") + attest + signature


class Link:
    """Two ends of a python-can virtual bus: the node's can-isotp stack and the firmware."""

    def __init__(self, fw: FirmwareQuoteVerifier, channel: str) -> None:
        self.fw = fw
        self.node_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.fw_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.now_ms = 0
        self.frames_seen = 0

    def stack(self, node: int, tx_id: int | None = None) -> isotp.TransportLayerLogic:
        """The node's ISO-TP sender (can-isotp, stepped by hand: no thread, no sleeps)."""
        bus = self.node_bus

        def rxfn(timeout: float) -> isotp.CanMessage | None:
            msg = bus.recv(timeout=0)
            if msg is None:
                return None
            return isotp.CanMessage(arbitration_id=msg.arbitration_id, dlc=msg.dlc, data=bytes(msg.data))

        def txfn(msg: isotp.CanMessage) -> None:
            bus.send(can.Message(arbitration_id=msg.arbitration_id, data=bytes(msg.data), is_extended_id=False))

        address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=NODE_TX + node if tx_id is None else tx_id,
                                rxid=FW_FC + node)
        params = {"stmin": 0, "blocksize": 0, "tx_padding": 0xCC, "rx_flowcontrol_timeout": 60000,
                  "rx_consecutive_frame_timeout": 60000, "max_frame_size": 4095}
        return isotp.TransportLayerLogic(rxfn=rxfn, txfn=txfn, address=address, params=params)

    def send(self, stack: isotp.TransportLayerLogic, node: int, payload: bytes):
        """Push ``payload`` through the node's stack and the firmware; returns the verdict (or None)."""
        stack.send(payload)
        verdict = None
        for _ in range(1000):
            stack.process()
            got_any = False
            while (msg := self.fw_bus.recv(timeout=0)) is not None:
                got_any = True
                self.frames_seen += 1
                self.now_ms += 1
                src = msg.arbitration_id - NODE_TX
                event, fc, v = self.fw.frame(src, bytes(msg.data), self.now_ms)
                if fc is not None:
                    self.fw_bus.send(can.Message(arbitration_id=FW_FC + src, data=fc, is_extended_id=False))
                if v is not None:
                    verdict = v
            if verdict is not None or (not got_any and not stack.transmitting()):
                break
        return verdict

    def close(self) -> None:
        self.node_bus.shutdown()
        self.fw_bus.shutdown()


@pytest.fixture()
def rig(request):
    fw = FirmwareQuoteVerifier()
    fw.seed(2026)
    link = Link(fw, f"attest-{request.node.name}")
    nodes = [SoftwareNode(f"cell-monitor-{c}") for c in "ab"]
    for i, n in enumerate(nodes):
        e = n.enrollment()
        fw.enroll(i, n.ak_public, e.golden_pcrs, e.firmware_version)
    yield fw, link, nodes
    link.close()
    fw.close()


def test_genuine_answer_over_can_isotp_passes(rig) -> None:
    fw, link, nodes = rig
    stack = link.stack(0)
    nonce = fw.challenge(0, link.now_ms)
    q = nodes[0].quote(nonce)
    payload = answer_bytes(q.attest, q.signature)
    v = link.send(stack, 0, payload)
    assert v is not None and (v.check, v.reason) == ("ok", "pass")
    assert v.clock_ms == nodes[0].clock.clock_ms
    # One FF (6 bytes) + CFs of 7: ceil((len - 6) / 7) + 1 frames, as ISO 15765-2 segments it.
    assert link.frames_seen == 1 + -(-(len(payload) - 6) // 7)


def test_each_attack_gets_its_reason(rig) -> None:
    fw, link, nodes = rig
    stack_a, stack_b = link.stack(0), link.stack(1)
    # Replay: the old answer to a new challenge.
    nonce = fw.challenge(0, link.now_ms)
    old = nodes[0].quote(nonce)
    assert link.send(stack_a, 0, answer_bytes(old.attest, old.signature)).reason == "pass"
    fw.challenge(0, link.now_ms)
    assert link.send(stack_a, 0, answer_bytes(old.attest, old.signature)).reason == "fail_replay"
    # Forged: a quote on the live nonce signed by another key.
    nonce = fw.challenge(0, link.now_ms)
    forger = SoftwareNode("cell-monitor-a")
    f = forger.quote(nonce)
    assert link.send(stack_a, 0, answer_bytes(f.attest, f.signature)).reason == "fail_signature"
    # ... which burnt nothing: the honest answer to the same nonce still passes.
    q = nodes[0].quote(nonce)
    assert link.send(stack_a, 0, answer_bytes(q.attest, q.signature)).reason == "pass"
    # A third party on node b's ID answering node a's live nonce (burning it): unknown to b ...
    nonce_a = fw.challenge(0, link.now_ms)
    fw.challenge(1, link.now_ms)
    burn = nodes[0].quote(nonce_a)  # a genuine quote of a, sniffed, sent as b
    assert link.send(stack_b, 1, answer_bytes(burn.attest, burn.signature)).reason == "fail_signature"
    # ... and a's own answer on that nonce still passes.
    q = nodes[0].quote(nonce_a)
    assert link.send(stack_a, 0, answer_bytes(q.attest, q.signature)).reason == "pass"
    # Tampered node: its firmware measurement changed.
    nodes[1].extend(0, bytes(range(32)))
    nonce = fw.challenge(1, link.now_ms)
    t = nodes[1].quote(nonce)
    assert link.send(stack_b, 1, answer_bytes(t.attest, t.signature)).reason == "fail_pcr"
    # Garbage of the right framing: malformed.
    fw.challenge(0, link.now_ms)
    assert link.send(stack_a, 0, bytes(300)).reason == "fail_malformed"


def test_silent_node_times_out_once_and_late_answers_are_dropped(rig) -> None:
    fw, link, nodes = rig
    nonce = fw.challenge(0, 0)
    assert fw.expire(0, 2000) == "open"
    assert fw.expire(0, 2001) == "timeout"
    assert fw.expire(0, 2002) == "closed"
    q = nodes[0].quote(nonce)
    link.now_ms = 2100
    assert link.send(link.stack(0), 0, answer_bytes(q.attest, q.signature)) is None  # frames ignored


def test_nonces_are_reproducible_per_seed() -> None:
    nodes = [SoftwareNode(f"cell-monitor-{c}") for c in "ab"]

    def draw(seed: int) -> list[bytes]:
        with FirmwareQuoteVerifier() as fw:
            for i, n in enumerate(nodes):
                fw.enroll(i, n.ak_public, n.enrollment().golden_pcrs)
            fw.seed(seed)
            return [fw.challenge(i % 2, 0) for i in range(6)]

    a, b, c = draw(7), draw(7), draw(8)
    assert a == b
    assert len(set(a) | set(c)) == 12
    assert all(len(n) == 32 for n in a)
