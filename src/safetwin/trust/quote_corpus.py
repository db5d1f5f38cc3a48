"""Run one case of the quote corpus (``tests/data/quotes/*.json``, format in its README.md) through
the Python verifier, the way the firmware's C++ verifier runs it: enrol the AK, then for each step
issue its nonce at ``issued_at_ms`` (unless ``issue`` is false: a replayed or unknown nonce) and
verify its quote at ``verified_at_ms``, with the verifier's state carried from step to step.
"""
from __future__ import annotations

import json
from pathlib import Path

from .attestation import Enrollment, Quote, Verdict, Verifier


class _CaseClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def load_case(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def run_case(case: dict) -> list[Verdict]:
    """The verdict of every step of ``case``."""
    clock = _CaseClock()
    pending: list[bytes] = []
    verifier = Verifier(nonce_lifetime_s=case["nonce_lifetime_ms"] / 1000.0, now_s=clock,
                        clock_drift=case["clock_drift"], min_reboot_s=case["min_reboot_ms"] / 1000.0,
                        nonce_source=lambda n: pending.pop(0))
    node = case["node_id"]
    enrollment = Enrollment(
        node, bytes.fromhex(case["ak_public"]),
        {int(k): bytes.fromhex(v) for k, v in case["golden_pcrs"].items()},
        hierarchy=case["hierarchy"], firmware_version=case["firmware_version"],
        ek_public=bytes.fromhex(case["ek_public"]) if case["ek_public"] else None)
    if enrollment.ek_public is None:
        verifier.enroll(enrollment)
    else:  # the corpus is trusted data: play the activated TPM with a known secret
        secret = b"corpus-credential-secret-32bytes"
        verifier.begin_enrollment(enrollment, secret=secret)
        verifier.complete_enrollment(node, secret)
    verdicts = []
    for step in case["steps"]:
        nonce = bytes.fromhex(step["nonce"])
        if step["issue"]:
            clock.t = step["issued_at_ms"] / 1000.0
            pending.append(nonce)
            verifier.challenge(node)
        clock.t = step["verified_at_ms"] / 1000.0
        verdicts.append(verifier.verify(node, Quote(bytes.fromhex(step["attest"]), bytes.fromhex(step["signature"]))))
    return verdicts
