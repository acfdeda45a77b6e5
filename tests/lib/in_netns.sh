#!/usr/bin/env bash
# Runs a command in a fresh network namespace with loopback up, so black-box tests never see
# each other's ports (or the host's) and may run in parallel. Falls back to the current namespace
# (with a note) where unshare is not permitted.
set -euo pipefail
if [ -z "${PORTSAFE_IN_NETNS:-}" ] && unshare -n true 2>/dev/null; then
  export PORTSAFE_IN_NETNS=1
  exec unshare -n -- "$0" "$@"
fi
if [ -n "${PORTSAFE_IN_NETNS:-}" ]; then
  ip link set lo up
else
  echo "in_netns: unshare -n not permitted; running in the current network namespace" >&2
fi
exec "$@"
