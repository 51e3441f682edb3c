#!/usr/bin/env bash
# Start everything needed to chat on localhost: the action server, the Rasa
# server (REST channel) and the chat page. Ctrl-C stops all of them.
#
# Everything listens on 127.0.0.1 unless BIND_HOST says otherwise (the Rasa
# server and the page, e.g. for a department's reverse proxy on another host);
# the action server only ever talks to the Rasa server, so it stays on
# 127.0.0.1 and refuses calls without ACTION_SERVER_TOKEN. Files in var/ are
# readable by their owner only; logs rotate (bot/serving/logfiles.py).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
# Nothing is sent off site: Rasa's telemetry (and its Sentry error reports,
# which follow the same switch) are off in every start path.
export RASA_TELEMETRY_ENABLED=false
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONUNBUFFERED=1  # log lines reach the files as they happen

# shellcheck source=scripts/lib.sh
source scripts/lib.sh  # wait_for, stop_all, pids

# endpoints_file ACTIONS_PORT: endpoints.yml, pointed at another action port if
# needed, or at the actions inside the Rasa server (ACTIONS=in-process).
endpoints_file() {
  local port=$1
  if [ "$ACTIONS" = server ] && [ "$port" = "5055" ]; then echo endpoints.yml; return; fi
  local f target="http://127.0.0.1:$port/webhook"
  f=$(mktemp --suffix=.yml)
  if [ "$ACTIONS" = in-process ]; then target=inprocess:actions; fi
  sed "s#http://127.0.0.1:5055/webhook#$target#" endpoints.yml > "$f"
  echo "$f"
}

BIND_HOST=${BIND_HOST:-127.0.0.1}
VAR_DIR=${ASSISTANT_VAR_DIR:-var}
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
# in-process (default): the custom actions run inside the Rasa server
# (rasa_addons/in_process_actions.py): one process, no HTTP hop. server: a
# separate action server on ACTIONS_PORT, as several Rasa servers share it.
ACTIONS=${ACTIONS:-in-process}
case "$ACTIONS" in in-process|server) ;; *) echo "ACTIONS must be in-process or server, not '$ACTIONS'" >&2; exit 2 ;; esac
WEB_PORT=${WEB_PORT:-8080}
CORS_ORIGINS=${CORS_ORIGINS:-"http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT"}
# Largest request body the Rasa server accepts (Sanic's default is 100 MB).
REQUEST_MAX_SIZE=${REQUEST_MAX_SIZE:-16384}
# The shared secret the Rasa server sends to the action server (endpoints.yml).
if [ -z "${ACTION_SERVER_TOKEN:-}" ]; then
  ACTION_SERVER_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export ACTION_SERVER_TOKEN
# Where this script checks that a server answers.
case "$BIND_HOST" in 0.0.0.0|::|"") PROBE_HOST=127.0.0.1 ;; *) PROBE_HOST=$BIND_HOST ;; esac
case "$PROBE_HOST" in *:*) PROBE_HOST="[$PROBE_HOST]" ;; esac

ENDPOINTS=$(endpoints_file "$ACTIONS_PORT")
on_stop() {
  if [ "$ENDPOINTS" != endpoints.yml ]; then rm -f "$ENDPOINTS"; fi
}
trap stop_all INT TERM EXIT

mkdir -p "$VAR_DIR"
chmod 700 "$VAR_DIR"
# Files left by an earlier start (or another tool) with laxer permissions.
find "$VAR_DIR" -maxdepth 1 -type f -exec chmod 600 {} +

# log NAME: the server's output goes to $VAR_DIR/NAME.log, rotated.
log() { .venv/bin/python -m bot.serving.logfiles "$VAR_DIR/$1.log"; }

if [ "$ACTIONS" = server ]; then
  SANIC_HOST=127.0.0.1 .venv/bin/python -m rasa_addons.action_server --actions actions --port "$ACTIONS_PORT" \
    --quiet > >(log actions) 2>&1 &
  pids+=($!)
fi
# shellcheck disable=SC2086
SANIC_REQUEST_MAX_SIZE=$REQUEST_MAX_SIZE .venv/bin/rasa run --model models/assistant.tar.gz \
  --interface "$BIND_HOST" --port "$RASA_PORT" --endpoints "$ENDPOINTS" \
  --credentials credentials.yml --cors $CORS_ORIGINS > >(log rasa) 2>&1 &
pids+=($!)
if [ -f web/index.html ]; then
  .venv/bin/python -m bot web --host "$BIND_HOST" --port "$WEB_PORT" \
    --rasa "${RASA_URL:-http://localhost:$RASA_PORT}" > >(log web) 2>&1 &
  pids+=($!)
fi

if [ "$ACTIONS" = server ]; then
  wait_for "http://127.0.0.1:$ACTIONS_PORT/health" "action server" "$VAR_DIR/actions.log"
fi
wait_for "http://$PROBE_HOST:$RASA_PORT/" "Rasa server" "$VAR_DIR/rasa.log"
cat <<MSG

The assistant is ready.
  Chat page:      http://localhost:$WEB_PORT/
  REST channel:   curl -s localhost:$RASA_PORT/webhooks/rest/webhook -H 'Content-Type: application/json' \\
                    -d '{"sender":"me","message":"relative started filming during setup"}'
  Command line:   .venv/bin/python -m bot ask "relative started filming during setup"
  Logs:           $VAR_DIR/rasa.log, $VAR_DIR/web.log (rotated; $VAR_DIR/actions.log with ACTIONS=server)
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "a server stopped unexpectedly; see the logs in $VAR_DIR/" >&2
exit 1
