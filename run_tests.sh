#!/usr/bin/env bash
# The one command that runs every test of safetwin, C++ and Python, on a fresh Debian machine:
# it installs what the tests need (Debian packages when missing, the package with its test extras),
# builds and tests the C++ core with no Python, the same tests again under ASan + UBSan, runs the
# libFuzzer harnesses for a fixed number of inputs, builds the C++ consumer examples against the
# installed core, installs the package (its module compiled once, not again per run), lints the
# Python code, runs the atheris harnesses of the Python parsers, then pytest.
# Usage: ./run_tests.sh [extra pytest arguments] (e.g. -n 0: pytest serial, -k NAME)
# FUZZ_RUNS (default 100000) is the number of inputs of each fuzz harness (the two firmware harnesses,
# a whole firmware per input at 130-300 inputs/s, run a quarter of it: fuzz/run.sh); the harnesses
# run side by side, one per core (fuzz/side_by_side.sh).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
start_s=$SECONDS
phase() { echo "== [$((SECONDS - start_s)) s] $*"; }

# --- Debian packages the tests use (doctest for the C++ tests, Eigen for the C++-only build,
# swtpm + TSS + tpm2-tools for the real-TPM attestation tests, OpenSSL libcrypto for the firmware's
# quote verifier, toml++ for the C++ cell-file reader, ccache and Ninja for the builds, clang for the
# libFuzzer harnesses, clang-format for tools/check_format.sh). Installed only when missing.
DEBS=(doctest-dev libeigen3-dev swtpm swtpm-tools libtss2-dev tpm2-tools libssl-dev libtomlplusplus-dev ccache ninja-build clang clang-format)
FUZZ_RUNS=${FUZZ_RUNS:-100000}
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
# The same tests built with -fsanitize=address,undefined (build/sanitize): the first report fails.
# Opt-in (SAFETWIN_SANITIZERS=1): the instrumented build of every C++ test took about 17 min here (the
# machine shared with one test run), which with the fuzzing below would take CI past its 45 min budget.
if [ "${SAFETWIN_SANITIZERS:-0}" = 1 ]; then
  phase "C++ tests under ASan + UBSan (tools/run_sanitizers.sh)"
  tools/run_sanitizers.sh
fi
# libFuzzer harnesses (clang, ASan + UBSan) of the link's frame decoder, E2E check and codec, a
# fixed number of inputs each from fixed seeds (fuzz/README.md: long runs).
phase "libFuzzer harnesses, $FUZZ_RUNS inputs each (fuzz/run.sh)"
fuzz/run.sh "$FUZZ_RUNS"
phase "C++ examples against the installed core"
cmake --install build/cpp --prefix build/install >/dev/null
for dir in examples/*/; do
  [ -f "$dir/CMakeLists.txt" ] || continue
  name=$(basename "$dir")
  configure "build/examples/$name" -S "$dir" -DCMAKE_PREFIX_PATH="$PWD/build/install"
  cmake --build "build/examples/$name"
  "./build/examples/$name/$name"
done

# --- The Python package with its test extras, lint, fuzzing of the Python parsers, pytest.
# pip's isolated build makes a new temporary environment per run, with pybind11 and Eigen at new
# paths: every binding compile was a ccache miss and the module was compiled again on every run.
# Built without isolation (the build requirements of pyproject.toml installed into this environment
# first) the paths stay put and scikit-build-core's build directory (build/<wheel tag>) is reused:
# a re-run compiles only what changed.
phase "Python package (build requirements, then pip install --no-build-isolation \".[test]\")"
mapfile -t requires < <("$PYTHON" tools/build_requires.py)
"$PYTHON" -m pip install -q "${requires[@]}"
"$PYTHON" -m pip install -q --no-build-isolation ".[test]"
echo "ccache: $(ccache --print-stats | awk -F'\t' '$1 ~ /^(direct|preprocessed)_cache_hit$/ {h += $2} $1 == "cache_miss" {m = $2} END {print h + 0 " compiles were cache hits, " m + 0 " compiled"}')"
phase "ruff check"
"$PYTHON" -m ruff check .
# C/C++ format: tools/check_format.sh (exit 1 listing the files; tools/format_cpp.sh fixes them).
phase "clang-format check"; tools/check_format.sh
phase "atheris harnesses of the Python parsers, $FUZZ_RUNS inputs each (fuzz/run_python.sh)"
PYTHON="$PYTHON" fuzz/run_python.sh "$FUZZ_RUNS"
# pytest on every core (pytest-xdist), a test file per worker at a time (--dist loadfile): a module's
# fixtures (the DFN fits, the CI-sized campaigns) are built once, not once per worker. Measured here
# (2 cores, 1 195 tests): 402 s, against 471 s with the tests dealt one by one and about 700 s serial.
phase "pytest"
"$PYTHON" -m pytest tests -n auto --dist loadfile "$@"
phase "done"
