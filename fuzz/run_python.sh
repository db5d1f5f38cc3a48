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
# One harness, its log and summary in $BUILD/results/<h>.{log,result} (fuzz/side_by_side.sh).
run_harness() {
  local h=$1 start status=0
  mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h"
  start=$(date +%s.%N)
  "$PYTHON" fuzz/python/fuzz_parsers.py "$h" -runs="$RUNS" -seed=1 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$h/" "$BUILD/corpus/$h" "$BUILD/seeds/$h" 2>"$BUILD/results/$h.log" || status=$?
  summarize "$BUILD/results" "$h" "python fuzz $h" "$status" "$start"
}
reproduce_hint() {
  echo "python fuzz $1 FAILED: reproduce with $PYTHON fuzz/python/fuzz_parsers.py $1 $BUILD/artifacts/$1/crash-*"
}

echo "== python fuzz: $RUNS inputs each"
source fuzz/side_by_side.sh
run_side_by_side run_harness "$BUILD/results" "${HARNESSES[@]}"
