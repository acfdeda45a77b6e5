#!/usr/bin/env bash
# Issue 13's listen-only churn, bare vs. under portsafe-run with the default range, side by side:
# ROUNDS alternating runs of listen_churn CYCLES, each ratio from the same round.
#   benchmarks/pressure/listen_churn_ratio.sh BIN_DIR [CYCLES] [ROUNDS]
# BIN_DIR: a build tree's bin (listen_churn beside portsafe-run, portsafe, portsafed; the shim in ../lib).
set -euo pipefail
bin=$(cd "$1" && pwd); cycles=${2:-100000}; rounds=${3:-3}
root=$(mktemp -d /tmp/portsafe-churn-XXXXXX)
chmod 700 "$root"
export PORTSAFE_RUNTIME_DIR=$root
unset PORTSAFE_RANGE PORTSAFE_JOB PORTSAFE_JOB_ID LD_PRELOAD
stop() {  # the supervisor portsafe-run started for this private root, and its table
  if [ -f "$root/portsafed.lock" ]; then kill "$(cat "$root/portsafed.lock")" 2>/dev/null || true; fi
  sleep 0.2
  "$bin/portsafe" gc --reset >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap stop EXIT
echo "listen-only churn: socket / bind 0 / listen / close x $cycles, default range, private runtime root"
printf '%-6s %14s %14s %7s %s\n' round bare_ns portsafe_ns ratio "failures (bare/portsafe)"
for round in $(seq 1 "$rounds"); do
  read -r bare _ bare_failures _ < <("$bin/listen_churn" "$cycles")
  read -r wrapped _ wrapped_failures _ < <("$bin/portsafe-run" --job churn -- "$bin/listen_churn" "$cycles")
  printf '%-6s %14s %14s %6.2fx %s/%s\n' "$round" "$bare" "$wrapped" "$(awk -v a="$wrapped" -v b="$bare" 'BEGIN { print a / b }')" \
    "$bare_failures" "$wrapped_failures"
done
"$bin/portsafe" status | tail -1
