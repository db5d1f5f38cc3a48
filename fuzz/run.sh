#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) in build/fuzz and runs each for a fixed
# number of inputs from a seed corpus of valid frames (make_seeds), so the run is bounded and the
# same length every time. Any crash, sanitizer report or failed property aborts with the input
# saved as build/fuzz/artifacts/<harness>/crash-*; exit status non-zero.
# Usage: fuzz/run.sh [runs per harness, default 100000] [harness ...]
# The two firmware harnesses build a whole firmware per input (and the attestation one runs its
# rounds' control cycles): at 130-230 inputs/s under ASan they run a quarter of the count
# (FUZZ_FIRMWARE_RUNS to set theirs), so the fixed-count run stays a few minutes on 2 cores; their
# long runs are fuzz/README.md's.
# Long runs (no fixed count, a growing corpus): fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100000}
shift || true
FIRMWARE_RUNS=${FUZZ_FIRMWARE_RUNS:-$(((RUNS + 3) / 4))}
HARNESSES=("$@")
# Every harness, one name each (fuzz_<name> in fuzz/CMakeLists.txt, seeds in build/fuzz/seeds/<name>):
# a new harness is one more name here.
ALL_HARNESSES=(firmware_attest firmware_frames e2e hil_codec quote attest_isotp cell_file)
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${ALL_HARNESSES[@]}")
BUILD=${FUZZ_BUILD_DIR:-build/fuzz}
CC=${CC_FUZZ:-clang}
CXX=${CXX_FUZZ:-clang++}
command -v "$CXX" >/dev/null || { echo "fuzz/run.sh: $CXX not found (apt-get install clang)"; exit 2; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S fuzz -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  "${launcher[@]}" >/dev/null
targets=(make_seeds)
for h in "${HARNESSES[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}"

# Seeds are rebuilt every run (they follow the DBC); the corpus a run grows stays in build/.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
for h in "${ALL_HARNESSES[@]}"; do mkdir -p "$SEEDS/$h"; done  # make_seeds fills those it knows; quote, attest_isotp: structured inputs seed themselves
"$BUILD/make_seeds" "$SEEDS"
cp src/safetwin/data/cells/*.toml "$SEEDS/cell_file/"  # the shipped cell files

# malloc_context_size=4: the allocation stacks ASan records are 4 frames deep instead of 30 (a
# report's allocation site keeps its caller's caller); recording them was a fifth of the frames
# harness's time, which allocates its firmware per input.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:malloc_context_size=4
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# One harness, its log and summary in $BUILD/results/<h>.{log,result} (fuzz/side_by_side.sh).
run_harness() {
  local h=$1 start status=0 runs=$RUNS
  case $h in firmware_*) runs=$FIRMWARE_RUNS ;; esac
  mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h"
  start=$(date +%s.%N)
  # -seed fixed: the same inputs every run; -max_len 640 covers 64 firmware frame records, 4096 the
  # largest shipped cell file (2.8 kB) with room to grow.
  local extra=(-max_len=640)
  [ "$h" = cell_file ] && extra=(-max_len=4096 -dict=fuzz/cell_file.dict)
  "$BUILD/fuzz_$h" -runs="$runs" -seed=1 "${extra[@]}" -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h/" \
    "$BUILD/corpus/$h" "$SEEDS/$h" 2>"$BUILD/results/$h.log" || status=$?
  summarize "$BUILD/results" "$h" "fuzz_$h" "$status" "$start"
}
reproduce_hint() { echo "fuzz_$1 FAILED: reproduce with $BUILD/fuzz_$1 $BUILD/artifacts/$1/crash-*"; }

# Side by side. The two firmware harnesses (a fresh firmware per input, about 130-300 inputs/s,
# by machine) take most of the time even at a quarter of the count: listed first, they start first and the fast ones fill
# the other core.
echo "== libFuzzer harnesses, $RUNS inputs each (the firmware harnesses $FIRMWARE_RUNS)"
source fuzz/side_by_side.sh
run_side_by_side run_harness "$BUILD/results" "${HARNESSES[@]}"
