// SPDX-License-Identifier: Apache-2.0
// A reader of VPP's stats segment (shared/vpp-api/STATS.md), with no VPP code:
// connects to the stats socket (AF_UNIX, SOCK_SEQPACKET), receives the
// segment's memfd (SCM_RIGHTS), maps it read-only, and copies entries out
// under VPP's epoch / in_progress protocol (§3.2) with a bounded spin and
// bounded retries.
//
// Hostile input: the segment is memory another process writes at any time.
// Every value is read once, with an atomic (relaxed) 8-byte load from an
// 8-aligned offset that was checked against the mapping's size, and every
// pointer is relocated (VPP address - base) and bounds-checked together with
// its vector's length before anything behind it is read. Nothing read from
// the segment is used twice without being checked again, so a writer that
// changes the memory during a read can make the result inconsistent (which
// the epoch check then discards) but never make the reader touch memory
// outside the mapping. The amount copied per read is bounded as well. The
// mapping cannot shrink under the reader: Connect() requires the memfd to be
// sealed against shrinking (VPP seals it), so no access can fault.
//
// Layouts: version 2 as VPP 22.06+ writes it, and the "legacy" version-2
// layout of VPP 20.09-22.02 (error vector at header offset 40, other type
// numbers), whose entry types are mapped to the modern ones. Version 1
// (19.08-20.05, offsets instead of pointers) is refused with a clear error.
//
// Names are resolved by scanning the directory; the result is cached and
// thrown away whenever the epoch changes, and each cached entry's name and
// type are checked again before it is used (a removal changes them without an
// epoch bump, §3.3).
//
// Threading: a StatsSegment is not thread-safe; one thread owns it (maglevd's
// stats scraper thread, never the core loop: a read can spin for a few ms).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace maglev {

// Entry types, with the numbers of VPP 22.06+ (legacy types are mapped).
enum class StatsType : uint8_t {
  kIllegal = 0,
  kScalar = 1,
  kCounterSimple = 2,
  kCounterCombined = 3,
  kNameVector = 4,
  kEmpty = 5,
  kSymlink = 6,
  kHistogramLog2 = 7,
  kRingBuffer = 8,
  kGauge = 9,
  kErrorIndex = 64,  // legacy (20.09-22.02) only: an index into the error vector
  kUnknown = 255,
};
const char* StatsTypeName(StatsType t);

enum class StatsLayout {
  kV2,        // VPP 22.06 and later
  kLegacyV2,  // VPP 20.09 .. 22.02
};

struct StatsCombined {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  friend bool operator==(const StatsCombined&, const StatsCombined&) = default;
};

// One entry as copied out of the segment.
struct StatsEntry {
  std::string name;
  StatsType type = StatsType::kIllegal;
  uint32_t index = 0;  // directory index
  // kScalar, kGauge (truncated doubles in VPP), kErrorIndex (sum over threads).
  uint64_t scalar = 0;
  // kCounterSimple and kHistogramLog2: [thread][object]. A symlink to a simple
  // counter: [thread][0].
  std::vector<std::vector<uint64_t>> simple;
  // kCounterCombined: [thread][object]; a symlink to one: [thread][0].
  std::vector<std::vector<StatsCombined>> combined;
  // kNameVector: one per object index; nullopt for a hole.
  std::vector<std::optional<std::string>> names;
  // kSymlink: the target entry and object (the values are in simple/combined).
  uint32_t symlink_entry = 0;
  uint32_t symlink_object = 0;

  // Sum over threads of a simple counter's object `i` (0 when absent).
  uint64_t SimpleSum(size_t i) const;
  // Sum over threads of a combined counter's object `i`.
  StatsCombined CombinedSum(size_t i) const;
};

// What one consistent read returned.
struct StatsSnapshot {
  uint64_t epoch = 0;
  std::vector<StatsEntry> entries;  // in the order asked for (ReadAll: directory order)
  const StatsEntry* Find(std::string_view name) const;
};

struct StatsSegmentOptions {
  // Deadline for the segment's file descriptor after connect (STATS.md §1.5).
  std::chrono::milliseconds connect_timeout{2000};
  // Attempts of one consistent read before giving up (Unavailable).
  int max_attempts = 8;
  // How long one attempt waits for in_progress to clear.
  std::chrono::microseconds max_spin{10000};
  // Bound on the bytes copied out per read: a hostile segment cannot make a
  // read do unbounded work (ResourceExhausted instead).
  size_t max_copy_bytes = 256u << 20;
  // Mappings larger than this are refused (VPP's default segment: 32 MiB).
  uint64_t max_segment_bytes = 64ull << 30;
  // Test hook: called after each attempt's copy, before the epoch re-check.
  std::function<void(int attempt)> after_copy;
};

class StatsSegment {
 public:
  // Connects to VPP's stats socket and maps the segment it hands out.
  // Unavailable when nothing listens or no descriptor arrives in time;
  // FailedPrecondition for a segment this reader refuses (layout, seals).
  static absl::StatusOr<std::unique_ptr<StatsSegment>> Connect(const std::string& socket_path,
                                                               StatsSegmentOptions options = {});
  // Reads a segment that is already in memory (tests, fuzzing): `data` must
  // stay valid and 8-aligned for the object's lifetime; nothing is unmapped.
  static absl::StatusOr<std::unique_ptr<StatsSegment>> Attach(const void* data, size_t size,
                                                              StatsSegmentOptions options = {});
  ~StatsSegment();
  StatsSegment(const StatsSegment&) = delete;
  StatsSegment& operator=(const StatsSegment&) = delete;

  // One consistent read of the entries with exactly these names; a name the
  // segment does not have (or that is being removed) is left out.
  absl::StatusOr<StatsSnapshot> Read(const std::vector<std::string>& names);
  // One consistent read of every entry (empty slots are skipped).
  absl::StatusOr<StatsSnapshot> ReadAll();

  StatsLayout layout() const { return layout_; }
  size_t size() const { return size_; }
  // How many times the directory has been scanned for names (tests).
  uint64_t directory_scans() const { return directory_scans_; }
  // Attempts discarded because the epoch moved or a writer held the lock.
  uint64_t retries() const { return retries_; }

 private:
  class View;
  StatsSegment(const uint8_t* data, size_t size, bool owned, StatsSegmentOptions options);
  absl::Status CheckHeader();
  // One attempt; nullopt when the attempt must be retried.
  absl::StatusOr<std::optional<StatsSnapshot>> Attempt(const std::vector<std::string>* names,
                                                       int attempt);
  absl::StatusOr<StatsSnapshot> ReadImpl(const std::vector<std::string>* names);

  const uint8_t* data_;
  size_t size_;
  bool owned_;
  StatsSegmentOptions options_;
  StatsLayout layout_ = StatsLayout::kV2;
  // Name -> directory index, valid for cache_epoch_ only.
  std::unordered_map<std::string, uint32_t> index_;
  uint64_t cache_epoch_ = 0;
  bool cache_valid_ = false;
  uint64_t directory_scans_ = 0;
  uint64_t retries_ = 0;
};

}  // namespace maglev
