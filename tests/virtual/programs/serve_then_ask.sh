#!/bin/sh
# Runs inside a job: starts a real server (SERVER... after "--"), waits until it answers on the
# hard-coded port with ASK, stops at the barrier (so every job's server is up at once), asks again
# and prints the answer, then stops the server.
# usage: serve_then_ask.sh ID BARRIER 'ASK COMMAND' -- SERVER...
set -u
id=$1 barrier=$2 ask=$3
shift 4
"$@" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
tries=0
until sh -c "$ask" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ $tries -gt 500 ]; then echo "serve_then_ask: the server never answered" >&2; exit 1; fi
  sleep 0.02
done
: > "$barrier/ready-$id"
tries=0
until [ -e "$barrier/go" ]; do
  tries=$((tries + 1))
  if [ $tries -gt 3000 ]; then echo "serve_then_ask: no go at the barrier" >&2; exit 1; fi
  sleep 0.02
done
answer=$(sh -c "$ask")
printf '{"reply": "%s", "real_port": %s}\n' "$answer" "${REAL:-0}"
