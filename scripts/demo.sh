#!/usr/bin/env bash
# The main job, shown: N parallel "test jobs" use the pick-a-port idiom (bind 0, read the number,
# close, re-bind it in a server). First bare, then each job wrapped in `portsafe-run`. Prints the
# collisions (EADDRINUSE) of each run.
#
# Usage: scripts/demo.sh [--jobs N] [--iterations N]
# Runs in a private network namespace with a small ephemeral range (as on a busy CI host), when
# permitted (root); otherwise in the current namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)
jobs=16
iterations=40
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --inside) inside=1; shift ;;
    *) echo "demo.sh: unknown option $1 (use --jobs N, --iterations N)" >&2; exit 2 ;;
  esac
done

if [ -z "${inside:-}" ]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
  cmake --install build --prefix build/stage >/dev/null
  if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    exec unshare -n -- "$0" --inside --jobs "$jobs" --iterations "$iterations"
  fi
  echo "(not root: running in the current network namespace)"
  inside=0
fi
if [ "${inside}" = 1 ]; then
  ip link set lo up
  # A busy CI host: few ephemeral ports left for port-0 binds and outgoing connections.
  sysctl -qw net.ipv4.ip_local_port_range="40000 40031"
fi

prefix="$root_dir/build/stage"
worker="$root_dir/scripts/pick_a_port_worker.py"
export PORTSAFE_RUNTIME_DIR
PORTSAFE_RUNTIME_DIR=$(mktemp -d /tmp/portsafe-demo.XXXXXX)
trap 'pkill -f "portsafed --runtime-dir $PORTSAFE_RUNTIME_DIR" 2>/dev/null || true; rm -rf "$PORTSAFE_RUNTIME_DIR"' EXIT

run_jobs() {  # $1: label; rest: wrapper prefix (may be empty)
  local label=$1; shift
  local out; out=$(mktemp)
  local start end
  start=$(date +%s%N)
  for i in $(seq 1 "$jobs"); do
    "$@" /usr/bin/python3 "$worker" --iterations "$iterations" --seed "$i" >>"$out" &
  done
  wait
  end=$(date +%s%N)
  awk -v label="$label" -v t="$(( (end - start) / 1000000 ))" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } }
    END { printf "%-34s %6d binds  %5d collisions (EADDRINUSE)  %.1f s\n", label, v["ok"] + v["failed"], v["failed"], t / 1000 }' "$out"
  rm -f "$out"
}

echo "portsafe demo: $jobs parallel jobs x $iterations picks each (bind 0 / close / re-bind / listen / serve one connection)"
run_jobs "bare" 
run_jobs "each job under portsafe-run" "$prefix/bin/portsafe-run" --quiet --
echo
"$prefix/bin/portsafe" status || true
