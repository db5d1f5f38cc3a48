"""The bench's sensor nodes in the attestation protocol of the HIL link (issue 17, item 1).

The firmware challenges node k with ATTEST_NONCE_k (a 32-byte nonce from its CTR-DRBG, six
E2E-protected fragments); the node answers with its quote, TPM2B_ATTEST || TPMT_SIGNATURE (as
tpm2_quote writes its -m and -s files back to back), segmented by ISO 15765-2 on ATTEST_QUOTE_k
with the firmware's flow control coming back on ATTEST_FC_k (IDs from hil/safetwin_hil.dbc).

Segmentation is the maintained ``can-isotp`` package (``isotp.TransportLayerLogic``), stepped by
hand once per control cycle: its transmit function appends the frames to the cycle's datagram,
which travels over the link's python-can transport (in-process, or ``UdpCanBus``), and the flow
control frames of the firmware's answer go to its receive queue. No thread and no sleep, so a
lockstep run stays deterministic. With ``[attestation] tpm = "software"`` (the default) the quotes
come from :class:`safetwin.trust.software_node.SoftwareNode` (TPM 2.0 wire format), keyed from the
scenario seed; with ``tpm = "swtpm"`` each node is a real TPM 2.0 (its own Debian ``swtpm`` process,
started here and stopped by :meth:`AttestationNodes.close`) quoting through tpm2-pytss
(:class:`safetwin.trust.tpm_node.TpmNode`): its AK is a child of its EK, enrolled by credential
activation (TPM2_MakeCredential here, TPM2_ActivateCredential in that TPM) before the firmware is
given the AK with the EK's Qualified Name as its parent. ``ak`` chooses the AK: ``"ecc"`` (P-256),
``"rsassa"`` or ``"rsapss"`` (RSA-2048), for either backend. A swtpm's clock is its own (it runs
in wall time, slower than a lockstep run's simulated time: the firmware's bound allows that, as it
allows a TPM clock that runs slow); its quotes are the TPM's, so its runs give the same verdicts
every time but not the same bytes.

Misbehaviour is the scenario's (``[[faults]]`` with ``node``): ``node_tampered`` (a PCR of its
measured boot changes: fail_pcr), ``quote_forged`` (answers signed by a key that is not its AK:
fail_signature), ``quote_replay`` (re-sends the last quote it gave before the fault: fail_replay),
``node_silent`` (no answer: timeout), ``nonce_burn`` (a third, unenrolled node answers the live
nonce first on the node's ID with its own signature; the honest answer must still pass), and
``stealthy_injection`` without the node's key (its answers are forged while it runs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import isotp
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from safetwin.hil.link import ATTEST_FC_0, ATTEST_QUOTE_0
from safetwin.trust import tpm_wire as wire
from safetwin.trust.software_node import SoftwareNode

# ATTEST_RESULT's RESULT_REASON and RESULT_CHECK (the firmware's AttestReason and QuoteCheck).
ATTEST_REASONS = ("none", "pass", "fail", "fail_signature", "fail_pcr", "fail_replay", "fail_malformed", "timeout")
ATTEST_CHECKS = ("ok", "malformed", "magic", "signature", "signer", "nonce_unknown", "nonce_expired", "pcr_selection",
                 "pcr_digest", "firmware_version", "clock_unsafe", "reset_rollback", "restart_rollback",
                 "clock_rollback", "counter_jump")
NODE_FAULTS = ("node_tampered", "quote_forged", "quote_replay", "node_silent", "nonce_burn")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_CLOCK0_MS = 1000  # the nodes' TPM clock at the start of a run


def _key(seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from the scenario seed: a run keys its nodes the same way every time."""
    d = int.from_bytes(hashlib.sha256(f"safetwin hil {seed} {label}".encode()).digest(), "big") % (_P256_ORDER - 1)
    return ec.derive_private_key(d + 1, ec.SECP256R1())


_RSA_KEYS: dict[tuple[int, str], rsa.RSAPrivateKey] = {}


