// SPDX-License-Identifier: Apache-2.0
#include "vpp/stats_segment.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace maglev {
namespace {

constexpr size_t kHeaderBytes = 48;
constexpr uint64_t kOffVersion = 0;
constexpr uint64_t kOffBase = 8;
constexpr uint64_t kOffEpoch = 16;
constexpr uint64_t kOffInProgress = 24;
constexpr uint64_t kOffDirectory = 32;
constexpr uint64_t kOffErrorVector = 40;
constexpr uint64_t kEntryBytes = 144;
constexpr uint64_t kEntryNameOffset = 16;
constexpr size_t kEntryNameBytes = 128;

std::string Errno(const char* what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace

const char* StatsTypeName(StatsType t) {
  switch (t) {
    case StatsType::kIllegal:
      return "illegal";
    case StatsType::kScalar:
      return "scalar";
    case StatsType::kCounterSimple:
      return "counter-simple";
    case StatsType::kCounterCombined:
      return "counter-combined";
    case StatsType::kNameVector:
      return "name-vector";
    case StatsType::kEmpty:
      return "empty";
    case StatsType::kSymlink:
      return "symlink";
    case StatsType::kHistogramLog2:
      return "histogram-log2";
    case StatsType::kRingBuffer:
      return "ring-buffer";
    case StatsType::kGauge:
      return "gauge";
    case StatsType::kErrorIndex:
      return "error-index";
    case StatsType::kUnknown:
      break;
  }
  return "unknown";
}

uint64_t StatsEntry::SimpleSum(size_t i) const {
  uint64_t sum = 0;
  for (const auto& t : simple) {
    if (i < t.size()) sum += t[i];
  }
  return sum;
}

StatsCombined StatsEntry::CombinedSum(size_t i) const {
  StatsCombined sum;
  for (const auto& t : combined) {
    if (i < t.size()) {
      sum.packets += t[i].packets;
      sum.bytes += t[i].bytes;
    }
  }
  return sum;
}

const StatsEntry* StatsSnapshot::Find(std::string_view name) const {
  for (const StatsEntry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// Checked access to the mapping. Every load is an atomic relaxed load of an
// aligned word (or byte) whose offset was checked first; every byte copied
// out is charged to a budget.
class StatsSegment::View {
 public:
  View(const uint8_t* data, size_t size, uint64_t base, size_t budget)
      : data_(data), size_(size), base_(base), budget_(budget) {}

  bool U64(uint64_t off, uint64_t* out) const {
    if (off % 8 != 0 || size_ < 8 || off > size_ - 8) return false;
    *out = __atomic_load_n(reinterpret_cast<const uint64_t*>(data_ + off), __ATOMIC_RELAXED);
    return true;
  }
  uint64_t U64Or0(uint64_t off) const {
    uint64_t v = 0;
    return U64(off, &v) ? v : 0;
  }
  uint64_t AcquireU64(uint64_t off) const {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(data_ + off), __ATOMIC_ACQUIRE);
  }
  bool U8(uint64_t off, uint8_t* out) const {
    if (off >= size_) return false;
    *out = __atomic_load_n(data_ + off, __ATOMIC_RELAXED);
    return true;
  }

  // A VPP-side pointer to an offset in the mapping: inside it, not offset 0
  // (VPP's own clients reject `base` itself), 8-aligned (every vector VPP
  // makes is).
  std::optional<uint64_t> Relocate(uint64_t ptr) const {
    if (ptr < base_) return std::nullopt;
    const uint64_t off = ptr - base_;
    if (off == 0 || off >= size_ || off % 8 != 0) return std::nullopt;
    return off;
  }

  struct Vec {
    uint64_t off = 0;
    uint32_t len = 0;
  };
  // A vector of `elt` byte elements at VPP pointer `ptr`: its u32 length at
  // ptr - 8, and the whole data inside the mapping.
  std::optional<Vec> Vector(uint64_t ptr, uint64_t elt) const {
    std::optional<uint64_t> off = Relocate(ptr);
    if (!off || *off < 8) return std::nullopt;
    uint64_t word = 0;
    if (!U64(*off - 8, &word)) return std::nullopt;
    const uint32_t len = static_cast<uint32_t>(word);  // low half on little-endian hosts
    if (static_cast<uint64_t>(len) * elt > size_ - *off) return std::nullopt;
    return Vec{*off, len};
  }

  // Charges `bytes` to the read's budget; false once it is exhausted.
  bool Charge(uint64_t bytes) {
    if (bytes > budget_) {
      exhausted_ = true;
      budget_ = 0;
      return false;
    }
    budget_ -= bytes;
    return true;
  }
  bool exhausted() const { return exhausted_; }

  // Bytes up to the first NUL, at most `max`, as a string.
  std::string String(uint64_t off, size_t max) const {
    std::string s;
    for (size_t i = 0; i < max; ++i) {
      uint8_t c = 0;
      if (!U8(off + i, &c) || c == 0) break;
      s.push_back(static_cast<char>(c));
    }
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t base_;
  size_t budget_;
  bool exhausted_ = false;
};

namespace {

StatsType MapType(uint32_t raw, StatsLayout layout) {
  if (layout == StatsLayout::kLegacyV2) {
    switch (raw) {
      case 0:
      case 1:
      case 2:
      case 3:
        return static_cast<StatsType>(raw);
      case 4:
        return StatsType::kErrorIndex;
      case 5:
        return StatsType::kNameVector;
      case 6:
        return StatsType::kEmpty;
      case 7:
        return StatsType::kSymlink;
      default:
        return StatsType::kUnknown;
    }
  }
  return raw <= 9 ? static_cast<StatsType>(raw) : StatsType::kUnknown;
}

}  // namespace

StatsSegment::StatsSegment(const uint8_t* data, size_t size, bool owned,
                           StatsSegmentOptions options)
    : data_(data), size_(size), owned_(owned), options_(std::move(options)) {}

StatsSegment::~StatsSegment() {
  if (owned_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

absl::StatusOr<std::unique_ptr<StatsSegment>> StatsSegment::Attach(const void* data, size_t size,
                                                                   StatsSegmentOptions options) {
  if (data == nullptr || reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    return absl::InvalidArgumentError("stats segment memory must be 8-aligned");
  }
  std::unique_ptr<StatsSegment> s(
      new StatsSegment(static_cast<const uint8_t*>(data), size, false, std::move(options)));
  absl::Status st = s->CheckHeader();
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<std::unique_ptr<StatsSegment>> StatsSegment::Connect(const std::string& socket_path,
                                                                    StatsSegmentOptions options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrCat("stats socket path \"", socket_path, "\" is empty or too long"));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  Fd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return absl::InternalError(Errno("socket"));
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to VPP stats socket ", socket_path,
                                               ": ", std::strerror(errno)));
  }
  // VPP sends the descriptor when its main loop gets to the accept: wait for
  // it with a deadline (STATS.md §1.5).
  pollfd pfd{sock.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(options.connect_timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) {
    return absl::UnavailableError(absl::StrCat("no stats segment from ", socket_path, " within ",
                                               options.connect_timeout.count(), " ms"));
  }
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::UnavailableError(
        absl::StrCat("reading stats socket ", socket_path, ": ", std::strerror(errno)));
  }
  // Take the first descriptor of the first SCM_RIGHTS message; close any
  // other a peer might have sent.
  Fd memfd;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (memfd.get() < 0) {
        memfd.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if (memfd.get() < 0) {
    return absl::UnavailableError(
        absl::StrCat("stats socket ", socket_path, " sent no file descriptor"));
  }
  struct stat st {};
  if (::fstat(memfd.get(), &st) != 0) return absl::InternalError(Errno("fstat stats segment"));
  if (!S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(kHeaderBytes) ||
      static_cast<uint64_t>(st.st_size) > options.max_segment_bytes) {
    return absl::FailedPreconditionError(absl::StrCat("stats segment from ", socket_path,
                                                      " has an unusable size (",
                                                      static_cast<int64_t>(st.st_size), " bytes)"));
  }
  // A segment that could shrink under the mapping would make reads fault.
  const int seals = ::fcntl(memfd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("stats segment from ", socket_path,
                     " is not sealed against shrinking (F_SEAL_SHRINK); refusing to map it"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, memfd.get(), 0);
  if (map == MAP_FAILED) return absl::InternalError(Errno("mmap stats segment"));
  std::unique_ptr<StatsSegment> s(
      new StatsSegment(static_cast<const uint8_t*>(map), size, true, std::move(options)));
  absl::Status hs = s->CheckHeader();
  if (!hs.ok()) return hs;
  return s;
}

absl::Status StatsSegment::CheckHeader() {
  if (size_ < kHeaderBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("stats segment too small (", size_, " bytes)"));
  }
  View v(data_, size_, 0, 0);
  const uint64_t version = v.U64Or0(kOffVersion);
  if (version == 1) {
    return absl::FailedPreconditionError(
        "stats segment layout version 1 (VPP 19.08-20.05) is not supported; need version 2");
  }
  if (version != 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown stats segment layout version ", version, "; need version 2"));
  }
  const uint64_t base = v.U64Or0(kOffBase);
  const uint64_t error_vector = v.U64Or0(kOffErrorVector);
  layout_ = StatsLayout::kV2;
  if (error_vector != 0) {
    // 20.09-22.02 kept a pointer to the error vector here; 22.06+ keeps 0.
    View rel(data_, size_, base, 0);
    if (!rel.Relocate(error_vector)) {
      return absl::DataLossError("stats segment header is corrupt (offset 40)");
    }
    layout_ = StatsLayout::kLegacyV2;
  }
  return absl::OkStatus();
}

absl::StatusOr<StatsSnapshot> StatsSegment::Read(const std::vector<std::string>& names) {
  return ReadImpl(&names);
}

absl::StatusOr<StatsSnapshot> StatsSegment::ReadAll() { return ReadImpl(nullptr); }

absl::StatusOr<StatsSnapshot> StatsSegment::ReadImpl(const std::vector<std::string>* names) {
  for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
    absl::StatusOr<std::optional<StatsSnapshot>> r = Attempt(names, attempt);
    if (!r.ok()) return r.status();
    if (r->has_value()) return std::move(**r);
    ++retries_;
    cache_valid_ = false;
    std::this_thread::yield();
  }
  return absl::UnavailableError(absl::StrCat("stats segment kept changing: no consistent read in ",
                                             options_.max_attempts, " attempts"));
}

absl::StatusOr<std::optional<StatsSnapshot>> StatsSegment::Attempt(
    const std::vector<std::string>* names, int attempt) {
  View header(data_, size_, 0, 0);
  const uint64_t base = header.U64Or0(kOffBase);
  View v(data_, size_, base, options_.max_copy_bytes);

  // 1. The epoch, once no writer holds the lock (bounded spin).
  const uint64_t epoch = v.AcquireU64(kOffEpoch);
  if (v.AcquireU64(kOffInProgress) != 0) {
    const auto deadline = std::chrono::steady_clock::now() + options_.max_spin;
    for (int spins = 0; v.AcquireU64(kOffInProgress) != 0; ++spins) {
      if ((spins & 63) == 63) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::yield();
      }
    }
  }
  if (v.AcquireU64(kOffEpoch) != epoch) return std::nullopt;

  // 2. The directory, relocated and bounds-checked afresh.
  std::optional<View::Vec> dir = v.Vector(v.U64Or0(kOffDirectory), kEntryBytes);
  if (!dir) return absl::DataLossError("stats segment directory pointer is invalid");
  const uint64_t dir_off = dir->off;
  const uint32_t dir_len = dir->len;

  auto entry_off = [&](uint32_t i) { return dir_off + kEntryBytes * i; };
  auto raw_type = [&](uint32_t i) {
    return MapType(static_cast<uint32_t>(v.U64Or0(entry_off(i))), layout_);
  };
  auto entry_name = [&](uint32_t i) {
    return v.String(entry_off(i) + kEntryNameOffset, kEntryNameBytes);
  };
  auto scan = [&]() -> bool {
    ++directory_scans_;
    index_.clear();
    if (!v.Charge(static_cast<uint64_t>(dir_len) * kEntryBytes)) return false;
    for (uint32_t i = 0; i < dir_len; ++i) {
      StatsType t = raw_type(i);
      if (t == StatsType::kEmpty || t == StatsType::kIllegal) continue;
      index_.emplace(entry_name(i), i);  // the first of duplicate names wins
    }
    cache_epoch_ = epoch;
    cache_valid_ = true;
    return true;
  };

  // Decodes entry i into *out; false when it is gone (EMPTY, or a vector
  // entry whose data pointer is 0: a removal in progress, §3.3).
  auto decode = [&](uint32_t i, StatsEntry* out) -> bool {
    const uint64_t e = entry_off(i);
    out->index = i;
    out->type = raw_type(i);
    out->name = entry_name(i);
    const uint64_t u = v.U64Or0(e + 8);
    // [thread][object] of `elt`-byte elements behind a per-thread pointer vector.
    auto per_thread = [&](uint64_t data, uint64_t elt, auto&& store) {
      std::optional<View::Vec> threads = v.Vector(data, 8);
      if (!threads || !v.Charge(static_cast<uint64_t>(threads->len) * 8)) return;
      for (uint32_t t = 0; t < threads->len; ++t) {
        std::optional<View::Vec> col = v.Vector(v.U64Or0(threads->off + 8ull * t), elt);
        if (!col || !v.Charge(static_cast<uint64_t>(col->len) * elt)) {
          store(t, View::Vec{0, 0});
          continue;
        }
        store(t, *col);
      }
    };
    auto simple_store = [&](uint32_t t, View::Vec col) {
      if (out->simple.size() <= t) out->simple.resize(t + 1);
      auto& dst = out->simple[t];
      dst.resize(col.len);
      for (uint32_t k = 0; k < col.len; ++k) dst[k] = v.U64Or0(col.off + 8ull * k);
    };
    auto combined_store = [&](uint32_t t, View::Vec col) {
      if (out->combined.size() <= t) out->combined.resize(t + 1);
      auto& dst = out->combined[t];
      dst.resize(col.len);
      for (uint32_t k = 0; k < col.len; ++k) {
        dst[k].packets = v.U64Or0(col.off + 16ull * k);
        dst[k].bytes = v.U64Or0(col.off + 16ull * k + 8);
      }
    };
    switch (out->type) {
      case StatsType::kEmpty:
      case StatsType::kIllegal:
        return false;
      case StatsType::kScalar:
      case StatsType::kGauge:
        out->scalar = u;
        return true;
      case StatsType::kCounterSimple:
      case StatsType::kHistogramLog2:
        if (u == 0) return false;
        per_thread(u, 8, simple_store);
        return true;
      case StatsType::kCounterCombined:
        if (u == 0) return false;
        per_thread(u, 16, combined_store);
        return true;
      case StatsType::kNameVector: {
        if (u == 0) return true;  // attached just after creation (§3.1 f)
        std::optional<View::Vec> vec = v.Vector(u, 8);
        if (!vec || !v.Charge(static_cast<uint64_t>(vec->len) * 8)) return true;
        out->names.resize(vec->len);
        for (uint32_t k = 0; k < vec->len; ++k) {
          const uint64_t p = v.U64Or0(vec->off + 8ull * k);
          if (p == 0) continue;
          std::optional<View::Vec> s = v.Vector(p, 1);
          if (!s || !v.Charge(s->len)) continue;
          out->names[k] = v.String(s->off, s->len);
        }
        return true;
      }
      case StatsType::kSymlink: {
        const uint32_t target = static_cast<uint32_t>(u);
        const uint32_t object = static_cast<uint32_t>(u >> 32);
        out->symlink_entry = target;
        out->symlink_object = object;
        if (target >= dir_len) return true;
        const StatsType tt = raw_type(target);
        const uint64_t tdata = v.U64Or0(entry_off(target) + 8);
        if (tdata == 0) return true;
        // One value per thread: column `object` of the target counter.
        if (tt == StatsType::kCounterSimple) {
          per_thread(tdata, 8, [&](uint32_t t, View::Vec col) {
            if (out->simple.size() <= t) out->simple.resize(t + 1);
            out->simple[t] = {object < col.len ? v.U64Or0(col.off + 8ull * object) : 0};
          });
        } else if (tt == StatsType::kCounterCombined) {
          per_thread(tdata, 16, [&](uint32_t t, View::Vec col) {
            if (out->combined.size() <= t) out->combined.resize(t + 1);
            StatsCombined c;
            if (object < col.len) {
              c.packets = v.U64Or0(col.off + 16ull * object);
              c.bytes = v.U64Or0(col.off + 16ull * object + 8);
            }
            out->combined[t] = {c};
          });
        }
        return true;
      }
      case StatsType::kErrorIndex: {
        // Legacy: the union is an index into the header's error vector
        // (per-thread pointers to u64 vectors); report the sum.
        per_thread(v.U64Or0(kOffErrorVector), 8, [&](uint32_t, View::Vec col) {
          if (u < col.len) out->scalar += v.U64Or0(col.off + 8 * u);
        });
        return true;
      }
      case StatsType::kRingBuffer:
      case StatsType::kUnknown:
        return true;  // type and name only
    }
    return true;
  };

  StatsSnapshot snap;
  snap.epoch = epoch;
  if (names == nullptr) {
    if (!v.Charge(static_cast<uint64_t>(dir_len) * kEntryBytes)) {
      return absl::ResourceExhaustedError("stats segment directory exceeds the read budget");
    }
    for (uint32_t i = 0; i < dir_len && !v.exhausted(); ++i) {
      StatsEntry entry;
      if (decode(i, &entry)) snap.entries.push_back(std::move(entry));
    }
  } else {
    if ((!cache_valid_ || cache_epoch_ != epoch) && !scan()) {
      return absl::ResourceExhaustedError("stats segment directory exceeds the read budget");
    }
    bool rescanned = false;
    for (const std::string& name : *names) {
      for (int pass = 0; pass < 2; ++pass) {
        auto it = index_.find(name);
        if (it == index_.end()) break;
        StatsEntry entry;
        // A cached index must still name this entry (a removal changes the
        // slot without an epoch bump).
        if (it->second < dir_len && entry_name(it->second) == name && decode(it->second, &entry) &&
            entry.name == name) {
          snap.entries.push_back(std::move(entry));
          break;
        }
        if (rescanned || pass == 1) break;
        rescanned = true;
        if (!scan()) break;
      }
      if (v.exhausted()) break;
    }
  }
  if (v.exhausted()) {
    return absl::ResourceExhaustedError(absl::StrCat("stats segment read exceeds the budget of ",
                                                     options_.max_copy_bytes, " bytes"));
  }
  if (options_.after_copy) options_.after_copy(attempt);

  // 3. Keep the copy only if no writer came by meanwhile.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (v.AcquireU64(kOffInProgress) != 0 || v.AcquireU64(kOffEpoch) != epoch) return std::nullopt;
  return std::optional<StatsSnapshot>(std::move(snap));
}

}  // namespace maglev
