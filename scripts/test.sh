#!/usr/bin/env bash
# Installs every dependency, builds, and runs the whole test suite:
#   1. clang-format check of every C++ source,
#   2. a RelWithDebInfo build (build/) and every test (unit, then integration),
#   3. an ASan+UBSan build (build-asan/) and every test again,
#   4. a ThreadSanitizer build (build-tsan/) of the tests where threads meet:
#      the reconciler's thread, the simulator's server, the VPP transport,
#      the watch hub, the gRPC service with its loop and dataplane, the
#      stats-segment reader against a writer thread, and the logger's writer,
#   5. a clang build (build-clang/) of the programs with clang's thread-safety
#      analysis as errors (-DMAGLEV_CLANG_CHECKS=ON), each fuzz target
#      replaying its seeds, and each libFuzzer
#      target run for MAGLEV_FUZZ_SECONDS (default 20) from its committed
#      seed corpus (scripts/run-fuzzers.sh); a crash fails the run.
# Every build treats warnings as errors (-DMAGLEV_WERROR=ON).
# Set MAGLEV_SKIP_SANITIZERS=1 to skip steps 3 and 4, MAGLEV_SKIP_CLANG=1 to
# skip step 5, for a quicker local run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/check-format.sh

jobs=$(nproc)

run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # Unit tests are independent and fast; integration tests start real
  # processes and servers, so they run one at a time.
  ctest --test-dir "$dir" -L unit --output-on-failure -j"$jobs"
  ctest --test-dir "$dir" -L integration --output-on-failure
}

echo "== build/ (RelWithDebInfo) =="
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAGLEV_WERROR=ON

if [ "${MAGLEV_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== build-asan/ (ASan + UBSan) =="
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAGLEV_SANITIZE=ON -DMAGLEV_WERROR=ON

  echo "== build-tsan/ (ThreadSanitizer) =="
  tsan_tests=(vpp_reconciler_test vpp_transport_test vpp_lb_client_test vppsim_server_test
              api_watch_hub_test api_service_test vpp_stats_segment_test
              vpp_stats_scraper_test)
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAGLEV_TSAN=ON \
    -DMAGLEV_WERROR=ON >/dev/null
  cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
  export TSAN_OPTIONS="halt_on_error=1:suppressions=$(pwd)/tests/tsan.supp"
  for t in "${tsan_tests[@]}"; do
    echo "-- $t (TSan)"
    "build-tsan/tests/$t" --gtest_brief=1
  done
  # The logger's callers against its writer thread (not the fork test: TSan
  # does not support threads started after a multi-threaded fork).
  cmake --build build-tsan -j"$jobs" --target log_test
  echo "-- log_test (TSan)"
  build-tsan/tests/log_test --gtest_brief=1 --gtest_filter=-*ExitFlushesTheQueue*
fi

if [ "${MAGLEV_SKIP_CLANG:-0}" != "1" ]; then
  echo "== build-clang/ (clang: -Wthread-safety, libFuzzer targets) =="
  cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DMAGLEV_CLANG_CHECKS=ON -DMAGLEV_WERROR=ON >/dev/null
  # The programs (every library under src/ comes with them) for the
  # analysis, and the fuzz targets; the unit tests already ran twice above,
  # so only the fuzz targets' seed replays run here.
  cmake --build build-clang -j"$jobs" --target maglevd maglevc maglev-vppsim maglevd-frontend \
    config_fuzz vpp_codec_fuzz http_response_fuzz stats_segment_fuzz lb_cli_fuzz
  ctest --test-dir build-clang -R '_fuzz_(seeds|examples)$' --output-on-failure -j"$jobs"
  ./scripts/run-fuzzers.sh build-clang "${MAGLEV_FUZZ_SECONDS:-20}"
fi

echo "all test suites passed"
