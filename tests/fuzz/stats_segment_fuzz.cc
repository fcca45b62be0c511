// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the stats-segment reader (src/vpp/stats_segment.h):
// the input is a whole segment (header, directory, vectors, with VPP-side
// pointers relative to the header's `base`). Any input must be refused or
// read without undefined behaviour, without touching memory outside the
// input, and within the reader's copy budget.
//
// Built as a fuzzer only with Clang (tests/fuzz/CMakeLists.txt); the same
// entry point replays the committed corpus (tests/fuzz/corpus/stats_segment/)
// and mutations of it in a unit test with any compiler.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "vpp/stats_segment.h"

namespace maglev {

// Returns 1 when the segment was accepted and read, 0 when refused.
int StatsSegmentFuzzOne(const uint8_t* data, size_t size) {
  // The reader needs 8-aligned memory, as a mapping is.
  std::vector<uint64_t> words((size + 7) / 8);
  if (size > 0) std::memcpy(words.data(), data, size);
  StatsSegmentOptions options;
  options.max_attempts = 1;
  options.max_spin = std::chrono::microseconds(0);
  options.max_copy_bytes = 1u << 20;
  auto segment = StatsSegment::Attach(words.data(), size, options);
  if (!segment.ok()) return 0;
  auto all = (*segment)->ReadAll();
  auto some = (*segment)->Read({"/sys/heartbeat", "/sys/boottime", "packet from existing sessions",
                                "first session packet", "untracked packet", "no server configured",
                                "/net/route/to"});
  if (all.ok()) {
    for (const StatsEntry& e : all->entries) {
      // Touch everything that was copied out.
      if (e.name.size() > 128) std::abort();
      (void)e.SimpleSum(1);
      (void)e.CombinedSum(1);
    }
  }
  return all.ok() || some.ok() ? 1 : 0;
}

}  // namespace maglev

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  maglev::StatsSegmentFuzzOne(data, size);
  return 0;
}
