// SPDX-License-Identifier: Apache-2.0
// The simulator's stats segment, laid out exactly as VPP lays it out
// (shared/vpp-api/STATS.md §2, §3, §6 "A faithful simulator must"): a sealed
// memfd mapped shared, `base` = the writer's own mapping address, the 48-byte
// header in page 0, the directory vector (144-byte entries) and every vector
// behind VPP's 8-byte vector header inside a heap that starts at page 1,
// counter vectors 64-byte aligned, per-thread pointer vectors to equal-length
// data vectors. Layout changes (entry add/remove, a vector reallocation) run
// under VPP's lock protocol: in_progress = 1, change, epoch++, in_progress = 0
// (release). Counter values are plain aligned 8-byte stores, as VPP's
// workers make them. Removal is VPP's two steps (data = 0 under the lock,
// then EMPTY + free-list link without an epoch bump) and freed slots are
// reused most recently freed first.
//
// Every store into the shared memory is an atomic 8-byte store, so an
// in-process reader (tests) is race-free under ThreadSanitizer too.
//
// Threading: not thread-safe; one writer thread (the simulator's loop).
// Readers are other processes (or threads) reading the memfd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace maglev::vppsim {

class StatsWriter {
 public:
  struct Options {
    size_t size = 32u << 20;   // statseg { size } default
    uint32_t num_threads = 1;  // VPP threads: main + workers
  };
  static absl::StatusOr<std::unique_ptr<StatsWriter>> Create(Options options);
  ~StatsWriter();
  StatsWriter(const StatsWriter&) = delete;
  StatsWriter& operator=(const StatsWriter&) = delete;

  // The memfd, to hand out over the stats socket.
  int fd() const { return fd_; }
  const uint8_t* data() const { return map_; }
  size_t size() const { return size_; }
  uint32_t num_threads() const { return options_.num_threads; }
  uint64_t epoch() const;

  // VPP's segment lock (nests). Exposed so tests can hold it across a read.
  void Lock();
  void Unlock();

  // New directory entries (each under the lock, one epoch bump); return the
  // directory index, or ~0u when the segment is full.
  uint32_t AddScalar(const std::string& name, uint64_t value);
  uint32_t AddSimpleCounter(const std::string& name);
  uint32_t AddCombinedCounter(const std::string& name);
  // VPP's vlib_stats_remove_entry (two steps, §3.3).
  void RemoveEntry(uint32_t index);
  // Index of an entry by name (the writer's own map), or ~0u.
  uint32_t Find(const std::string& name) const;

  void SetScalar(uint32_t index, uint64_t value);
  // vlib_validate_*_counter: every thread's vector covers `object`. Locks and
  // bumps the epoch only when a vector must be reallocated.
  void Validate(uint32_t index, uint32_t object);
  // vlib_zero_*_counter: `object` := 0 on every thread (no lock).
  void Zero(uint32_t index, uint32_t object);
  // Counter increments on one thread (plain stores, no lock). The object must
  // have been validated.
  void AddSimple(uint32_t index, uint32_t thread, uint32_t object, uint64_t n);
  void AddCombined(uint32_t index, uint32_t thread, uint32_t object, uint64_t packets,
                   uint64_t bytes);

  // Bytes of the heap in use (tests, logs).
  size_t heap_used() const { return heap_used_; }

 private:
  StatsWriter(Options options, int fd, uint8_t* map);
  uint64_t Ptr(uint64_t off) const { return base_ + off; }
  void Store(uint64_t off, uint64_t v);
  uint64_t Load(uint64_t off) const;
  void ZeroRange(uint64_t off, uint64_t bytes);

  // Heap: allocations are [start, end) with the data `off` at start + header.
  struct VecKind {
    uint64_t align;     // data alignment
    uint64_t header;    // bytes from allocation start to data
    bool heap_pointer;  // a heap pointer at data - 16 (default_heap = 0)
    uint8_t log2_align;
  };
  static const VecKind kCounterVec;
  static const VecKind kDirectoryVec;
  // Allocates a vector of `len` elements with room for `capacity`; 0 when full.
  uint64_t AllocVector(const VecKind& kind, uint64_t elt, uint32_t len, uint32_t capacity);
  void FreeVector(uint64_t off);
  void SetVectorLen(uint64_t off, uint32_t len);
  uint32_t VectorLen(uint64_t off) const { return static_cast<uint32_t>(Load(off - 8)); }

  uint32_t NewEntry(const std::string& name, uint32_t type, uint64_t value);
  void WriteEntry(uint32_t index, uint32_t type, uint64_t value, const std::string& name);
  uint64_t EntryOff(uint32_t index) const;
  uint32_t AddCounter(const std::string& name, uint32_t type, uint64_t elt);

  Options options_;
  int fd_;
  uint8_t* map_;
  size_t size_;
  uint64_t base_;
  int lock_depth_ = 0;
  std::map<uint64_t, uint64_t> free_;  // start -> end
  struct Block {
    uint64_t start, end, elt, capacity;
    VecKind kind;
  };
  std::map<uint64_t, Block> blocks_;  // data offset -> allocation
  size_t heap_used_ = 0;
  uint64_t directory_ = 0;             // data offset of the directory vector
  uint32_t first_free_ = 0xffffffffu;  // free-list head (VPP keeps it privately too)
  struct EntryInfo {
    std::string name;
    uint32_t type = 0;
    uint64_t elt = 0;
  };
  std::vector<EntryInfo> entries_;
};

}  // namespace maglev::vppsim
