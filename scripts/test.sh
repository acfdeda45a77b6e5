#!/usr/bin/env bash
# Builds portsafe and runs the whole test suite: the normal build, then the core and shim tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" "$@"

if [ -z "${PORTSAFE_SKIP_SANITIZERS:-}" ]; then
  cmake -S . -B build-asan -DPORTSAFE_SANITIZE=address -DPORTSAFE_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build-asan -j"$jobs" --target portsafe_sanitizer_tests
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L sanitizer
fi