def _software_node(seed: int, name: str, label: str, ak: str) -> SoftwareNode:
    """A software node keyed from the seed (P-256), or with an RSA-2048 AK. RSA keys cannot be
    derived from a seed through `cryptography`; they are generated once per (seed, label) in this
    process and reused, so a process's runs of one scenario key their nodes alike."""
    if ak == "ecc":
        return SoftwareNode(name, key=_key(seed, label), clock_ms=_CLOCK0_MS)
    key = _RSA_KEYS.get((seed, label))
    if key is None:
        key = _RSA_KEYS[(seed, label)] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    scheme = wire.TPM_ALG_RSASSA if ak == "rsassa" else wire.TPM_ALG_RSAPSS
    return SoftwareNode(name, key=key, clock_ms=_CLOCK0_MS, rsa_scheme=scheme)


class _SwtpmNode:
    """A node's real TPM: its own swtpm process and a TpmNode on it whose AK is a child of the EK,
    enrolled by credential activation in the Python verifier (the AK's residence in that TPM
    proven, not claimed). Its clock runs on its own: set_clock does nothing."""

    def __init__(self, name: str, ak: str) -> None:
        from safetwin.trust.attestation import Verifier
        from safetwin.trust.swtpm import Swtpm
        from safetwin.trust.tpm_node import TpmNode
        self.swtpm = Swtpm()
        try:
            self.tpm = TpmNode(name, tcti_config=self.swtpm.tcti_config, ak=ak, ak_parent="ek")
            verifier = Verifier()
            blob, secret = verifier.begin_enrollment(self.tpm.enrollment())
            verifier.complete_enrollment(name, self.tpm.activate_credential(blob, secret))  # raises if not resident
        except BaseException:
            self.swtpm.stop()
            raise
        self.clock = None

    def enrollment(self):
        return self.tpm.enrollment()

    @property
    def parent_qn(self) -> bytes:
        return wire.qualified_name(self.tpm.ek_public, wire.TPM_RH_ENDORSEMENT)

    def extend(self, pcr: int, digest: bytes) -> None:
        self.tpm.extend(pcr, digest)

    def set_clock(self, clock: wire.ClockInfo) -> None:
        pass  # the TPM's own clock

    def quote(self, nonce: bytes):
        return self.tpm.quote(nonce)

    def close(self) -> None:
        try:
            self.tpm.close()
        finally:
            self.swtpm.stop()


def answer_bytes(q) -> bytes:
    """TPM2B_ATTEST || TPMT_SIGNATURE of a quote."""
    return len(q.attest).to_bytes(2, "big") + q.attest + q.signature


def timing(dt_s: float, quote_latency_s: float) -> dict[str, int]:
    """The firmware's round lifetime and ISO-TP N_Cr for a cycle of dt_s. In lockstep a node's
    frames travel once per cycle: nonce out (cycle k), first frame after the quote latency (k+1+L),
    consecutive frames after the flow control (one cycle later), so the gap between frames is one
    cycle and an answer completes 2 cycles + L after the nonce; one forged ahead of it on the same
    ID (nonce_burn) holds the ID for two cycles, which makes it 4 cycles. Half a cycle of margin."""
    dt_ms = dt_s * 1000.0
    need = max(quote_latency_s * 1000.0 + 2 * dt_ms, 4 * dt_ms) + 0.5 * dt_ms
    return {"attest_lifetime_ms": int(max(2000.0, need)), "attest_n_cr_ms": int(max(250.0, 1.5 * dt_ms))}


