#!/usr/bin/env bash
# The one command that runs every test of safetwin, C++ and Python, on a fresh Debian machine:
# it installs what the tests need (Debian packages when missing, the package with its test extras),
# builds and tests the C++ core with no Python, builds the C++ consumer example against the
# installed core, then runs pytest. Usage: ./run_tests.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

# --- Debian packages the tests use (doctest for the C++ tests, Eigen for the C++-only build,
# swtpm + TSS for the real-TPM attestation tests). Installed only when missing.
DEBS=(doctest-dev libeigen3-dev swtpm swtpm-tools libtss2-dev)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- The C++ core alone: build, unit tests (ctest), install, and a consumer project against it.
echo "== C++ core: build and ctest"
cmake -S . -B build/cpp -DSAFETWIN_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cpp -j "$(nproc)"
ctest --test-dir build/cpp --output-on-failure
echo "== C++ examples against the installed core"
cmake --install build/cpp --prefix build/install >/dev/null
for dir in examples/*/; do
  [ -f "$dir/CMakeLists.txt" ] || continue
  name=$(basename "$dir")
  cmake -S "$dir" -B "build/examples/$name" -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
  cmake --build "build/examples/$name" -j "$(nproc)"
  "./build/examples/$name/$name"
done

# --- The Python package with its test extras, then pytest.
echo "== Python package and pytest"
"$PYTHON" -m pip install -q ".[test]"
"$PYTHON" -m pytest tests "$@"
