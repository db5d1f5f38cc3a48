"""One version source: pyproject.toml's [project] version is the wheel's, safetwin.__version__ and the
C++ package's (CMake's project() version, written to safetwinConfigVersion.cmake for find_package)."""
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import safetwin

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_package_reports_the_pyproject_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyproject_version())
    assert safetwin.__version__ == pyproject_version()
    assert version("safetwin") == pyproject_version()  # the installed wheel's metadata


def test_the_cmake_package_has_the_pyproject_version(tmp_path):
    # Configure only (no compile): the C++-only build, as a controller project would install it.
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(tmp_path), "-DSAFETWIN_PYTHON=OFF", "-DSAFETWIN_TESTS=OFF",
                    "-DSAFETWIN_BENCH=OFF", "-DSAFETWIN_CCACHE=OFF"], check=True, capture_output=True)
    config = (tmp_path / "safetwinConfigVersion.cmake").read_text()
    m = re.search(r'set\(PACKAGE_VERSION "([^"]+)"\)', config)
    assert m is not None, config[:500]
    assert m.group(1) == pyproject_version()
    cache = (tmp_path / "CMakeCache.txt").read_text()
    assert f"CMAKE_PROJECT_VERSION:STATIC={pyproject_version()}" in cache