class _Stack:
    """One can-isotp sender on a node's IDs, fed and drained once per cycle."""

    def __init__(self, node: int) -> None:
        self.rx: list[isotp.CanMessage] = []
        self.tx: list[tuple[int, bytes]] = []
        address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=ATTEST_QUOTE_0 + node,
                                rxid=ATTEST_FC_0 + node)
        # Frames padded to 8 bytes (the DBC's length); the flow-control timeout is the firmware's
        # business here (its round lifetime): the bench's wall clock does not run in lockstep.
        params = {"stmin": 0, "blocksize": 0, "tx_padding": 0xCC, "tx_data_length": 8,
                  "rx_flowcontrol_timeout": 3_600_000, "rx_consecutive_frame_timeout": 3_600_000}
        self.logic = isotp.TransportLayerLogic(rxfn=self._rxfn, txfn=self._txfn, address=address, params=params)

    def _rxfn(self, timeout: float) -> isotp.CanMessage | None:
        return self.rx.pop(0) if self.rx else None

    def _txfn(self, msg: isotp.CanMessage) -> None:
        self.tx.append((msg.arbitration_id, bytes(msg.data)))

    def busy(self) -> bool:
        return self.logic.transmitting()

    def frames(self) -> list[tuple[int, bytes]]:
        for _ in range(64):  # until the stack has nothing more to send this cycle
            n = len(self.tx)
            self.logic.process()
            if len(self.tx) == n and not self.rx:
                break
        out, self.tx = self.tx, []
        return out


@dataclass
class _Node:
    index: int
    tpm: SoftwareNode | _SwtpmNode
    forger: SoftwareNode          # same node id and boot, not the enrolled key
    stack: _Stack
    pending: list[tuple[int, bytes]] = field(default_factory=list)  # (cycle to send, nonce)
    last_answer: bytes | None = None  # the last genuine answer, for a replay
    replay_answer: bytes | None = None
    tampered: bool = False


