#!/usr/bin/env bash
# Runs a command in a fresh network namespace with loopback up, so black-box tests never see
# each other's ports (or the host's) and may run in parallel. Falls back to the current namespace
# (with a note) where unshare is not permitted.
#
# The command also gets a PID namespace of its own, with this script as its init: a test must end
# every process it starts, so whatever is still running when the command has returned fails the
# test (named, then killed), and nothing a test started outlives it even when it is killed on a
# timeout (the kernel ends a PID namespace's processes with its init; --kill-child ends the init
# with unshare).
#
# Every new namespace has a new default runtime root (/tmp/portsafe-UID/net-INODE): anything a
# test left there (a table in /dev/shm, a supervisor, the directory) is removed afterwards.
set -euo pipefail
if [ -z "${PORTSAFE_IN_NETNS:-}" ]; then
  if unshare -n -p -f --mount-proc true 2>/dev/null; then
    export PORTSAFE_IN_NETNS=1 PORTSAFE_IN_PIDNS=1
    exec unshare -n -p -f --kill-child --mount-proc -- "$0" "$@"
  elif unshare -n true 2>/dev/null; then
    export PORTSAFE_IN_NETNS=1
    exec unshare -n -- "$0" "$@"
  fi
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

# The processes of this PID namespace other than its init (this shell), zombies aside. Shell
# builtins only, so the scan itself starts no process that it could find.
list_leftovers() {
  local dir pid stat state args
  leftovers=()
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = 1 ] && continue
    read -r stat 2>/dev/null <"$dir/stat" || continue
    state=${stat##*) }
    [ "${state%% *}" = Z ] && continue
    args=()
    mapfile -d '' args 2>/dev/null <"$dir/cmdline" || true
    leftovers+=("$pid ${args[*]:-?}")
  done
}

# A process may be exiting right now (a supervisor told to stop): give it a moment.
check_no_leftovers() {
  local i
  for i in $(seq 50); do
    list_leftovers
    [ ${#leftovers[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  echo "in_netns: the test left ${#leftovers[@]} process(es) running (end every process a test starts," \
    "also when it fails):" >&2
  printf '  pid %s\n' "${leftovers[@]}" >&2
  kill -KILL -1 2>/dev/null || true
  return 1
}

status=0
"$@" || status=$?
remove_default_root || true
if [ -n "${PORTSAFE_IN_PIDNS:-}" ] && [ "$$" = 1 ]; then
  if ! check_no_leftovers && [ "$status" -eq 0 ]; then status=1; fi
fi
exit "$status"
