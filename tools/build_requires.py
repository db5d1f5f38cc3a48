"""Prints pyproject.toml's [build-system] requires, one a line, and the tools an sdist dependency
needs to build (setuptools, wheel): what `pip install --no-build-isolation` expects to find in the
environment. run_tests.sh and .ci/run install them first. Runs on every supported Python (3.9+)."""
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11: the TOML reader pip itself carries
    from pip._vendor import tomli as tomllib

with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as f:
    print("\n".join([*tomllib.load(f)["build-system"]["requires"], "setuptools", "wheel"]))
