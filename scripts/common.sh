# Helpers shared by run.sh and test.sh.

# wait_for URL NAME LOG: poll until URL answers, or show the log and fail.
wait_for() {
  local url=$1 name=$2 log=$3
  for _ in $(seq 1 240); do
    if curl -sf -o /dev/null "$url"; then return 0; fi
    sleep 0.5
  done
  echo "$name did not start within 120 s; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  return 1
}

# endpoints_file ACTIONS_PORT: endpoints.yml, pointed at another action port if needed.
endpoints_file() {
  local port=$1
  if [ "$port" = "5055" ]; then echo endpoints.yml; return; fi
  local f
  f=$(mktemp --suffix=.yml)
  sed "s#127.0.0.1:5055#127.0.0.1:$port#" endpoints.yml > "$f"
  echo "$f"
}
