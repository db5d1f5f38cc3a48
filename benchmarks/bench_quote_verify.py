"""One quote verify (TPMS_ATTEST + TPMT_SIGNATURE) for each AK kind a TPM signs with (ECDSA P-256,
RSA-2048 RSASSA-PKCS1-v1_5, RSA-2048 RSAPSS) by the firmware's C++ verifier
(firmware_sim/src/quote_verifier.cpp, OpenSSL libcrypto through EVP, timed in C++ around verify()
alone) and by the Python verifier (safetwin.trust.attestation.Verifier.verify), beside the anchor
of the Python side: one bare verify of the `cryptography` package on the same bytes and scheme.
Goal (issue 17): <= 100 us per verify, >= 10 000 verifies/s for the firmware's verifier.

Run: nice python benchmarks/bench_quote_verify.py [COUNT] [KIND ...]   (KIND: ecc rsassa rsapss;
needs the package installed, or a source build's build/cpp/firmware_sim/quote_verify)
"""
from __future__ import annotations

import statistics
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from safetwin.hil.quote_verify import FirmwareQuoteVerifier
from safetwin.trust import attestation as att
from safetwin.trust import tpm_wire as wire
from safetwin.trust.software_node import SoftwareNode

KINDS = ("ecc", "rsassa", "rsapss")


def make_node(kind: str) -> SoftwareNode:
    if kind == "ecc":
        return SoftwareNode("cell-monitor-a")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SoftwareNode("cell-monitor-a", key=key,
                        rsa_scheme=wire.TPM_ALG_RSASSA if kind == "rsassa" else wire.TPM_ALG_RSAPSS)


def anchor_verify(kind: str, node: SoftwareNode, data: bytes):
    """The bare `cryptography` verify of the node's scheme on data, as a closure."""
    private = node._key  # noqa: SLF001 - the benchmark's own node
    key = private.public_key()
    if kind == "ecc":
        sig = private.sign(data, ec.ECDSA(hashes.SHA256()))
        return lambda: key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    pad = padding.PKCS1v15() if kind == "rsassa" else padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    sig = private.sign(data, pad, hashes.SHA256())
    check = padding.PKCS1v15() if kind == "rsassa" else padding.PSS(padding.MGF1(hashes.SHA256()),
                                                                    padding.PSS.AUTO)
    return lambda: key.verify(sig, data, check, hashes.SHA256())


def stats(xs: list) -> tuple[float, float, float]:
    return statistics.median(xs), max(xs), statistics.fmean(xs)


def row(name: str, med: float, worst: float, mean: float) -> None:
    print(f"  {name:<42} median {med / 1e3:8.1f} us  worst {worst / 1e3:9.1f} us  "
          f"{1e9 / mean:8.0f} verifies/s (1 / mean)")


def bench(kind: str, count: int) -> bool:
    node = make_node(kind)
    enrollment = node.enrollment()
    now = [0.0]
    py = att.Verifier(nonce_lifetime_s=1e9, now_s=lambda: now[0])
    py.enroll(enrollment)

    # Python verifier: each verify on a fresh nonce (challenge and quote not timed).
    quotes, py_ns, py_cpu = [], [], []
    for _ in range(min(count, 5000)):
        q = node.quote(py.challenge(node.node_id))
        quotes.append(q)
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        v = py.verify(node.node_id, q)
        py_ns.append(time.perf_counter_ns() - t0)
        py_cpu.append(time.thread_time_ns() - c0)
        assert v.passed, v.detail
    # Anchor: the bare signature verify that bounds the Python verifier.
    verify = anchor_verify(kind, node, quotes[0].attest)
    anchor_ns, anchor_cpu = [], []
    for _ in range(len(quotes)):
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        verify()
        anchor_ns.append(time.perf_counter_ns() - t0)
        anchor_cpu.append(time.thread_time_ns() - c0)

    nonce = bytes(range(32))
    q = node.quote(nonce)
    with FirmwareQuoteVerifier() as fw:
        fw.enroll(0, node.ak_public, enrollment.golden_pcrs, enrollment.firmware_version)
        times = fw.bench(0, nonce, q.attest, q.signature, count)
        fw_wall, fw_cpu = times[:3], times[3:]

    print(f"{kind}: quote verify, {count} firmware / {len(quotes)} Python verifies, "
          f"{len(q.attest)} + {len(q.signature)} bytes")
    for label, fw_t, py_t, anchor in (("wall clock", fw_wall, stats(py_ns), stats(anchor_ns)),
                                      ("thread CPU time (what other processes cannot inflate)", fw_cpu,
                                       stats(py_cpu), stats(anchor_cpu))):
        print(label)
        row("firmware C++ (OpenSSL libcrypto)", *fw_t)
        row("Python Verifier.verify", *py_t)
        row(f"anchor: cryptography {kind} verify alone", *anchor)
        print(f"  ratio Python / firmware (medians): {py_t[0] / fw_t[0]:.2f}")
    goal = fw_cpu[0] <= 100e3 and 1e9 / fw_cpu[2] >= 10000
    print(f"{kind}: goal <= 100 us and >= 10 000/s (CPU time, median and mean): {'met' if goal else 'NOT met'}\n")
    return goal


def main(count: int = 20000, kinds: tuple[str, ...] = KINDS) -> None:
    for kind in kinds:
        if kind not in KINDS:
            raise SystemExit(f"KIND = {kind!r}: one of {', '.join(KINDS)}")
    met = {kind: bench(kind, count) for kind in kinds}
    print("goal met: " + ", ".join(f"{k} {'yes' if m else 'NO'}" for k, m in met.items()))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000, tuple(sys.argv[2:]) or KINDS)
