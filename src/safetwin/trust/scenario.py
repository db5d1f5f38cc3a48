"""Attestation rounds of a bench scenario: real quotes, real verification, verdict codes out.

Every ``every_s`` seconds the verifier challenges each node and verifies its quote (ECDSA,
nonce, PCR digest, clock); the verdicts become the per-cycle codes the C++ trust state takes:
``codes`` pass/fail only (0 no round this cycle, 1 pass, 2 fail: what the campaigns and demos
were calibrated on), ``reason_codes`` each round's reason in the ``trust::Attestation`` numbering
(``Reason.code``: 3 fail_signature, 4 fail_pcr, 5 fail_replay, ...), for a trust layer that weighs
each reason with its own likelihood. A node under attack reboots into tampered firmware at
the attack's start, so its measured-boot digest no longer matches the golden values, unless the
attack says the attacker holds a valid key: then it answers with forged quotes carrying the
golden digest, which pass (the limit of attestation that residual evidence has to cover).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import tpm_wire as wire
from .attestation import Quote, Verdict, Verifier
from .software_node import SoftwareNode, golden_pcrs, reference_boot_log

CODE_NONE, CODE_PASS, CODE_FAIL = 0, 1, 2


class _SimClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class AttestationLog:
    codes: np.ndarray  # (rows, nodes) uint8: CODE_NONE / CODE_PASS / CODE_FAIL
    verdicts: list = field(default_factory=list)  # (time_s, Verdict) of every round
    reason_codes: np.ndarray | None = None  # (rows, nodes) uint8: 0 no round, else Verdict.reason.code

    def failures(self, node: str) -> list:
        return [(t, v) for t, v in self.verdicts if v.node_id == node and not v.passed]


def _forge_golden(node: SoftwareNode, nonce: bytes) -> Quote:
    """What an attacker holding the AK sends: a fresh quote whose PCR digest is the golden one."""
    a = wire.parse_attest(node.quote(nonce).attest)
    g = golden_pcrs(reference_boot_log(node.node_id), node.pcrs)
    forged = wire.QuoteAttest(a.qualified_signer, a.extra_data, a.clock, a.firmware_version, a.pcr_select,
                              wire.pcr_digest([g[i] for i in sorted(g)]))
    data = forged.marshal()
    return Quote(data, node.sign_anything(data))


def run_attestation(t_s: np.ndarray, node_ids: Sequence[str], attacks: Sequence = (), every_s: float = 1.0,
                    nonce_lifetime_s: float = 2.0) -> AttestationLog:
    """Attestation rounds over the scenario's time axis with in-process software nodes."""
    t_s = np.asarray(t_s, dtype=float)
    if not every_s > 0:
        raise ValueError(f"every_s = {every_s}: must be > 0")
    clock = _SimClock()
    verifier = Verifier(nonce_lifetime_s=nonce_lifetime_s, now_s=clock)
    nodes = {}
    for node_id in node_ids:
        nodes[node_id] = SoftwareNode(node_id, tick_ms=0)
        verifier.enroll(nodes[node_id].enrollment())
    by_node = {a.node: a for a in attacks}
    unknown = set(by_node) - set(node_ids)
    if unknown:
        raise ValueError(f"attacks on unknown nodes {sorted(unknown)}: nodes are {list(node_ids)}")
    compromised: set = set()
    codes = np.zeros((t_s.size, len(node_ids)), dtype=np.uint8)
    log = AttestationLog(codes, reason_codes=np.zeros_like(codes))
    next_round = t_s[0] if t_s.size else 0.0
    last_t = None
    for k, t in enumerate(t_s):
        if last_t is not None:
            for n in nodes.values():
                n.advance_clock(int(round((t - last_t) * 1000)))
        last_t = t
        clock.t = float(t)
        for node_id, atk in by_node.items():
            if node_id not in compromised and atk.start_s <= t:
                compromised.add(node_id)
                if not atk.holds_valid_key:  # the implant is in the boot chain: PCR 0 changes
                    nodes[node_id].reboot(reference_boot_log(node_id, firmware=b"safetwin-sensor-fw-1.0+implant"))
        if t + 1e-9 < next_round:
            continue
        next_round += every_s
        for j, node_id in enumerate(node_ids):
            node = nodes[node_id]
            nonce = verifier.challenge(node_id)
            atk = by_node.get(node_id)
            if node_id in compromised and atk is not None and atk.holds_valid_key:
                quote = _forge_golden(node, nonce)
            else:
                quote = node.quote(nonce)
            v: Verdict = verifier.verify(node_id, quote)
            log.verdicts.append((float(t), v))
            codes[k, j] = CODE_PASS if v.passed else CODE_FAIL
            log.reason_codes[k, j] = v.reason.code
    return log
