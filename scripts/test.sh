#!/usr/bin/env bash
# Builds portsafe and runs the whole test suite: the normal build (GCC, Release, what packagers
# build), then the core, shim and other unit tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer (GCC) and under ThreadSanitizer (clang, Debug: the whole tree is built
# there, so clang and Debug builds are checked too), then a short run of each libFuzzer target
# (clang). Warnings are errors in every stage (PORTSAFE_WERROR; off in a user's build).
# PORTSAFE_SKIP_SANITIZERS=1 / PORTSAFE_SKIP_FUZZ=1 skip those stages.
# Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# ccache, where installed, makes a second run cheap; nothing depends on it.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

scripts/install-deps.sh

# Every process the suite starts inherits this mark; any that still runs after a stage is a test
# that did not end what it started (each test is also the init of its own PID namespace, see
# tests/lib/in_netns.sh, so this is the second line of defence).
export PORTSAFE_TEST_SESSION="test-sh-$$-$RANDOM"
check_no_processes_left() {
  local left=() dir pid
  for _ in $(seq 50); do
    left=()
    for dir in /proc/[0-9]*; do
      pid=${dir#/proc/}
      [ "$pid" = "$$" ] && continue
      grep -qsz "^PORTSAFE_TEST_SESSION=$PORTSAFE_TEST_SESSION\$" "$dir/environ" || continue
      # This script's own children (the grep just run, a subshell) are not leftovers.
      [ "$(awk '{print $4}' "$dir/stat" 2>/dev/null)" = "$$" ] && continue
      left+=("$pid $(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | cut -c1-160)")
    done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  echo "test.sh: $1 left ${#left[@]} process(es) running:" >&2
  printf '  pid %s\n' "${left[@]}" >&2
  return 1
}

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPORTSAFE_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
check_no_processes_left "the main test run"

if [ -z "${PORTSAFE_SKIP_SANITIZERS:-}" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTSAFE_SANITIZE=address -DPORTSAFE_WERROR=ON \
    -DPORTSAFE_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
  cmake --build build-asan -j"$jobs" --target portsafe_sanitizer_tests
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L sanitizer
  check_no_processes_left "the ASan test run"

  CC=clang CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DPORTSAFE_SANITIZE=thread \
    -DPORTSAFE_WERROR=ON "${launcher[@]}" >/dev/null
  cmake --build build-tsan -j"$jobs"
  # halt_on_error: a race is a failed test, not a line in a long log.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" -L sanitizer
  check_no_processes_left "the TSan test run"
fi

if [ -z "${PORTSAFE_SKIP_FUZZ:-}" ]; then
  fuzzers=(frame_parser_fuzzer port_range_fuzzer identity_fuzzer table_header_fuzzer)
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPORTSAFE_BUILD_FUZZERS=ON \
    -DPORTSAFE_BUILD_BENCHMARKS=OFF -DPORTSAFE_WERROR=ON "${launcher[@]}" >/dev/null
  cmake --build build-fuzz -j"$jobs" --target "${fuzzers[@]}"
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L fuzz
fi
