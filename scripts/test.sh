#!/usr/bin/env bash
# Builds portsafe and runs the whole test suite: the normal build, then the core, shim and other
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then a short run of each
# libFuzzer target (clang). PORTSAFE_SKIP_SANITIZERS=1 / PORTSAFE_SKIP_FUZZ=1 skip those stages.
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

if [ -z "${PORTSAFE_SKIP_FUZZ:-}" ]; then
  fuzzers=(frame_parser_fuzzer port_range_fuzzer identity_fuzzer table_header_fuzzer)
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPORTSAFE_BUILD_FUZZERS=ON \
    -DPORTSAFE_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs" --target "${fuzzers[@]}"
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L fuzz
fi
