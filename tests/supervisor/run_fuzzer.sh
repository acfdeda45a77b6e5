#!/usr/bin/env bash
# Runs a libFuzzer binary for a short while on a scratch copy of its seed corpus (the repository's
# corpus stays as committed). Exit 77 (ctest: skipped) when the binary was not built.
# Usage: run_fuzzer.sh FUZZER CORPUS_DIR [SECONDS]
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=${3:-10}
[ -x "$fuzzer" ] || { echo "run_fuzzer: $fuzzer not built (configure with PORTSAFE_BUILD_FUZZERS=ON)"; exit 77; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$corpus"/. "$scratch"/
exec "$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "$scratch"
