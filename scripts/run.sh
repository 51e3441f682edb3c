#!/usr/bin/env bash
# Start everything needed to chat on localhost: the action server, the Rasa
# server (REST and socket.io) and the chat page. Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."

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

RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WEB_PORT=${WEB_PORT:-8080}
CORS_ORIGINS=${CORS_ORIGINS:-"http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT"}

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

mkdir -p var
.venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" --quiet > var/actions.log 2>&1 &
pids+=($!)
# shellcheck disable=SC2086
.venv/bin/rasa run --model models/assistant.tar.gz --port "$RASA_PORT" \
  --endpoints "$(endpoints_file "$ACTIONS_PORT")" --credentials credentials.yml --cors $CORS_ORIGINS > var/rasa.log 2>&1 &
pids+=($!)
if [ -f web/index.html ]; then
  .venv/bin/python -m bot web --port "$WEB_PORT" --rasa "${RASA_URL:-http://localhost:$RASA_PORT}" > var/web.log 2>&1 &
  pids+=($!)
fi

wait_for "http://127.0.0.1:$ACTIONS_PORT/health" "action server" var/actions.log
wait_for "http://127.0.0.1:$RASA_PORT/" "Rasa server" var/rasa.log
cat <<MSG

The assistant is ready.
  Chat page:      http://localhost:$WEB_PORT/
  REST channel:   curl -s localhost:$RASA_PORT/webhooks/rest/webhook -d '{"sender":"me","message":"relative started filming during setup"}'
  Command line:   .venv/bin/python -m bot ask "relative started filming during setup"
  Logs:           var/rasa.log, var/actions.log, var/web.log
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "a server stopped unexpectedly; see the logs in var/" >&2
exit 1
