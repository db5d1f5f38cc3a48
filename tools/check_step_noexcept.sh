#!/usr/bin/env bash
# Compiles the core's step-path units with -fno-exceptions -fno-rtti (cmake/StepNoexceptCheck.cmake)
# in its own build directory: no tests, no link, only that object library.
# Usage: tools/check_step_noexcept.sh [build dir, default build/noexcept]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/noexcept}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -DSAFETWIN_PYTHON=OFF -DSAFETWIN_TESTS=OFF -DSAFETWIN_BENCH=OFF \
  -DSAFETWIN_STEP_NOEXCEPT_CHECK=ON -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target safetwin_step_noexcept_check
echo "step-path units compile with -fno-exceptions -fno-rtti"
