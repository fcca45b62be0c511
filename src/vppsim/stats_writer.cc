// SPDX-License-Identifier: Apache-2.0
#include "vppsim/stats_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace maglev::vppsim {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kOffVersion = 0;
constexpr uint64_t kOffBase = 8;
constexpr uint64_t kOffEpoch = 16;
constexpr uint64_t kOffInProgress = 24;
constexpr uint64_t kOffDirectory = 32;
constexpr uint64_t kEntryBytes = 144;
constexpr uint32_t kTypeScalar = 1;
constexpr uint32_t kTypeSimple = 2;
constexpr uint32_t kTypeCombined = 3;
constexpr uint32_t kTypeEmpty = 5;
constexpr uint32_t kNoFree = 0xffffffffu;
constexpr uint32_t kInitialCounterCapacity = 8;

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

// Counter vectors: cache-line aligned data (hdr_size 8, log2_align 6,
// default_heap 1, no heap pointer). Directory: 8-aligned with a heap pointer
// (hdr_size 2, log2_align 3, default_heap 0). STATS.md §2.4.
const StatsWriter::VecKind StatsWriter::kCounterVec{64, 64, false, 6};
const StatsWriter::VecKind StatsWriter::kDirectoryVec{8, 16, true, 3};

absl::StatusOr<std::unique_ptr<StatsWriter>> StatsWriter::Create(Options options) {
  if (options.size < 2 * kPage || options.size % kPage != 0) {
    return absl::InvalidArgumentError("stats segment size must be a multiple of 4096, >= 8192");
  }
  if (options.num_threads == 0 || options.num_threads > 1024) {
    return absl::InvalidArgumentError("stats segment thread count must be 1..1024");
  }
  int fd = ::memfd_create("stat segment", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  if (::ftruncate(fd, static_cast<off_t>(options.size)) != 0 ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
    absl::Status st = absl::InternalError(absl::StrCat("stats memfd: ", std::strerror(errno)));
    ::close(fd);
    return st;
  }
  void* map = ::mmap(nullptr, options.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    absl::Status st = absl::InternalError(absl::StrCat("mmap: ", std::strerror(errno)));
    ::close(fd);
    return st;
  }
  std::unique_ptr<StatsWriter> w(new StatsWriter(options, fd, static_cast<uint8_t*>(map)));
  if (w->directory_ == 0) return absl::InternalError("stats segment too small for its directory");
  return w;
}

StatsWriter::StatsWriter(Options options, int fd, uint8_t* map)
    : options_(options),
      fd_(fd),
      map_(map),
      size_(options.size),
      base_(reinterpret_cast<uint64_t>(map)) {
  // The heap starts one page in: page 0 holds only the header.
  free_[kPage] = size_;
  Store(kOffVersion, 2);
  Store(kOffBase, base_);
  Store(kOffEpoch, 1);
  Store(kOffInProgress, 0);
  directory_ = AllocVector(kDirectoryVec, kEntryBytes, 0, 16);
  if (directory_ != 0) Store(kOffDirectory, Ptr(directory_));
}

StatsWriter::~StatsWriter() {
  ::munmap(map_, size_);
  ::close(fd_);
}

void StatsWriter::Store(uint64_t off, uint64_t v) {
  __atomic_store_n(reinterpret_cast<uint64_t*>(map_ + off), v, __ATOMIC_RELAXED);
}

uint64_t StatsWriter::Load(uint64_t off) const {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(map_ + off), __ATOMIC_RELAXED);
}

void StatsWriter::ZeroRange(uint64_t off, uint64_t bytes) {
  for (uint64_t o = off; o < off + bytes; o += 8) Store(o, 0);
}

uint64_t StatsWriter::epoch() const {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(map_ + kOffEpoch), __ATOMIC_ACQUIRE);
}

void StatsWriter::Lock() {
  if (lock_depth_++ == 0) Store(kOffInProgress, 1);
}

void StatsWriter::Unlock() {
  if (lock_depth_ == 0 || --lock_depth_ != 0) return;
  Store(kOffEpoch, Load(kOffEpoch) + 1);
  __atomic_store_n(reinterpret_cast<uint64_t*>(map_ + kOffInProgress), 0, __ATOMIC_RELEASE);
}

