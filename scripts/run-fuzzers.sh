#!/usr/bin/env bash
# Runs every libFuzzer target of a clang build for a bounded time each, from
# its committed seed corpus (tests/fuzz/corpus/<name>/):
#   scripts/run-fuzzers.sh [BUILD_DIR] [SECONDS_PER_TARGET]
# (default build-clang/ and 20 s). New inputs the fuzzer finds go to
# BUILD_DIR/fuzz/corpus/<name>/, never into the committed corpus; a crash
# leaves its input in BUILD_DIR/fuzz/artifacts/<name>/ and fails the run.
# Copy an input worth keeping into tests/fuzz/corpus/<name>/ by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build-clang}
secs=${2:-20}
shopt -s nullglob
targets=("$dir"/fuzz/*_fuzz)
if ((${#targets[@]} == 0)); then
  echo "run-fuzzers: no fuzz targets in $dir/fuzz (a clang build builds them)" >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin" _fuzz)
  seeds=tests/fuzz/corpus/$name
  if [ ! -d "$seeds" ]; then
    echo "run-fuzzers: $name has no seed corpus ($seeds)" >&2
    failed+=("$name")
    continue
  fi
  work=$dir/fuzz/corpus/$name
  artifacts=$dir/fuzz/artifacts/$name
  mkdir -p "$work" "$artifacts"
  echo "-- $name: ${secs}s from $seeds"
  # The first directory receives new inputs; the seeds are only read.
  if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$work" "$seeds" >"$dir/fuzz/$name.log" 2>&1; then
    tail -n 40 "$dir/fuzz/$name.log" >&2
    echo "run-fuzzers: $name FAILED (input in $artifacts/, log $dir/fuzz/$name.log)" >&2
    failed+=("$name")
    continue
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$dir/fuzz/$name.log" |
    tr '\n' ' '
  echo
done

if ((${#failed[@]})); then
  echo "run-fuzzers: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: ${#targets[@]} targets ran ${secs}s each without a crash"
