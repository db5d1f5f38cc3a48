"""Attestation and trust speed: quote + verify per second with the in-process software node and
with a software TPM (swtpm through tpm2-pytss), and the C++ trust update + noise scaling of one
PACK-96 cycle beside the PACK-96 estimator step it precedes (same run).

Goals (issue 6): in-process >= 10 000 quote+verify/s; swtpm <= 1 ms per quote; trust cycle for
PACK-96 <= 5 us.

Run: python benchmarks/bench_trust.py   (needs the package installed with the tpm extra, swtpm)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

from safetwin.trust import SoftwareNode, Verifier, attest_node  # noqa: E402


def per_call_us(f, calls: int, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        out.append((time.perf_counter() - t0) / calls * 1e6)
    return out


def quantile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def bench_software() -> dict:
    v = Verifier()
    node = SoftwareNode("cmu")
    v.enroll(node.enrollment())
    nonce_quote = []

    def quote_only():
        nonce_quote.append(node.quote(b"n" * 32))

    def round_trip():
        verdict = attest_node(v, node)
        assert verdict.passed

    return {"sw quote": per_call_us(quote_only, 500, 21), "sw quote+verify": per_call_us(round_trip, 500, 21)}


def bench_tpm() -> dict:
    from safetwin.trust.swtpm import Swtpm
    from safetwin.trust.tpm_node import TpmNode

    with Swtpm() as tpm, TpmNode("pack", tcti_config=tpm.tcti_config) as node:
        v = Verifier()
        v.enroll(node.enrollment())

        def quote_only():
            node.quote(b"n" * 32)

        def round_trip():
            assert attest_node(v, node).passed

        return {"swtpm quote": per_call_us(quote_only, 50, 21), "swtpm quote+verify": per_call_us(round_trip, 50, 21)}


def main() -> int:
    rows = bench_software()
    try:
        rows.update(bench_tpm())
    except Exception as exc:  # no swtpm on this machine: say so, keep the other figures
        print(f"swtpm backend not measured: {type(exc).__name__}: {exc}")
    print(f"{'attestation':<22}{'median us':>12}{'p99 us':>10}{'per second':>12}")
    for name, samples in rows.items():
        med = statistics.median(samples)
        print(f"{name:<22}{med:>12.1f}{quantile(samples, 0.99):>10.1f}{1e6 / med:>12.0f}")
    cpp = run_cpp_bench("bench_trust")
    print(f"\n{'C++ (ns per call)':<26}{'median':>10}{'p99':>10}{'max':>10}")
    for name, (med, p99, mx) in cpp.items():
        print(f"{name:<26}{med:>10.0f}{p99:>10.0f}{mx:>10.0f}")
    trust, est = cpp["pack96_trust_cycle"][0], cpp["pack96_estimator_step"][0]
    print(f"\nPACK-96 trust cycle: {trust / 1000:.2f} us (goal <= 5 us), "
          f"{100 * trust / est:.1f} % of the PACK-96 estimator step ({est / 1000:.1f} us)")
    sw = statistics.median(rows["sw quote+verify"])
    print(f"in-process quote+verify: {1e6 / sw:.0f} per second (goal >= 10 000)")
    if "swtpm quote" in rows:
        print(f"swtpm quote: {statistics.median(rows['swtpm quote']) / 1000:.2f} ms (goal <= 1 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
