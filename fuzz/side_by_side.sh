# Sourced by fuzz/run.sh and fuzz/run_python.sh: runs the harnesses side by side, as many at a time
# as the machine has cores (FUZZ_JOBS to change it). Each harness is one single-threaded process
# with its own fixed seed, so its inputs do not depend on what runs beside it.
# run_side_by_side FN RESULTS HARNESS...: runs `FN HARNESS` in the background for each harness; FN
# writes a summary to RESULTS/HARNESS.result that contains ": ok," when the harness passed. Prints
# the summaries in the order given, sets FAILED_HARNESSES, and returns non-zero if any failed.
run_side_by_side() {
  local fn=$1 results=$2 jobs=${FUZZ_JOBS:-$(nproc)} running=0 h
  shift 2
  mkdir -p "$results"
  for h in "$@"; do rm -f "$results/$h.result"; done
  echo "== $# harnesses, $jobs at a time"
  for h in "$@"; do
    if [ "$running" -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
    "$fn" "$h" &
    running=$((running + 1))
  done
  wait || true
  FAILED_HARNESSES=()
  for h in "$@"; do
    cat "$results/$h.result" 2>/dev/null || echo "$h: no result"
    grep -q ": ok," "$results/$h.result" 2>/dev/null || FAILED_HARNESSES+=("$h")
  done
  [ ${#FAILED_HARNESSES[@]} -eq 0 ]
}
