#!/usr/bin/env python3
"""Write the quote corpus (tests/data/quotes/*.json, format in its README.md).

Every case is built from a valid quote changed in one way, and its expected verdict is written
here by hand from the rule it breaks (not by asking the verifier), so the corpus tests the Python
verifier and the firmware's C++ verifier alike. Keys are fixed (derived from constants) so the AKs
are stable; ECDSA and RSAPSS signatures are randomised, so regenerating changes signature bytes
only. With ``--tpm`` (swtpm and tpm2-pytss present) real TPM quotes from an EK-child AK are added.

Usage: python tools/gen_quote_corpus.py tests/data/quotes [--tpm]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from safetwin.trust import SoftwareNode, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire

NODE = "cell_mon"
LIFETIME_MS = 2000
PCRS = (0, 1, 2, 7)


def nonce(i: int) -> bytes:
    return hashlib.sha256(b"corpus nonce %d" % i).digest()


def fixed_ec(seed: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(hashlib.sha256(b"corpus key %d" % seed).digest(), "big") % (2**255),
                                 ec.SECP256R1())


_RSA: dict = {}


def fixed_rsa() -> rsa.RSAPrivateKey:
    # RSA keys cannot be derived from a seed with `cryptography`: made once per run (the AK public
    # area then changes on regeneration, the verdicts do not).
    if "k" not in _RSA:
        _RSA["k"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _RSA["k"]


def step(q, n: bytes, issue=True, issued_at_ms=1000, verified_at_ms=1010, passed=True, reason="pass", checks=()):
    return {"nonce": n.hex(), "issue": issue, "issued_at_ms": issued_at_ms, "verified_at_ms": verified_at_ms,
            "attest": q[0].hex(), "signature": q[1].hex(),
            "expected": {"passed": passed, "reason": reason, "checks": sorted(checks)}}


def case(name, description, node, steps, ek_public=None):
    golden = golden_pcrs(reference_boot_log(NODE), PCRS)
    return {
        "case": name, "description": description, "node_id": NODE,
        "ak_public": node.ak_public.hex(), "ek_public": ek_public.hex() if ek_public else None,
        "hierarchy": wire.TPM_RH_ENDORSEMENT,
        "golden_pcrs": {str(i): golden[i].hex() for i in PCRS},
        "pcr_selection": {"hash": wire.TPM_ALG_SHA256, "pcrs": list(PCRS)},
        "pcr_digest": wire.pcr_digest([golden[i] for i in PCRS]).hex(),
        "firmware_version": None, "nonce_lifetime_ms": LIFETIME_MS, "clock_drift": 0.15, "min_reboot_ms": 1000,
        "steps": steps,
    }


def q(node, n):
    out = node.quote(n)
    return out.attest, out.signature


def resigned(node, n, **changes):
    """A quote signed by ``node``'s key whose TPMS_ATTEST fields are changed as given."""
    a = wire.parse_attest(node.quote(n).attest)
    fields = dict(qualified_signer=a.qualified_signer, extra_data=a.extra_data, clock=a.clock,
                  firmware_version=a.firmware_version, pcr_select=a.pcr_select, pcr_digest=a.pcr_digest,
                  magic=a.magic, type=a.type)
    fields.update(changes)
    body = wire.QuoteAttest(**fields).marshal()
    return body, node.sign_anything(body)


