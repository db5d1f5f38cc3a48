#!/usr/bin/env bash
# The Python tests on the oldest and the newest Python the package supports that this machine has
# (pyproject requires-python >= 3.9; 3.9 and 3.12 are pyenv builds here, /root/.pyenv; 3.13 is there
# too, but the test extras do not install on it: rtamt, the monitor tests' oracle, requires < 3.13),
# each in a fresh venv built without isolation. Run after ./run_tests.sh (it installs the Debian
# packages); about 10-15 min per Python on two idle cores. Not part of .ci/run (its time budget).
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$PWD/build/ccache}" CCACHE_BASEDIR="$PWD"
# module is compiled for that Python, the core's compiles are ccache hits of the runs above).
# PYTHON_OLDEST / PYTHON_NEWEST name the interpreters; one that is not found fails the run.
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
  echo "== Python tests on $("$py" --version) ($py)"
  t0=$SECONDS
  rm -rf ".ci-venv-$tag"
  "$py" -m venv ".ci-venv-$tag"
  mapfile -t requires < <(".ci-venv-$tag/bin/python" tools/build_requires.py)
  ".ci-venv-$tag/bin/python" -m pip install -q "${requires[@]}"
  ".ci-venv-$tag/bin/python" -m pip install -q --no-build-isolation ".[test]"
  ".ci-venv-$tag/bin/python" -m pytest tests -q -p no:cacheprovider
  echo "== Python tests on $tag took $((SECONDS - t0)) s"
done
