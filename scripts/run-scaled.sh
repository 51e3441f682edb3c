#!/usr/bin/env bash
# Start the assistant as a trust would run it: HAProxy on one port in front of
# N Rasa servers and M action servers, all sharing PostgreSQL (tracker store and
# records) and a Redis lock store, plus the chat page pointed at HAProxy.
# Ctrl-C stops everything. `make run-scaled` calls this.
#
# Rasa 3.6's open-source Redis lock store takes its lock by reading and then
# writing, not atomically, so two servers could both think they hold one
# conversation's lock. HAProxy therefore sends every message of a conversation
# to the same Rasa server (a hash of the "sender" field of the REST body) while
# that server is up; the lock store orders messages within a server and covers
# the moment a conversation moves to another server after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077

RASA_SERVERS=${RASA_SERVERS:-2}
ACTION_SERVERS=${ACTION_SERVERS:-2}
LB_PORT=${LB_PORT:-5005}               # what the page and any REST client talk to
ACTIONS_LB_PORT=${ACTIONS_LB_PORT:-5054}
RASA_BASE_PORT=${RASA_BASE_PORT:-5100}
ACTIONS_BASE_PORT=${ACTIONS_BASE_PORT:-5200}
WEB_PORT=${WEB_PORT:-8080}
STATS_PORT=${STATS_PORT:-8404}
BIND_HOST=${BIND_HOST:-127.0.0.1}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/assistant}
export RASA_TELEMETRY_ENABLED=false
# Largest request body a Rasa server accepts (Sanic's default is 100 MB); HAProxy refuses larger too.
REQUEST_MAX_SIZE=${REQUEST_MAX_SIZE:-16384}
# The shared secret every Rasa server sends to the action servers (see scripts/run.sh).
if [ -z "${ACTION_SERVER_TOKEN:-}" ]; then
  ACTION_SERVER_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export ACTION_SERVER_TOKEN
export SQLALCHEMY_SILENCE_UBER_WARNING=1
CORS_ORIGINS=${CORS_ORIGINS:-"http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT"}
RUN_DIR=${RUN_DIR:-var/scaled}
PY=.venv/bin/python
RASA=.venv/bin/rasa

mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR"/*.pid "$RUN_DIR"/*.log "$RUN_DIR/ready"
chmod 700 var "$RUN_DIR"

command -v haproxy >/dev/null || { echo "haproxy is not installed: run 'make haproxy' (make run-scaled does)" >&2; exit 1; }
$PY -m bot.serving.scaled check-services --redis "$REDIS_HOST:$REDIS_PORT"
# One key for every server, so a conversation keeps its pseudonym whichever server stores it.
if [ -z "${SENDER_ID_KEY:-}" ]; then
  SENDER_ID_KEY=$($PY -c 'from bot import config; print(config.sender_id_key().decode())')
  export SENDER_ID_KEY
fi

$PY -m bot.serving.scaled endpoints --actions "http://127.0.0.1:$ACTIONS_LB_PORT/webhook" \
  --redis "$REDIS_HOST:$REDIS_PORT" > "$RUN_DIR/endpoints.yml"
$PY -m bot.serving.scaled haproxy --bind "$BIND_HOST" --port "$LB_PORT" --actions-port "$ACTIONS_LB_PORT" \
  --stats-port "$STATS_PORT" --run-dir "$RUN_DIR" --rasa "$RASA_SERVERS@$RASA_BASE_PORT" --actions "$ACTION_SERVERS@$ACTIONS_BASE_PORT" \
  > "$RUN_DIR/haproxy.cfg"
haproxy -c -q -f "$RUN_DIR/haproxy.cfg"

# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # wait_for, stop_all, pids
trap stop_all INT TERM EXIT

# supervise NAME CMD...: run CMD, restarting it when it dies (as a service manager would),
# with its current pid in $RUN_DIR/NAME.pid so a fault test or an operator can stop it by pid.
supervise() {
  local name=$1; shift
  (
    child=
    trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
    while true; do
      "$@" >> "$RUN_DIR/$name.log" 2>&1 &
      child=$!
      echo "$child" > "$RUN_DIR/$name.pid"
      wait "$child" || true
      echo "$(date -Is) $name exited; restarting" >> "$RUN_DIR/$name.log"
      sleep 1
    done
  ) &
  pids+=($!)
}

for i in $(seq 1 "$ACTION_SERVERS"); do
  supervise "actions-$i" env SANIC_HOST=127.0.0.1 $PY -m rasa_addons.action_server --actions actions \
    --port "$((ACTIONS_BASE_PORT + i))" --quiet
done
for i in $(seq 1 "$RASA_SERVERS"); do
  # shellcheck disable=SC2086
  supervise "rasa-$i" env SANIC_REQUEST_MAX_SIZE="$REQUEST_MAX_SIZE" $RASA run --model models/assistant.tar.gz --interface 127.0.0.1 \
    --port "$((RASA_BASE_PORT + i))" --endpoints "$RUN_DIR/endpoints.yml" --credentials credentials.yml \
    --cors $CORS_ORIGINS
done
haproxy -db -f "$RUN_DIR/haproxy.cfg" > "$RUN_DIR/haproxy.log" 2>&1 &
pids+=($!); echo $! > "$RUN_DIR/haproxy.pid"
if [ -f web/index.html ]; then
  $PY -m bot web --host "$BIND_HOST" --port "$WEB_PORT" --rasa "${RASA_URL:-http://localhost:$LB_PORT}" \
    > "$RUN_DIR/web.log" 2>&1 &
  pids+=($!); echo $! > "$RUN_DIR/web.pid"
fi

for i in $(seq 1 "$ACTION_SERVERS"); do
  wait_for "http://127.0.0.1:$((ACTIONS_BASE_PORT + i))/health" "action server $i" "$RUN_DIR/actions-$i.log" 180
done
for i in $(seq 1 "$RASA_SERVERS"); do
  wait_for "http://127.0.0.1:$((RASA_BASE_PORT + i))/" "Rasa server $i" "$RUN_DIR/rasa-$i.log" 180
done
wait_for "http://127.0.0.1:$LB_PORT/" "HAProxy" "$RUN_DIR/haproxy.log" 180
cat <<MSG

The assistant is ready: $RASA_SERVERS Rasa servers and $ACTION_SERVERS action servers behind HAProxy.
  Chat page:      http://localhost:$WEB_PORT/
  REST channel:   curl -s localhost:$LB_PORT/webhooks/rest/webhook -d '{"sender":"me","message":"relative started filming during setup"}'
  HAProxy stats:  http://localhost:$STATS_PORT/stats
  Database:       $($PY -c 'import os; from bot.records.store import safe_url; print(safe_url(os.environ["DATABASE_URL"]))')
  Lock store:     redis://$REDIS_HOST:$REDIS_PORT
  Logs and pids:  $RUN_DIR/
Press Ctrl-C to stop.
MSG
touch "$RUN_DIR/ready"
wait -n "$(cat "$RUN_DIR/haproxy.pid")" || true
echo "HAProxy stopped; see $RUN_DIR/haproxy.log" >&2
exit 1