def software_cases() -> list[dict]:
    out = []
    ecc = lambda: SoftwareNode(NODE, key=fixed_ec(1), clock_ms=5000)  # noqa: E731
    for scheme_name, scheme in (("rsassa", wire.TPM_ALG_RSASSA), ("rsapss", wire.TPM_ALG_RSAPSS)):
        node = SoftwareNode(NODE, key=fixed_rsa(), rsa_scheme=scheme, clock_ms=5000)
        out.append(case(f"valid_{scheme_name}", f"a valid quote signed by an RSA-2048 {scheme_name} AK", node,
                        [step(q(node, nonce(1)), nonce(1))]))
        other = wire.TPM_ALG_RSAPSS if scheme == wire.TPM_ALG_RSASSA else wire.TPM_ALG_RSASSA
        body, sig = q(node, nonce(2))
        swapped = wire.RsaSignature(other, wire.TPM_ALG_SHA256, wire.parse_signature(sig).sig).marshal()
        out.append(case(f"rsa_{scheme_name}_scheme_swapped", "the signature claims the AK's other RSA scheme", node,
                        [step((body, swapped), nonce(2), passed=False, reason="fail_signature", checks=["signature"])]))
    node = ecc()
    out.append(case("valid_ecdsa", "a valid quote signed by the ECDSA P-256 AK", node, [step(q(node, nonce(1)), nonce(1))]))
    node = ecc()
    body, sig = q(node, nonce(1))
    s = wire.parse_signature(sig)
    flipped = wire.EcdsaSignature(s.hash_alg, s.r, s.s ^ 1).marshal()
    out.append(case("signature_flipped", "one bit of the ECDSA s value flipped", node,
                    [step((body, flipped), nonce(1), passed=False, reason="fail_signature", checks=["signature"])]))
    node = ecc()
    body, sig = q(node, nonce(1))
    out.append(case("body_bit_flipped", "one bit of the signed clockInfo.resetCount changed after signing", node,
                    [step((body[:-60] + bytes([body[-60] ^ 1]) + body[-59:], sig), nonce(1), passed=False,
                          reason="fail_signature", checks=["signature"])]))
    node = ecc()
    stranger = SoftwareNode(NODE, key=fixed_ec(2), clock_ms=5000)
    signer = wire.qualified_name(node.ak_public, wire.TPM_RH_ENDORSEMENT)
    out.append(case("foreign_key", "signed by another key, claiming the enrolled AK as qualifiedSigner", node,
                    [step(resigned(stranger, nonce(1), qualified_signer=signer), nonce(1), passed=False,
                          reason="fail_signature", checks=["signature"])]))
    node = ecc()
    out.append(case("signer_name_wrong", "signed by the AK, qualifiedSigner of another key", node,
                    [step(resigned(node, nonce(1), qualified_signer=wire.qualified_name(stranger.ak_public,
                                                                                          wire.TPM_RH_ENDORSEMENT)),
                          nonce(1), passed=False, reason="fail_signature", checks=["signer"])]))
    node = ecc()
    out.append(case("owner_hierarchy_signer", "the AK's qualified Name under the owner hierarchy", node,
                    [step(resigned(node, nonce(1), qualified_signer=wire.qualified_name(node.ak_public,
                                                                                          wire.TPM_RH_OWNER)),
                          nonce(1), passed=False, reason="fail", checks=["owner_hierarchy"])]))
    node = ecc()
    out.append(case("magic_wrong", "the AK signed bytes that are not TPM-generated (magic changed)", node,
                    [step(resigned(node, nonce(1), magic=0x12345678), nonce(1), passed=False,
                          reason="fail_signature", checks=["magic"])]))
    node = ecc()
    out.append(case("nonce_unknown", "a valid quote over a nonce the verifier never issued", node,
                    [step(q(node, nonce(9)), nonce(9), issue=False, passed=False, reason="fail_replay",
                          checks=["nonce_unknown"])]))
    node = ecc()
    first = q(node, nonce(1))
    out.append(case("replayed_quote", "the same valid quote verified twice", node,
                    [step(first, nonce(1)),
                     step(first, nonce(1), issue=False, verified_at_ms=1500, passed=False, reason="fail_replay",
                          checks=["nonce_replayed"])]))
    node = ecc()
    out.append(case("nonce_expired", "the answer arrives 1 ms past the nonce lifetime", node,
                    [step(q(node, nonce(1)), nonce(1), verified_at_ms=1000 + LIFETIME_MS + 1, passed=False,
                          reason="timeout", checks=["nonce_expired"])]))
    node = ecc()
    out.append(case("nonce_at_lifetime", "the answer arrives exactly at the nonce lifetime: still fresh", node,
                    [step(q(node, nonce(1)), nonce(1), verified_at_ms=1000 + LIFETIME_MS)]))
    node = ecc()
    node.extend(0, hashlib.sha256(b"implant").digest())
    out.append(case("pcr_digest_wrong", "a tampered node's honest quote: PCR 0 extended by an implant", node,
                    [step(q(node, nonce(1)), nonce(1), passed=False, reason="fail_pcr", checks=["pcr_digest"])]))
    node = ecc()
    out.append(case("pcr_selection_wrong", "PCR 0 left out of the selection", node,
                    [step(resigned(node, nonce(1), pcr_select=(wire.PcrSelection(wire.TPM_ALG_SHA256, (1, 2, 7)),)),
                          nonce(1), passed=False, reason="fail_pcr", checks=["pcr_selection"])]))
    node = ecc()
    c = node.clock
    out.append(case("clock_unsafe", "clockInfo.safe = NO", node,
                    [step(resigned(node, nonce(1), clock=wire.ClockInfo(c.clock_ms, 0, 0, False)), nonce(1),
                          passed=False, reason="fail", checks=["clock_unsafe"])]))
    node = ecc()
    body, sig = q(node, nonce(1))
    out.append(case("truncated", "the last byte of TPMS_ATTEST missing", node,
                    [step((body[:-1], sig), nonce(1), passed=False, reason="fail_malformed", checks=["truncated"])]))
    out.append(case("trailing_byte", "one byte after the TPMT_SIGNATURE", node,
                    [step((body, sig + b"\x00"), nonce(1), passed=False, reason="fail_malformed",
                          checks=["oversized"])]))
    wrong_type = body[:4] + struct.pack(">H", 0x8017) + body[6:]
    out.append(case("wrong_type", "TPM_ST_ATTEST_CERTIFY instead of a quote", node,
                    [step((wrong_type, sig), nonce(1), passed=False, reason="fail_malformed", checks=["type"])]))
    huge = body[:6] + struct.pack(">H", 0xFFFF) + body[8:]
    out.append(case("name_size_huge", "qualifiedSigner.size = 65535", node,
                    [step((huge, sig), nonce(1), passed=False, reason="fail_malformed", checks=["oversized"])]))
    out.append(case("sig_alg_unknown", "TPMT_SIGNATURE.sigAlg = TPM_ALG_HMAC", node,
                    [step((body, struct.pack(">H", 0x0005) + sig[2:]), nonce(1), passed=False,
                          reason="fail_malformed", checks=["malformed"])]))
    # --- state across steps (the holes of issue 17) ------------------------------------------------
    node = ecc()
    honest = q(node, nonce(1))
    s = wire.parse_signature(honest[1])
    out.append(case("nonce_burn_then_honest", "an unsigned frame with the live nonce, then the honest quote", node,
                    [step((honest[0], wire.EcdsaSignature(s.hash_alg, s.r ^ 1, s.s).marshal()), nonce(1),
                          passed=False, reason="fail_signature", checks=["signature"]),
                     step(honest, nonce(1), issue=False, verified_at_ms=1020)]))
    node = ecc()
    first = q(node, nonce(1))
    evil = resigned(node, nonce(2), clock=wire.ClockInfo(node.clock.clock_ms, 2**32 - 1, 0, True))
    out.append(case("reset_count_max_real_key", "after a valid quote, one signed by the real key with "
                    "resetCount 2^32 - 1; then an honest quote", node,
                    [step(first, nonce(1)),
                     step(evil, nonce(2), issued_at_ms=6000, verified_at_ms=6010, passed=False, reason="fail_replay",
                          checks=["reset_count_jump"]),
                     step(q(node, nonce(3)), nonce(3), issued_at_ms=7000, verified_at_ms=7010)]))
    node = ecc()
    first = q(node, nonce(1))
    evil = resigned(stranger, nonce(2), qualified_signer=signer,
                    clock=wire.ClockInfo(node.clock.clock_ms, 2**32 - 1, 0, True))
    out.append(case("reset_count_max_foreign_key", "resetCount 2^32 - 1 signed by a foreign key; then the honest "
                    "quote over the same nonce", node,
                    [step(first, nonce(1)),
                     # Every check is evaluated and listed (the counters too: the signer name is
                     # right), but an unauthenticated quote's reason is its signature.
                     step(evil, nonce(2), issued_at_ms=6000, verified_at_ms=6010, passed=False,
                          reason="fail_signature", checks=["reset_count_jump", "signature"]),
                     step(q(node, nonce(2)), nonce(2), issue=False, issued_at_ms=6000, verified_at_ms=6020)]))
    node = ecc()
    first = q(node, nonce(1))  # clock 5001 ms at verifier t = 1.010 s
    # Verified at 11.010 s: e = 10 + 2 s, 12 000 ms * 1.15 + 1 = 13 801 ms past 5001 ms.
    out.append(case("clock_jump_limit", "the clock at exactly the plausible limit, then 1 ms beyond it", node,
                    [step(first, nonce(1)),
                     step(resigned(node, nonce(2), clock=wire.ClockInfo(5001 + 13_801 + 1, 0, 0, True)), nonce(2),
                          issued_at_ms=11_000, verified_at_ms=11_010, passed=False, reason="fail_replay",
                          checks=["clock_jump"]),
                     step(resigned(node, nonce(3), clock=wire.ClockInfo(5001 + 13_801, 0, 0, True)), nonce(3),
                          issued_at_ms=11_000, verified_at_ms=11_010)]))
    node = ecc()
    first = q(node, nonce(1))
    out.append(case("clock_rollback", "a valid quote, then one whose clock is 1 ms earlier", node,
                    [step(first, nonce(1)),
                     step(resigned(node, nonce(2), clock=wire.ClockInfo(5000, 0, 0, True)), nonce(2),
                          issued_at_ms=2000, verified_at_ms=2010, passed=False, reason="fail_replay",
                          checks=["clock_rollback"])]))
    node = ecc()
    first = q(node, nonce(1))
    node.reboot()
    out.append(case("reboot", "a valid quote, then one after a TPM Reset (resetCount + 1, clock from 0)", node,
                    [step(first, nonce(1)), step(q(node, nonce(2)), nonce(2), issued_at_ms=9000, verified_at_ms=9010)]))
    return out


