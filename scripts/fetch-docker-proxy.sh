#!/usr/bin/env bash
# Fetches Debian's docker-proxy without installing Docker: `apt-get download docker.io` and
# `dpkg -x` into DIR (cached: a second call only prints the path). Never installs the package,
# never starts dockerd. Prints the path of the docker-proxy binary on stdout.
# Usage: scripts/fetch-docker-proxy.sh DIR
# Exit codes: 0 ok, 1 download/extract failed, 2 usage.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: fetch-docker-proxy.sh DIR  (DIR caches the extracted docker.io package)" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Only the binary is kept (the package is 140 MB unpacked).
find_proxy() {
  if [ -x "$dir/docker-proxy" ]; then
    echo "$dir/docker-proxy"
    return 0
  fi
  return 1
}

if find_proxy; then exit 0; fi

# One fetch at a time per DIR (parallel tests may call this together).
exec 9>"$dir/.lock"
flock 9
if find_proxy; then exit 0; fi

work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current directory and needs no root.
if ! (cd "$work" && apt-get download -qq docker.io >/dev/null 2>"$work/err"); then
  echo "fetch-docker-proxy: apt-get download docker.io failed: $(tail -n1 "$work/err"); run apt-get update or check the apt sources" >&2
  exit 1
fi
deb=$(ls "$work"/docker.io_*.deb 2>/dev/null | head -n1)
if [ -z "$deb" ]; then
  echo "fetch-docker-proxy: no docker.io .deb downloaded; check the apt sources" >&2
  exit 1
fi
dpkg -x "$deb" "$work/root"
binary=
for candidate in usr/sbin/docker-proxy usr/bin/docker-proxy usr/libexec/docker/docker-proxy; do
  if [ -x "$work/root/$candidate" ]; then binary="$work/root/$candidate"; break; fi
done
if [ -z "$binary" ]; then
  echo "fetch-docker-proxy: the docker.io package has no docker-proxy binary" >&2
  exit 1
fi
# Rename into place: a concurrent reader sees the whole binary or none.
cp "$binary" "$dir/.docker-proxy.tmp"
mv "$dir/.docker-proxy.tmp" "$dir/docker-proxy"
find_proxy
