#!/usr/bin/env bash
# Atheris harnesses of the Python parsers (fuzz/python/fuzz_parsers.py), each for a fixed number
# of inputs from seeds of the shipped files. Needs the safetwin package installed and atheris
# (pip install atheris). Usage: fuzz/run_python.sh [runs, default 100000] [harness ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
RUNS=${1:-100000}
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(scenario campaign quote cell)
BUILD=${FUZZ_BUILD_DIR:-build/fuzz}/python
"$PYTHON" -c "import atheris" 2>/dev/null || { echo "fuzz/run_python.sh: atheris missing (pip install atheris)"; exit 2; }
rm -rf "$BUILD/seeds"
"$PYTHON" fuzz/python/make_seeds.py "$BUILD/seeds"
# One harness: its log in $BUILD/<h>.log, its summary in $BUILD/results/<h>.result.
run_harness() {
  local h=$1 start end status=0
  mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h"
  start=$(date +%s.%N)
  "$PYTHON" fuzz/python/fuzz_parsers.py "$h" -runs="$RUNS" -seed=1 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$h/" "$BUILD/corpus/$h" "$BUILD/seeds/$h" 2>"$BUILD/$h.log" || status=$?
  end=$(date +%s.%N)
  {
    { grep -E "stat::number_of_executed_units" "$BUILD/$h.log" || true; } | tr '\n' ' '
    awk -v h="$h" -v s="$start" -v e="$end" -v st="$status" \
      'BEGIN { printf "\npython fuzz %s: %s, %.1f s wall\n", h, st == 0 ? "ok" : "FAILED", e - s }'
  } >"$BUILD/results/$h.result"
  return "$status"
}

echo "== python fuzz: $RUNS inputs each"
source fuzz/side_by_side.sh
run_side_by_side run_harness "$BUILD/results" "${HARNESSES[@]}" || {
  for h in "${FAILED_HARNESSES[@]}"; do
    tail -40 "$BUILD/$h.log"
    echo "python fuzz $h FAILED: reproduce with $PYTHON fuzz/python/fuzz_parsers.py $h $BUILD/artifacts/$h/crash-*"
  done
  exit 1
}