def tpm_cases() -> list[dict]:
    from safetwin.trust.swtpm import Swtpm
    from safetwin.trust.tpm_node import TpmNode

    out = []
    with Swtpm() as t:
        for ak in ("ecc", "rsassa"):
            with TpmNode(NODE, tcti_config=t.tcti_config, ak=ak, ak_parent="ek", ek="rsa",
                         measure_boot=(ak == "ecc")) as node:
                first = q(node, nonce(1))
                second = q(node, nonce(2))
                # The replay comes before the second quote: its clock equals the reference (not a
                # rollback), so the nonce is the one check that fails.
                out.append(case(f"tpm_ek_child_{ak}", f"swtpm quotes from a {ak} AK child of the RSA EK: the "
                                "first, the first replayed, a second", node,
                                [step(first, nonce(1)),
                                 step(first, nonce(1), issue=False, verified_at_ms=1050, passed=False,
                                      reason="fail_replay", checks=["nonce_replayed"]),
                                 step(second, nonce(2), issued_at_ms=1100, verified_at_ms=1110)],
                                ek_public=node.ek_public))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tpm", action="store_true", help="add real swtpm quotes (needs swtpm, tpm2-pytss)")
    args = parser.parse_args(argv)
    cases = software_cases() + (tpm_cases() if args.tpm else [])
    args.out.mkdir(parents=True, exist_ok=True)
    for c in cases:
        (args.out / f"{c['case']}.json").write_text(json.dumps(c, indent=1) + "\n")
    print(f"{len(cases)} cases written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