class AttestationNodes:
    """The scenario's sensor nodes, node 0 being the cell monitor (the one whose trust weights the
    voltage channels in the firmware)."""

    def __init__(self, sc, dt_s: float) -> None:
        att = sc.attestation
        self.dt_s = dt_s
        self.n = int(att.get("nodes", 1))
        self.latency_cycles = int(round(att.get("quote_latency_s", 0.0) / dt_s))
        self.seed = int(sc.seed)
        self.backend = att.get("tpm", "software")
        ak = att.get("ak", "ecc")
        self.faults = [f for f in sc.faults if f.type in NODE_FAULTS or
                       (f.type == "stealthy_injection" and not f.params.get("holds_valid_key", False))]
        self.nodes = []
        try:
            for k in range(self.n):
                name = f"cell-monitor-{k}"
                tpm = _SwtpmNode(name, ak) if self.backend == "swtpm" else _software_node(self.seed, name, name, ak)
                # The forger quotes in the node's own format with a key that is not its AK.
                forger = _software_node(self.seed, name, name + " forger", ak)
                self.nodes.append(_Node(k, tpm, forger, _Stack(k)))
        except BaseException:
            self.close()
            raise
        self.burner = SoftwareNode("third node", key=_key(self.seed, "third node"), clock_ms=_CLOCK0_MS)
        self.burn_stacks = {k: _Stack(k) for k in range(self.n)}  # the third node on node k's IDs
        self.burn_pending: dict[int, list[tuple[int, bytes]]] = {k: [] for k in range(self.n)}
        self.answers_sent = [0] * self.n
        self.answers_burned = [0] * self.n

    def firmware_options(self, every_s: float) -> dict[str, Any]:
        """The firmware's enrolment of the nodes (firmware_sim --attest-node ... per node)."""
        specs = []
        for nd in self.nodes:
            e = nd.tpm.enrollment()
            mask = sum(1 << i for i in e.golden_pcrs)
            golden = b"".join(e.golden_pcrs[i] for i in sorted(e.golden_pcrs))
            if isinstance(nd.tpm, _SwtpmNode):  # the TPM's own firmwareVersion is not checked; its EK is the parent
                specs.append(f"{e.ak_public.hex()}:{mask:x}:{golden.hex()}::{nd.tpm.parent_qn.hex()}")
            else:
                specs.append(f"{e.ak_public.hex()}:{mask:x}:{golden.hex()}:{e.firmware_version}")
        latency = self.latency_cycles * self.dt_s
        return {"attest_node": specs, "attest_every_s": every_s, "attest_seed": self.seed,
                **timing(self.dt_s, latency)}

    def _active(self, kind: str, node: int, t_s: float) -> bool:
        for f in self.faults:
            if f.params.get("node", 0) != node:
                continue
            if f.type == kind or (kind == "quote_forged" and f.type == "stealthy_injection"):
                if f.active(t_s):
                    return True
        return False

    def frames(self, k: int, t_s: float) -> list[tuple[int, bytes]]:
        """The nodes' ISO-TP frames of cycle k (to go into its datagram before the tick)."""
        out: list[tuple[int, bytes]] = []
        for nd in self.nodes:
            j = nd.index
            if self._active("node_tampered", j, t_s) and not nd.tampered:
                nd.tampered = True  # its firmware image changed: the measured boot's PCR 7 differs
                nd.tpm.extend(7, hashlib.sha256(b"replaced sensor firmware").digest())
            burn = self.burn_stacks[j]
            burn_held_id = burn.busy()  # as the cycle starts: the third node still holds the ID
            for due, nonce in [p for p in self.burn_pending[j] if p[0] <= k]:
                self.burn_pending[j].remove((due, nonce))
                self.burner.set_clock(wire.ClockInfo(_CLOCK0_MS + int(round(t_s * 1000)), 0, 0, True))
                burn.logic.send(answer_bytes(self.burner.quote(nonce)))
                self.answers_burned[j] += 1
            out += burn.frames()
            # The honest node waits for the ID while the third node holds it (CAN arbitration).
            if not burn_held_id and not burn.busy() and not nd.stack.busy():
                for due, nonce in [p for p in nd.pending if p[0] <= k][:1]:
                    nd.pending.remove((due, nonce))
                    payload = self._answer(nd, nonce, t_s)
                    if payload is not None:
                        nd.stack.logic.send(payload)
                        self.answers_sent[j] += 1
            out += nd.stack.frames()
        return out

    def _answer(self, nd: _Node, nonce: bytes, t_s: float) -> bytes | None:
        j = nd.index
        if self._active("node_silent", j, t_s):
            return None
        counts = nd.tpm.clock or nd.forger.clock  # a swtpm keeps its own counters (and clock)
        clock = wire.ClockInfo(_CLOCK0_MS + int(round(t_s * 1000)), counts.reset_count, counts.restart_count, True)
        if self._active("quote_replay", j, t_s) and (nd.replay_answer or nd.last_answer) is not None:
            nd.replay_answer = nd.replay_answer or nd.last_answer  # the one recorded before the fault
            return nd.replay_answer
        if self._active("quote_forged", j, t_s):
            nd.forger.set_clock(clock)
            return answer_bytes(nd.forger.quote(nonce))
        nd.tpm.set_clock(clock)
        nd.last_answer = answer_bytes(nd.tpm.quote(nonce))
        return nd.last_answer

    def close(self) -> None:
        """Stops the nodes' swtpm processes (nothing to do for software nodes)."""
        for nd in self.nodes:
            if isinstance(nd.tpm, _SwtpmNode):
                nd.tpm.close()
        self.nodes = [nd for nd in self.nodes if not isinstance(nd.tpm, _SwtpmNode)]

    def on_answer(self, ans, k: int, t_s: float) -> None:
        """The firmware's answer of cycle k: new nonces (answered from cycle k+1 on, after the
        quote latency) and flow control for the stacks."""
        for can_id, data in ans.isotp_fc:
            j = can_id - ATTEST_FC_0
            if 0 <= j < self.n:
                msg = isotp.CanMessage(arbitration_id=can_id, dlc=len(data), data=data)
                for stack in (self.nodes[j].stack, self.burn_stacks[j]):  # the sender that awaits it
                    if stack.busy():
                        stack.rx.append(msg)
        for j, nonce in ans.nonces.items():
            if not 0 <= j < self.n:
                continue
            self.nodes[j].pending.append((k + 1 + self.latency_cycles, nonce))
            if self._active("nonce_burn", j, t_s):
                self.burn_pending[j].append((k + 1, nonce))
