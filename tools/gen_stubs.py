"""Writes src/safetwin/_core.pyi, the type stubs of the compiled module, with pybind11-stubgen.

Run after changing a binding: python tools/gen_stubs.py (the package must be installed).
tests/test_stubs.py regenerates them and fails when the committed file differs.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "safetwin" / "_core.pyi"


def generate() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "safetwin._core", "-o", tmp,
                        "--numpy-array-use-type-var"], check=True, capture_output=True, text=True)
        return (Path(tmp) / "safetwin" / "_core.pyi").read_text()


if __name__ == "__main__":
    TARGET.write_text(generate())
    print(f"wrote {TARGET}")
