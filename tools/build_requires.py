"""Prints pyproject.toml's [build-system] requires, one a line, and the tools an sdist dependency
needs to build (setuptools, wheel; tpm2-pytss's, below): what `pip install --no-build-isolation` expects to find in the
environment. run_tests.sh and .ci/run install them first. Runs on every supported Python (3.9+)."""
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11: the TOML reader pip itself carries
    from pip._vendor import tomli as tomllib

with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as f:
    # tpm2-pytss (extra tpm) is an sdist wherever pip's cache has no wheel for that Python (3.9 and
    # 3.12 here): without isolation its build needs pkgconfig, pycparser, cffi and setuptools_scm.
    print("\n".join([*tomllib.load(f)["build-system"]["requires"], "setuptools", "wheel",
                     "pkgconfig", "pycparser", "cffi", "setuptools_scm[toml]"]))