uint64_t StatsWriter::AllocVector(const VecKind& kind, uint64_t elt, uint32_t len,
                                  uint32_t capacity) {
  capacity = std::max(capacity, len);
  const uint64_t data_bytes = std::max<uint64_t>(8, AlignUp(elt * capacity, 8));
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const uint64_t start = it->first;
    const uint64_t end = it->second;
    const uint64_t data = AlignUp(start + kind.header, kind.align);
    const uint64_t alloc_start = data - kind.header;
    if (data + data_bytes > end) continue;
    free_.erase(it);
    if (alloc_start > start) free_[start] = alloc_start;
    if (data + data_bytes < end) free_[data + data_bytes] = end;
    ZeroRange(alloc_start, data + data_bytes - alloc_start);
    blocks_[data] = Block{alloc_start, data + data_bytes, elt, capacity, kind};
    heap_used_ += data + data_bytes - alloc_start;
    if (kind.heap_pointer) Store(data - 16, Ptr(kPage));
    SetVectorLen(data, len);
    return data;
  }
  return 0;
}

void StatsWriter::SetVectorLen(uint64_t off, uint32_t len) {
  const Block& b = blocks_.at(off);
  const uint64_t grow = std::min<uint64_t>(b.capacity - len, 255);
  const uint64_t hdr_size = b.kind.header / 8;
  const uint64_t align_byte = b.kind.log2_align | (b.kind.heap_pointer ? 0 : 0x80);
  Store(off - 8, len | (hdr_size << 32) | (align_byte << 40) | (grow << 48));
}

void StatsWriter::FreeVector(uint64_t off) {
  auto it = blocks_.find(off);
  if (it == blocks_.end()) return;
  uint64_t start = it->second.start;
  uint64_t end = it->second.end;
  heap_used_ -= end - start;
  blocks_.erase(it);
  // Coalesce with the free neighbours.
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == end) {
    end = next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->second == start) {
      start = prev->first;
      free_.erase(prev);
    }
  }
  free_[start] = end;
}

uint64_t StatsWriter::EntryOff(uint32_t index) const { return directory_ + kEntryBytes * index; }

void StatsWriter::WriteEntry(uint32_t index, uint32_t type, uint64_t value,
                             const std::string& name) {
  const uint64_t e = EntryOff(index);
  Store(e, type);
  Store(e + 8, value);
  char buf[128] = {};
  std::memcpy(buf, name.data(), std::min<size_t>(name.size(), 127));
  for (int w = 0; w < 16; ++w) {
    uint64_t word;
    std::memcpy(&word, buf + 8 * w, 8);
    Store(e + 16 + 8 * w, word);
  }
}

uint32_t StatsWriter::NewEntry(const std::string& name, uint32_t type, uint64_t value) {
  uint32_t index;
  if (first_free_ != kNoFree) {
    index = first_free_;
    first_free_ = static_cast<uint32_t>(Load(EntryOff(index) + 8));
  } else {
    index = VectorLen(directory_);
    const Block& b = blocks_.at(directory_);
    if (index >= b.capacity) {
      // Grow the directory: a new vector, the entries copied, the header's
      // pointer moved (all inside the caller's lock).
      const uint64_t bigger =
          AllocVector(kDirectoryVec, kEntryBytes, index, static_cast<uint32_t>(b.capacity * 2));
      if (bigger == 0) return kNoFree;
      for (uint64_t o = 0; o < kEntryBytes * index; o += 8) {
        Store(bigger + o, Load(directory_ + o));
      }
      const uint64_t old = directory_;
      directory_ = bigger;
      Store(kOffDirectory, Ptr(directory_));
      FreeVector(old);
    }
    SetVectorLen(directory_, index + 1);
  }
  WriteEntry(index, type, value, name);
  if (entries_.size() <= index) entries_.resize(index + 1);
  entries_[index] = EntryInfo{name, type, 0};
  return index;
}

uint32_t StatsWriter::AddScalar(const std::string& name, uint64_t value) {
  Lock();
  uint32_t index = NewEntry(name, kTypeScalar, value);
  Unlock();
  return index;
}

uint32_t StatsWriter::AddCounter(const std::string& name, uint32_t type, uint64_t elt) {
  Lock();
  const uint32_t n = options_.num_threads;
  uint64_t threads = AllocVector(kCounterVec, 8, n, n);
  uint32_t index = kNoFree;
  if (threads != 0) {
    bool ok = true;
    for (uint32_t t = 0; t < n && ok; ++t) {
      uint64_t col = AllocVector(kCounterVec, elt, 0, kInitialCounterCapacity);
      ok = col != 0;
      if (ok) Store(threads + 8 * t, Ptr(col));
    }
    if (ok) index = NewEntry(name, type, Ptr(threads));
    if (index == kNoFree) {
      for (uint32_t t = 0; t < n; ++t) {
        uint64_t p = Load(threads + 8 * t);
        if (p != 0) FreeVector(p - base_);
      }
      FreeVector(threads);
    } else {
      entries_[index].elt = elt;
    }
  }
  Unlock();
  return index;
}

