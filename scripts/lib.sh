# Shared by scripts/run.sh and scripts/run-scaled.sh (sourced, not run).

pids=()  # every server a script starts; stop_all stops them

# stop_all: stop every server in $pids, then run the script's own on_stop if it has one.
stop_all() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if declare -F on_stop >/dev/null; then on_stop; fi
}

# wait_for URL NAME LOG [SECONDS]: poll until URL answers, or show the end of LOG and fail.
wait_for() {
  local url=$1 name=$2 log=$3 seconds=${4:-120}
  for _ in $(seq 1 $((seconds * 2))); do
    if curl -sf -o /dev/null "$url"; then return 0; fi
    sleep 0.5
  done
  echo "$name did not start within $seconds s; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  return 1
}
