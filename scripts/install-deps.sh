#!/usr/bin/env bash
# Installs the Debian packages portsafe builds and tests with; does nothing when all are present.
# Usage: scripts/install-deps.sh            (build + test dependencies)
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config libboost-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # sanitizers and fuzzing
  clang libclang-rt-14-dev
  # black-box tests against real programs
  python3 python3-pytest python3-pytest-xdist python3-portpicker
  iproute2 util-linux procps nodejs openjdk-17-jdk-headless nginx-light redis-server
  python3-gunicorn  # portsafe-run --listen: a real server that accepts LISTEN_FDS
  passwd mount  # tests/multiuser: throwaway accounts (useradd); tests/packaging: the maintainer scripts' sandbox
  # tests/docker: a private dockerd per test (never started as a service: see policy-rc.d below);
  # images are imported from a rootfs holding static busybox
  docker.io iptables busybox-static
  golang-go  # seccomp interception: Go workers and a `go test` binary LD_PRELOAD never reaches
  # --virtual in bpf mode: the cgroup sock_addr programs (clang -target bpf, bpftool gen skeleton,
  # libbpf linked statically into portsafe-run: libelf and zlib too)
  bpftool libbpf-dev libelf-dev zlib1g-dev
  # benchmark report plot
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  # Tests fetch Debian's docker-proxy with `apt-get download`, which needs package lists.
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq || true
  fi
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Services that packages start on install (nginx, redis, docker) are not wanted: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