uint32_t StatsWriter::AddSimpleCounter(const std::string& name) {
  return AddCounter(name, kTypeSimple, 8);
}

uint32_t StatsWriter::AddCombinedCounter(const std::string& name) {
  return AddCounter(name, kTypeCombined, 16);
}

void StatsWriter::RemoveEntry(uint32_t index) {
  if (index >= entries_.size() || entries_[index].type == 0 || entries_[index].type == kTypeEmpty) {
    return;
  }
  // Step 1, under the lock: free the vectors, data := 0.
  Lock();
  const uint64_t e = EntryOff(index);
  if (entries_[index].elt != 0) {
    const uint64_t threads = Load(e + 8) - base_;
    for (uint32_t t = 0; t < options_.num_threads; ++t) FreeVector(Load(threads + 8 * t) - base_);
    FreeVector(threads);
  }
  Store(e + 8, 0);
  Unlock();
  // Step 2, after the unlock and without an epoch bump: EMPTY, free-list link.
  WriteEntry(index, kTypeEmpty, first_free_, std::string());
  first_free_ = index;
  entries_[index] = EntryInfo{};
}

uint32_t StatsWriter::Find(const std::string& name) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].type != 0 && entries_[i].type != kTypeEmpty && entries_[i].name == name) {
      return static_cast<uint32_t>(i);
    }
  }
  return kNoFree;
}

void StatsWriter::SetScalar(uint32_t index, uint64_t value) {
  if (index >= entries_.size()) return;
  Store(EntryOff(index) + 8, value);
}

void StatsWriter::Validate(uint32_t index, uint32_t object) {
  if (index >= entries_.size() || entries_[index].elt == 0) return;
  const uint64_t elt = entries_[index].elt;
  const uint32_t need = object + 1;
  const uint64_t threads = Load(EntryOff(index) + 8) - base_;
  bool locked = false;
  for (uint32_t t = 0; t < options_.num_threads; ++t) {
    const uint64_t col = Load(threads + 8 * t) - base_;
    const Block& b = blocks_.at(col);
    const uint32_t len = VectorLen(col);
    if (need <= len) continue;
    if (need <= b.capacity) {
      // Within capacity: only the length grows (no lock, no epoch; the new
      // elements are already zero).
      SetVectorLen(col, need);
      continue;
    }
    if (!locked) {
      Lock();
      locked = true;
    }
    const uint32_t capacity = std::max<uint32_t>(need, static_cast<uint32_t>(b.capacity * 3 / 2));
    const uint64_t bigger = AllocVector(kCounterVec, elt, need, capacity);
    if (bigger == 0) break;  // segment full: the counter stays short
    for (uint64_t o = 0; o < elt * len; o += 8) Store(bigger + o, Load(col + o));
    Store(threads + 8 * t, Ptr(bigger));
    FreeVector(col);
  }
  if (locked) Unlock();
}

void StatsWriter::Zero(uint32_t index, uint32_t object) {
  if (index >= entries_.size() || entries_[index].elt == 0) return;
  const uint64_t elt = entries_[index].elt;
  const uint64_t threads = Load(EntryOff(index) + 8) - base_;
  for (uint32_t t = 0; t < options_.num_threads; ++t) {
    const uint64_t col = Load(threads + 8 * t) - base_;
    if (object >= VectorLen(col)) continue;
    for (uint64_t o = 0; o < elt; o += 8) Store(col + elt * object + o, 0);
  }
}

void StatsWriter::AddSimple(uint32_t index, uint32_t thread, uint32_t object, uint64_t n) {
  if (index >= entries_.size() || entries_[index].elt != 8 || thread >= options_.num_threads) {
    return;
  }
  const uint64_t threads = Load(EntryOff(index) + 8) - base_;
  const uint64_t col = Load(threads + 8 * thread) - base_;
  if (object >= VectorLen(col)) return;
  Store(col + 8ull * object, Load(col + 8ull * object) + n);
}

void StatsWriter::AddCombined(uint32_t index, uint32_t thread, uint32_t object, uint64_t packets,
                              uint64_t bytes) {
  if (index >= entries_.size() || entries_[index].elt != 16 || thread >= options_.num_threads) {
    return;
  }
  const uint64_t threads = Load(EntryOff(index) + 8) - base_;
  const uint64_t col = Load(threads + 8 * thread) - base_;
  if (object >= VectorLen(col)) return;
  const uint64_t o = col + 16ull * object;
  Store(o, Load(o) + packets);
  Store(o + 8, Load(o + 8) + bytes);
}

}  // namespace maglev::vppsim
