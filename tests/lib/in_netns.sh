#!/usr/bin/env bash
# Runs a command in a fresh network namespace with loopback up, so black-box tests never see
# each other's ports (or the host's) and may run in parallel. Falls back to the current namespace
# (with a note) where unshare is not permitted.
#
# Every new namespace has a new default runtime root (/tmp/portsafe-UID/net-INODE): anything a
# test left there (a table in /dev/shm, a supervisor, the directory) is removed afterwards.
set -euo pipefail
if [ -z "${PORTSAFE_IN_NETNS:-}" ] && unshare -n true 2>/dev/null; then
  export PORTSAFE_IN_NETNS=1
  exec unshare -n -- "$0" "$@"
fi
if [ -z "${PORTSAFE_IN_NETNS:-}" ]; then
  echo "in_netns: unshare -n not permitted; running in the current network namespace" >&2
  exec "$@"
fi
ip link set lo up

remove_default_root() {
  local base root shm path
  if [ -n "${XDG_RUNTIME_DIR:-}" ]; then base="$XDG_RUNTIME_DIR/portsafe"; else base="/tmp/portsafe-$(id -u)"; fi
  root="$base/net-$(stat -L -c %i /proc/self/ns/net)"
  [ -d "$root" ] || return 0
  if [ -f "$root/portsafed.lock" ]; then
    pid=$(cat "$root/portsafed.lock" 2>/dev/null || true)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  fi
  # The table header holds the supervisor's socket path (offset 40): it names the root.
  for shm in /dev/shm/portsafe-*; do
    [ -f "$shm" ] || continue
    path=$(dd if="$shm" bs=1 skip=40 count=108 2>/dev/null | tr -d '\0')
    [ "$path" = "$root/portsafed.sock" ] && rm -f "$shm"
  done
  rm -rf "$root"
}

status=0
"$@" || status=$?
remove_default_root || true
exit "$status"
