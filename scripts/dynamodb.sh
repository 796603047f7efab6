#!/usr/bin/env bash
# A DynamoDB-compatible server for the pending store's integration tests: dynalite (npm, pinned in
# package.json), in memory, on 127.0.0.1. It speaks the DynamoDB JSON 1.0 protocol over HTTP, so the
# tests run the real AWS SDK client against a real server process (conditional writes, GSIs, queries).
#
#   scripts/dynamodb.sh start    # start in the background (needs `npm ci` first; scripts/setup.sh does it)
#   scripts/dynamodb.sh ensure   # start unless one already answers on $DYNAMODB_PORT
#   scripts/dynamodb.sh stop     # stop the server started by 'start'
#   scripts/dynamodb.sh up       # exit 0 when a server answers on $DYNAMODB_PORT
#   scripts/dynamodb.sh env      # print the export line for the endpoint
#
# Env knobs: DYNAMODB_PORT (48000), DYNAMODB_DIR (default $TMPDIR/dynamodb-local) for its pid and log.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

PORT=${DYNAMODB_PORT:-48000}
DIR=${DYNAMODB_DIR:-${TMPDIR:-/tmp}/dynamodb-local}
CLI=node_modules/dynalite/cli.js

log() { echo "[dynamodb $(date +%T)] $*" >&2; }

up() { # any DynamoDB answers an unsigned request with a JSON error; only a listening server answers at all
  curl -s -m 2 -X POST "http://127.0.0.1:$PORT/" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' | grep -q '__type\|TableNames'
}

ours() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -q "dynalite/cli.js .*--port $PORT"; }

start() {
  [ -f "$CLI" ] || { log "dynalite is not installed: run 'npm ci' (or scripts/setup.sh)"; exit 1; }
  if up; then log "127.0.0.1:$PORT already answers; run '$0 stop' first"; exit 1; fi
  stop_quietly
  mkdir -p "$DIR"
  # Tables become ACTIVE at once: the tests create one per test class.
  node "$CLI" --host 127.0.0.1 --port "$PORT" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
    >>"$DIR/dynalite.log" 2>&1 </dev/null &
  echo $! >"$DIR/pid"
  for _ in $(seq 1 100); do
    if up; then log "ready on 127.0.0.1:$PORT (pid $(cat "$DIR/pid"))"; env_lines; return 0; fi
    kill -0 "$(cat "$DIR/pid")" 2>/dev/null || { log "dynalite exited; see $DIR/dynalite.log"; tail -5 "$DIR/dynalite.log" >&2; exit 1; }
    sleep 0.1
  done
  log "timeout waiting for dynalite on 127.0.0.1:$PORT"; exit 1
}

stop_quietly() {
  [ -f "$DIR/pid" ] || return 0
  local pid; pid=$(cat "$DIR/pid"); rm -f "$DIR/pid"
  # after a reboot the PID may belong to someone else now: only signal our own server
  if ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; log "stopped pid $pid"; fi
}

env_lines() { echo "export DYNAMODB_ENDPOINT=http://127.0.0.1:$PORT"; }

case "${1:-start}" in
  start) start ;;
  ensure) if up; then log "already answers on 127.0.0.1:$PORT"; env_lines; else start; fi ;;
  stop) stop_quietly ;;
  up) up ;;
  env) env_lines ;;
  *) echo "usage: $0 start|ensure|stop|up|env" >&2; exit 2 ;;
esac
