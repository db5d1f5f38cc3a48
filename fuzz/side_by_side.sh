# Sourced by fuzz/run.sh and fuzz/run_python.sh: runs the harnesses side by side, as many at a time
# as the machine has cores (FUZZ_JOBS to change it). Each harness is one single-threaded process
# with its own fixed seed, so its inputs do not depend on what runs beside it.
#
# run_side_by_side FN RESULTS HARNESS...: runs `FN HARNESS` in the background for each harness. FN
# runs one harness with its output in RESULTS/HARNESS.log and ends with `summarize` (below). The
# summaries are printed in the order given once all have finished; for each harness that failed, the
# end of its log and `reproduce_hint HARNESS` (a function of the calling script). Returns non-zero
# if any failed.
run_side_by_side() {
  local fn=$1 results=$2 jobs=${FUZZ_JOBS:-$(nproc)} running=0 h failed=()
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
  for h in "$@"; do
    cat "$results/$h.result" 2>/dev/null || echo "$h: no result"
    grep -q ": ok," "$results/$h.result" 2>/dev/null || failed+=("$h")
  done
  for h in "${failed[@]}"; do
    tail -40 "$results/$h.log"
    reproduce_hint "$h"
  done
  [ ${#failed[@]} -eq 0 ]
}

# summarize RESULTS HARNESS LABEL STATUS START: the harness's final libFuzzer statistics and its
# verdict (ok for exit status 0) with its wall time since START (date +%s.%N), in RESULTS/HARNESS.result.
summarize() {
  local results=$1 h=$2 label=$3 status=$4 start=$5 end
  end=$(date +%s.%N)
  {
    { grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$results/$h.log" || true; } | tr '\n' ' '
    awk -v h="$label" -v s="$start" -v e="$end" -v st="$status" \
      'BEGIN { printf "\n%s: %s, %.1f s wall\n", h, st == 0 ? "ok" : "FAILED", e - s }'
  } >"$results/$h.result"
  return "$status"
}
