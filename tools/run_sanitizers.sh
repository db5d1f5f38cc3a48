#!/usr/bin/env bash
# The C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own build directory
# (build/sanitize): every ctest entry (cpp/tests/test_*, the firmware's test_firmware) built with
# -fsanitize=address,undefined, and the first report of either sanitizer fails the run
# (-fno-sanitize-recover=all, halt_on_error=1). The benchmarks and the Python module are not built.
# Usage: tools/run_sanitizers.sh [test ...]   no argument: every test; with names (ctest entries such
# as test_c_api test_firmware): builds and runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${SANITIZE_BUILD_DIR:-build/sanitize}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# RelWithDebInfo: optimised as the tests normally run (-O2), with line numbers in the reports.
cmake -S . -B "$BUILD" -DSAFETWIN_PYTHON=OFF -DSAFETWIN_TESTS=ON -DSAFETWIN_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$BUILD" -j "$(nproc)" --target "$@"
  regex="^($(IFS='|'; echo "$*"))\$"
else
  cmake --build "$BUILD" -j "$(nproc)"
  regex=""
fi
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir "$BUILD" --output-on-failure ${regex:+-R "$regex"}
