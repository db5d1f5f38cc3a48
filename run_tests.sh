#!/usr/bin/env bash
# The one command that runs every test of safetwin, C++ and Python, on a fresh Debian machine:
# it installs what the tests need (Debian packages when missing, the package with its test extras),
# builds and tests the C++ core with no Python, builds the C++ consumer example against the
# installed core, lints the Python code, then runs pytest. Usage: ./run_tests.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
start_s=$SECONDS
phase() { echo "== [$((SECONDS - start_s)) s] $*"; }

# --- Debian packages the tests use (doctest for the C++ tests, Eigen for the C++-only build,
# swtpm + TSS for the real-TPM attestation tests, ccache and Ninja for the builds, OpenSSL libcrypto
# for the firmware's quote verifier). Installed only
# when missing.
DEBS=(doctest-dev libeigen3-dev swtpm swtpm-tools libtss2-dev ccache ninja-build libssl-dev)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  phase "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Build speed. Every compile of this script (C++ build, examples, the wheel pip builds) goes
# through one ccache kept in build/ccache between runs. Paths are hashed relative to the checkout,
# so the wheel's compile of the core (same flags, same system Eigen) is a cache hit of the C++
# build's: the core is compiled once per run, and a re-run compiles only what changed. Ninja runs
# one job per core. Set CCACHE_DIR to keep the cache elsewhere, CCACHE_DISABLE=1 to compile everything.
# ccache hashes the compiler's name: the C++ build uses the compiler that scikit-build-core gives
# the wheel build (Python's sysconfig CC/CXX, e.g. gcc/g++), so that the two share their hits.
sysconfig_var() { "$PYTHON" -c "import sysconfig; print((sysconfig.get_config_var('$1') or '$2').split()[0])"; }
export CC=${CC:-$(sysconfig_var CC cc)} CXX=${CXX:-$(sysconfig_var CXX c++)}
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
export CMAKE_GENERATOR=Ninja
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
ccache --zero-stats >/dev/null

# Configures a build directory; one left by another generator (an older run_tests.sh used Make) is
# configured afresh, which ccache makes cheap.
configure() {
  local dir=$1; shift
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q "^CMAKE_GENERATOR:INTERNAL=$CMAKE_GENERATOR\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -B "$dir" "$@" >/dev/null
}

# --- The C++ core alone: build, unit tests (ctest), install, and a consumer project against it.
phase "C++ core: build and ctest"
configure build/cpp -S . -DSAFETWIN_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release -DSAFETWIN_STEP_NOEXCEPT_CHECK=ON
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure
phase "C++ examples against the installed core"
cmake --install build/cpp --prefix build/install >/dev/null
for dir in examples/*/; do
  [ -f "$dir/CMakeLists.txt" ] || continue
  name=$(basename "$dir")
  configure "build/examples/$name" -S "$dir" -DCMAKE_PREFIX_PATH="$PWD/build/install"
  cmake --build "build/examples/$name"
  "./build/examples/$name/$name"
done

# --- The Python package with its test extras (the wheel's compile of the core is ccache's), lint, pytest.
phase "Python package (pip install \".[test]\")"
"$PYTHON" -m pip install -q ".[test]"
echo "ccache: $(ccache --print-stats | awk -F'\t' '$1 ~ /^(direct|preprocessed)_cache_hit$/ {h += $2} $1 == "cache_miss" {m = $2} END {print h + 0 " compiles were cache hits, " m + 0 " compiled"}')"
phase "ruff check"
"$PYTHON" -m ruff check .
phase "pytest"
"$PYTHON" -m pytest tests "$@"
phase "done"
