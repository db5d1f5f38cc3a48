#!/usr/bin/env bash
# The Python tests on the oldest and the newest Python the package supports that this machine has
# (pyproject requires-python >= 3.9; 3.9 and 3.12 are pyenv builds here, /root/.pyenv; 3.13 is there
# too, but the test extras do not install on it: rtamt, the monitor tests' oracle, requires < 3.13),
# each in a fresh venv built without isolation (the core's compiles are ccache hits of the test
# command's; the module and the Cython codec are compiled for that Python). .ci/run runs it after
# ./run_tests.sh, with the selection below; OTHER_PYTHON_TESTS=all runs the whole suite instead.
# PYTHON_OLDEST / PYTHON_NEWEST name the interpreters; one that is not found fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$PWD/build/ccache}" CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_GENERATOR=Ninja
# The selection: what differs between Pythons, not the numerics (the same core, compiled once):
#   test_imports           every module imports (syntax, typing, tomllib/tomli, each dependency)
#   test_version           the version from the installed metadata (importlib.metadata differs)
#   test_errors            the exception classes the module registers, their bases
#   test_cellfile, test_hil_scenario_files, test_campaign_regime
#                          the TOML readers (tomli below 3.11), cantools 40.7 on 3.9
#   test_can_codec, test_link_layout
#                          the Cython codec compiled for that Python, against cantools; the
#                          generated layout and the decoder's range checks
#   test_cli_errors        argparse's messages and exit codes (they changed across 3.9-3.12)
#   test_cycle, test_cbf   the guarded cycle through the module, with a Python control law
#   test_cli_demo          the whole demo as the CLI runs it (numpy, the pack, the trust layer)
SELECTION=(tests/test_imports.py tests/test_version.py tests/test_errors.py tests/test_cellfile.py
           tests/test_hil_scenario_files.py tests/test_campaign_regime.py tests/test_can_codec.py tests/test_link_layout.py
           tests/test_cli_errors.py tests/test_cycle.py tests/test_cbf.py tests/test_cli_demo.py)
if [ "${OTHER_PYTHON_TESTS:-selection}" = all ]; then SELECTION=(tests); fi
find_python() {  # a runnable pythonX.Y on PATH, else pyenv's build of it
  local v=$1 c
  for c in "python$v" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
    if "$c" -c "" 2>/dev/null; then command -v "$c"; return 0; fi
  done
  echo "python$v not found (pyenv install $v, or set PYTHON_OLDEST/PYTHON_NEWEST)" >&2
  return 1
}
for py in "${PYTHON_OLDEST:-$(find_python 3.9)}" "${PYTHON_NEWEST:-$(find_python 3.12)}"; do
  tag=$("$py" -c "import sys; print(f'py{sys.version_info[0]}{sys.version_info[1]}')")
  echo "== Python tests on $("$py" --version) ($py): ${SELECTION[*]}"
  t0=$SECONDS
  rm -rf ".ci-venv-$tag"
  "$py" -m venv ".ci-venv-$tag"
  mapfile -t requires < <(".ci-venv-$tag/bin/python" tools/build_requires.py)
  ".ci-venv-$tag/bin/python" -m pip install -q "${requires[@]}"
  ".ci-venv-$tag/bin/python" -m pip install -q --no-build-isolation ".[test]"
  t1=$SECONDS
  ".ci-venv-$tag/bin/python" -m pytest "${SELECTION[@]}" -q -p no:cacheprovider -n auto --dist loadfile
  echo "== Python tests on $tag took $((SECONDS - t0)) s (install $((t1 - t0)) s, pytest $((SECONDS - t1)) s)"
done
