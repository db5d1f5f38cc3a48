"""The firmware's quote verifier (firmware_sim/src/quote_verifier.hpp) as a Python object: the
``quote_verify`` command it ships with, driven over a pipe one line per call. Used by the
agreement tests against :class:`safetwin.trust.attestation.Verifier` and by
``benchmarks/bench_quote_verify.py``; the HIL firmware links the same C++ code."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple


def find_quote_verify() -> Path:
    """$SAFETWIN_QUOTE_VERIFY, the executable shipped in the wheel, or a source checkout's build."""
    env = os.environ.get("SAFETWIN_QUOTE_VERIFY")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates.append(here / "bin" / "quote_verify")
    candidates.append(here.parents[2] / "build" / "cpp" / "firmware_sim" / "quote_verify")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("quote_verify")
    if found:
        return Path(found)
    raise FileNotFoundError("quote_verify: not found (set SAFETWIN_QUOTE_VERIFY, or build it: "
                            "cmake --build build/cpp --target quote_verify); looked in "
                            + ", ".join(str(c) for c in candidates))


def _hex(data: bytes) -> str:
    return bytes(data).hex() or "-"  # the command's word for no bytes


class FirmwareVerdict(NamedTuple):
    check: str  # the deciding check (quote_verifier.hpp QuoteCheck), "ok" when it passed
    reason: str  # the trust::Attestation contract name: pass, fail, fail_signature, ...
    clock_ms: int


class FirmwareQuoteVerifier:
    """One ``quote_verify`` process; ``close()`` (or ``with``) ends it."""

    def __init__(self, executable: Path | None = None) -> None:
        self._proc = subprocess.Popen([str(executable or find_quote_verify())], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)

    def _call(self, line: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        out = self._proc.stdout.readline()
        if not out:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise ValueError(err.strip() or "quote_verify ended")
        return out.strip()

    def enroll(self, node: int, ak_public: bytes, golden_pcrs: Mapping[int, bytes],
               firmware_version: int | None = None, parent_qualified_name: bytes | None = None) -> None:
        """``parent_qualified_name``: the AK is a child of that parent (an EK's QN,
        ``tpm_wire.qualified_name(ek_public, TPM_RH_ENDORSEMENT)``, for a ``tpm2_createak`` AK);
        otherwise a primary key of the endorsement hierarchy."""
        mask = sum(1 << i for i in golden_pcrs)
        values = b"".join(golden_pcrs[i] for i in sorted(golden_pcrs))
        extra = f" {firmware_version}" if firmware_version is not None else ""
        if parent_qualified_name is not None:
            self._call(f"enroll_child {node} {ak_public.hex()} {mask} {values.hex()} "
                       f"{bytes(parent_qualified_name).hex()}{extra}")
        else:
            self._call(f"enroll {node} {ak_public.hex()} {mask} {values.hex()}{extra}")

    def expect_nonce(self, node: int, nonce: bytes, now_ms: int) -> None:
        self._call(f"nonce {node} {nonce.hex()} {now_ms}")

    def reenroll(self, node: int) -> None:
        self._call(f"reenroll {node}")

    def verify(self, node: int, attest: bytes, signature: bytes, now_ms: int) -> FirmwareVerdict:
        check, reason, clock = self._call(f"verify {node} {_hex(attest)} {_hex(signature)} {now_ms}").split()
        return FirmwareVerdict(check, reason, int(clock))

    def bench(self, node: int, nonce: bytes, attest: bytes, signature: bytes, count: int) -> tuple[float, ...]:
        """``count`` verifies of one passing quote timed in C++: median, worst and mean ns of the
        wall clock, then the same of the thread's CPU time."""
        words = self._call(f"bench {node} {nonce.hex()} {attest.hex()} {signature.hex()} {count}").split()
        return tuple(float(w) for w in words)

    # --- the round on the link (attest_isotp.hpp) ------------------------------------------------
    def seed(self, seed: int) -> None:
        """Nonces from the CTR-DRBG seeded with ``seed`` (lockstep) instead of the OS."""
        self._call(f"seed {seed}")

    def challenge(self, node: int, now_ms: int) -> bytes:
        """A fresh nonce for ``node``; its receiver takes an answer until now_ms + the lifetime."""
        return bytes.fromhex(self._call(f"challenge {node} {now_ms}"))

    def frame(self, node: int, data: bytes, now_ms: int) -> tuple[str, bytes | None, FirmwareVerdict | None]:
        """One CAN frame of ``node``'s answer: (event, flow-control frame to send or None,
        verdict once the answer is complete or None)."""
        words = self._call(f"frame {node} {_hex(data)} {now_ms}").split()
        event = words[0]
        if event in ("flow_control", "overflow"):
            return event, bytes.fromhex(words[1]), None
        if event == "complete":
            return event, None, FirmwareVerdict(words[1], words[2], int(words[3]))
        return event, None, None

    def expire(self, node: int, now_ms: int) -> str:
        """"timeout" once when ``node``'s round passed its deadline unanswered, else open/closed."""
        return self._call(f"expire {node} {now_ms}")

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()
        for f in (self._proc.stdout, self._proc.stderr):
            if f is not None:
                f.close()

    def __enter__(self) -> FirmwareQuoteVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
