#include "vppsim/lb_model.h"

#include <algorithm>
#include <cstdio>

#include "common/ip_address.h"
#include "common/log.h"

namespace maglev::vppsim {
namespace {

// VPP's GC constants: per-VIP GC at most every 60 s; a removed AS is kept
// 10 s after its last use (lb.c LB_GARBAGE_RUN / LB_CONCURRENCY_TIMEOUT).
constexpr uint32_t kGarbageRunSeconds = 60;
constexpr uint32_t kConcurrencyTimeoutSeconds = 10;

// clib_u32_loop_gt: a > b on a wrapping u32 clock.
bool LoopGt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

// vppinfra's is_pow2 (0 passes, quirk 8).
bool IsPow2(uint32_t x) { return (x & (x - 1)) == 0; }

// Load-balances a fresh VPP has allocated before lb adds anything: its first
// FIB entry then gets index 8 (inferred from a real VPP's "dpo:" numbers,
// real-vpp-answers.json: the first AS host route after nine VIP prefixes is 17).
constexpr uint32_t kBootLoadBalances = 8;
// lb_hash_time_now(): whole seconds since start + 10000.
constexpr uint32_t kLbTimeOffset = 10000;

// format_ip6_address: hex groups, the first longest run (> 1) of zero groups
// as "::", never a dotted quad.
std::string FormatVppIp6(const uint8_t* b) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i > 1) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char buf[8];
  bool after_colons = false;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      after_colons = true;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%s%x", (after_colons || i == 0) ? "" : ":", g[i]);
    out += buf;
    after_colons = false;
  }
  return out;
}

std::string FormatVppIp46(const Ip46& a) {
  if (Ip46IsIp4(a)) return IpAddress::FromV4Bytes(a.data() + 12).ToString();
  return FormatVppIp6(a.data());
}

std::string FormatPrefix(const Ip46& prefix, uint8_t plen) {
  // VPP prints an IPv4-looking prefix with its IPv4 length.
  if (Ip46IsIp4(prefix) && plen >= 96) {
    return FormatIp46(prefix) + "/" + std::to_string(plen - 96);
  }
  return FormatVppIp6(prefix.data()) + "/" + std::to_string(plen);
}

uint16_t Swap16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

// The first `plen` bits of `a` and `b` agree.
bool PrefixMatches(const uint8_t* a, const uint8_t* b, int plen) {
  for (int i = 0; plen > 0; ++i, plen -= 8) {
    const uint8_t mask = plen >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - plen));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

const char* const kLbVipCounterNames[kNumVipCounters] = {"packet from existing sessions",
                                                         "first session packet", "untracked packet",
                                                         "no server configured"};

const char* LbVipTypeName(LbVipType t) {
  switch (t) {
    case LbVipType::kIp6Gre6:
      return "ip6-gre6";
    case LbVipType::kIp6Gre4:
      return "ip6-gre4";
    case LbVipType::kIp4Gre6:
      return "ip4-gre6";
    case LbVipType::kIp4Gre4:
      return "ip4-gre4";
    case LbVipType::kIp4L3dsr:
      return "ip4-l3dsr";
    case LbVipType::kIp4Nat4:
      return "ip4-nat4";
    case LbVipType::kIp6Nat6:
      return "ip6-nat6";
  }
  return "_WRONG_TYPE_";
}

uint32_t LbVipTypeEncap(LbVipType t) {
  switch (t) {
    case LbVipType::kIp6Gre4:
    case LbVipType::kIp4Gre4:
      return kEncapGre4;
    case LbVipType::kIp6Gre6:
    case LbVipType::kIp4Gre6:
      return kEncapGre6;
    case LbVipType::kIp4L3dsr:
      return kEncapL3dsr;
    case LbVipType::kIp4Nat4:
      return kEncapNat4;
    case LbVipType::kIp6Nat6:
      return kEncapNat6;
  }
  return kEncapGre6;
}

bool LbVipTypeIsIp4(LbVipType t) {
  return t == LbVipType::kIp4Gre6 || t == LbVipType::kIp4Gre4 || t == LbVipType::kIp4L3dsr ||
         t == LbVipType::kIp4Nat4;
}

bool LbVipTypeEncapIsIp4(LbVipType t) {
  return t == LbVipType::kIp6Gre4 || t == LbVipType::kIp4Gre4 || t == LbVipType::kIp4L3dsr ||
         t == LbVipType::kIp4Nat4;
}

bool Ip46IsIp4(const Ip46& a) {
  return std::all_of(a.begin(), a.begin() + 12, [](uint8_t b) { return b == 0; });
}

std::string FormatIp46(const Ip46& a) {
  if (Ip46IsIp4(a)) return IpAddress::FromV4Bytes(a.data() + 12).ToString();
  return IpAddress::FromV6Bytes(a.data()).ToString();
}

Ip46 DecodeApiAddress(const ApiAddress& a) {
  Ip46 out{};
  if (a.af == 0) {
    std::copy(a.un.begin(), a.un.begin() + 4, out.begin() + 12);
  } else {
    // af 1, and (VPP leaves other values undefined) anything else: IPv6.
    out = a.un;
  }
  return out;
}

uint32_t LbVip::num_ases() const {
  return static_cast<uint32_t>(
      std::count_if(as_slots.begin(), as_slots.end(), [](const auto& s) { return s.has_value(); }));
}

LbModel::LbModel(Options options, Clock clock) : options_(options), clock_(std::move(clock)) {
  // Slot 0 of each pool is VPP's placeholder: the VIP is never dumped or
  // matched, the AS is the drop target of empty tables.
  LbVip placeholder_vip;
  placeholder_vip.prefix.fill(0xff);
  placeholder_vip.active = true;
  // One bucket, AS 0: what per-port traffic matching no VIP hits (§5.1).
  placeholder_vip.table_length = 1;
  placeholder_vip.new_flow_table = {0};
  vips_.push_back(placeholder_vip);
  if (options_.num_threads == 0) options_.num_threads = 1;
  lb_used_.assign(kBootLoadBalances, true);
  route_packets_.assign(kBootLoadBalances, 0);
  for (auto& c : counters_) c.resize(options_.num_threads);
  sticky_.resize(options_.num_threads);
  LbAs placeholder_as;
  placeholder_as.address.fill(0xff);
  placeholder_as.vip_index = ~0u;
  ases_.push_back(placeholder_as);
}

uint32_t LbModel::NowSeconds() const {
  double now = clock_ ? clock_() : 0.0;
  return now <= 0 ? 0u : static_cast<uint32_t>(static_cast<uint64_t>(now));
}

size_t LbModel::num_vip_slots() const {
  return static_cast<size_t>(std::count_if(vips_.begin(), vips_.end(),
                                           [](const auto& v) { return v.has_value(); })) -
         1;
}

size_t LbModel::num_as_slots() const {
  return static_cast<size_t>(std::count_if(ases_.begin(), ases_.end(),
                                           [](const auto& a) { return a.has_value(); })) -
         1;
}

LbModel::VipKey LbModel::Normalise(const ApiVipKey& k) {
  VipKey key;
  key.prefix = DecodeApiAddress(k.address);
  key.plen = k.address.af == 0 ? static_cast<uint8_t>(k.len + 96) : k.len;
  // Host bits beyond the length are cleared before any lookup or insert.
  const int bits = std::min<int>(key.plen, 128);
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    key.prefix[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  key.port = k.port;
  key.protocol = k.port == 0 ? kProtocolAny : k.protocol;
  return key;
}

std::optional<uint32_t> LbModel::FindVip(const VipKey& key, Lookup how) const {
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (!vips_[i] || !vips_[i]->active) continue;
    const LbVip& v = *vips_[i];
    if (v.plen != key.plen || v.prefix != key.prefix) continue;
    switch (how) {
      case Lookup::kSame:
        if (v.protocol == key.protocol && v.port == key.port) return i;
        break;
      case Lookup::kAllPort:
        if (v.port == 0) return i;
        break;
      case Lookup::kDiffPort:
        if (v.protocol != key.protocol || v.port != key.port) return i;
        break;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> LbModel::FindAsInVip(const LbVip& vip, const Ip46& addr) const {
  for (const auto& slot : vip.as_slots) {
    if (slot && ases_[*slot]->address == addr) return *slot;
  }
  return std::nullopt;
}

uint32_t LbModel::AllocVip() {
  // vppinfra pools reuse the most recently freed slot first.
  if (!free_vips_.empty()) {
    uint32_t i = free_vips_.back();
    free_vips_.pop_back();
    vips_[i].emplace();
    return i;
  }
  vips_.emplace_back(LbVip{});
  return static_cast<uint32_t>(vips_.size() - 1);
}

uint32_t LbModel::AllocAs() {
  if (!free_ases_.empty()) {
    uint32_t i = free_ases_.back();
    free_ases_.pop_back();
    ases_[i].emplace();
    return i;
  }
  ases_.emplace_back(LbAs{});
  return static_cast<uint32_t>(ases_.size() - 1);
}

void LbModel::RebuildTable(LbVip& vip) {
  std::vector<MaglevEntry> entries;
  std::vector<uint32_t> index_of;
  for (const auto& slot : vip.as_slots) {
    if (!slot) continue;
    LbAs& as = *ases_[*slot];
    as.num_buckets = 0;
    if (!as.active) continue;
    entries.push_back(MaglevEntry{as.address, as.weight});
    index_of.push_back(*slot);
  }
  const MaglevMode mode = options_.legacy ? MaglevMode::kLegacy : MaglevMode::kWeighted;
  vip.new_flow_table.clear();
  if (vip.table_length == 0) {
    // VPP would allocate 2^32 entries here (quirk 8); nothing sensible to model.
    LogError("vppsim-zero-table-length", {{"vip", FormatPrefix(vip.prefix, vip.plen)}});
    return;
  }
  if (vip.table_length > options_.max_materialised_table) {
    std::vector<uint32_t> counts = ComputeMaglevBucketCounts(entries, vip.table_length, mode);
    for (size_t i = 0; i < counts.size(); ++i) ases_[index_of[i]]->num_buckets = counts[i];
    return;
  }
  std::vector<uint32_t> table = BuildNewFlowTable(entries, vip.table_length, mode);
  vip.new_flow_table.resize(table.size());
  for (size_t b = 0; b < table.size(); ++b) {
    if (table[b] == kMaglevNoServer) {
      vip.new_flow_table[b] = 0;
    } else {
      uint32_t as_index = index_of[table[b]];
      vip.new_flow_table[b] = as_index;
      ++ases_[as_index]->num_buckets;
    }
  }
}

void LbModel::FreeAs(LbVip& vip, size_t slot) {
  uint32_t as_index = *vip.as_slots[slot];
  FibRemove(AsFibKey(vip, *ases_[as_index]), /*rr=*/true);
  LogDebug("vppsim-gc-free-as", {{"as", FormatIp46(ases_[as_index]->address)},
                                 {"vip", FormatPrefix(vip.prefix, vip.plen)}});
  ases_[as_index].reset();
  free_ases_.push_back(as_index);
  vip.as_slots[slot].reset();
  vip.free_as_slots.push_back(static_cast<uint32_t>(slot));
}

void LbModel::VipGc(LbVip& vip) {
  const uint32_t now = NowSeconds();
  if (!LoopGt(now, vip.last_gc + kGarbageRunSeconds)) return;
  vip.last_gc = now;
  for (size_t slot = 0; slot < vip.as_slots.size(); ++slot) {
    if (!vip.as_slots[slot]) continue;
    const uint32_t as_index = *vip.as_slots[slot];
    const LbAs& as = *ases_[as_index];
    // Freed only when no sticky entry references it any more.
    if (!as.active && LoopGt(now, as.last_used + kConcurrencyTimeoutSeconds) &&
        AsRefcount(as_index) == 0) {
      FreeAs(vip, slot);
    }
  }
}

void LbModel::BackgroundGc() {
  std::vector<uint32_t> to_free;
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (!vips_[i]) continue;
    VipGc(*vips_[i]);
    if (!vips_[i]->active && vips_[i]->num_ases() == 0) to_free.push_back(i);
  }
  for (uint32_t i : to_free) {
    LogDebug("vppsim-gc-free-vip", {{"vip", FormatPrefix(vips_[i]->prefix, vips_[i]->plen)},
                                    {"index", static_cast<uint64_t>(i)}});
    vips_[i].reset();
    free_vips_.push_back(i);
  }
}

void LbModel::FlushAs(uint32_t vip_index, uint32_t as_index) {
  ++sticky_flushes_;
  for (auto& table : sticky_) {
    if (!table) continue;
    for (StickyBucket& b : table->buckets) {
      for (int i = 0; i < 4; ++i) {
        if (vip_index == ~0u || (b.vip[i] == vip_index && as_index == ~0u) ||
            (b.vip[i] == vip_index && b.value[i] == as_index)) {
          // The entry keeps its expiry: the slot stays unusable until then.
          AddRef(b.value[i], -1);
          AddRef(0, 1);
          b.vip[i] = ~0u;
          b.value[i] = 0;
        }
      }
    }
    if (vip_index == ~0u) table.reset();
  }
}

void LbModel::FlushAllFlowTables() { FlushAs(~0u, ~0u); }

void LbModel::AddRef(uint32_t as_index, int64_t delta) {
  if (as_index >= as_refcount_.size()) as_refcount_.resize(static_cast<size_t>(as_index) + 1, 0);
  as_refcount_[as_index] += delta;
}

int64_t LbModel::AsRefcount(uint32_t as_index) const {
  return as_index < as_refcount_.size() ? as_refcount_[as_index] : 0;
}

uint32_t LbModel::IndexOf(const LbVip& vip) const {
  for (uint32_t i = 0; i < vips_.size(); ++i) {
    if (vips_[i] && &*vips_[i] == &vip) return i;
  }
  return 0;
}

void LbModel::set_stats_sink(LbStatsSink* sink) {
  sink_ = sink;
  if (sink_ == nullptr) return;
  for (uint32_t lb = 0; lb < lb_used_.size(); ++lb) {
    if (lb_used_[lb]) sink_->ResetRoute(lb);
  }
}

LbModel::FibKey LbModel::VipFibKey(const LbVip& vip) {
  FibKey k;
  k.ip6 = !LbVipTypeIsIp4(vip.type);
  k.prefix = vip.prefix;
  k.plen = k.ip6 ? vip.plen : static_cast<uint8_t>(vip.plen - 96);
  return k;
}

LbModel::FibKey LbModel::AsFibKey(const LbVip& vip, const LbAs& as) const {
  FibKey k;
  k.ip6 = !LbVipTypeEncapIsIp4(vip.type);
  k.prefix = as.address;
  k.plen = k.ip6 ? 128 : 32;
  return k;
}

uint32_t LbModel::FibAdd(const FibKey& key, bool rr) {
  auto it = fib_.find(key);
  if (it == fib_.end()) {
    // A new FIB entry owns a new load-balance (VPP's pools: most recently
    // freed index first), its route counters zeroed.
    FibEntry e;
    if (!free_lbs_.empty()) {
      e.lb_index = free_lbs_.back();
      free_lbs_.pop_back();
      lb_used_[e.lb_index] = true;
    } else {
      e.lb_index = static_cast<uint32_t>(lb_used_.size());
      lb_used_.push_back(true);
      route_packets_.push_back(0);
    }
    route_packets_[e.lb_index] = 0;
    if (sink_) sink_->ResetRoute(e.lb_index);
    it = fib_.emplace(key, e).first;
  }
  ++(rr ? it->second.rr_refs : it->second.lb_refs);
  return it->second.lb_index;
}

void LbModel::FibRemove(const FibKey& key, bool rr) {
  auto it = fib_.find(key);
  if (it == fib_.end()) return;
  uint32_t& refs = rr ? it->second.rr_refs : it->second.lb_refs;
  if (refs > 0) --refs;
  if (it->second.rr_refs == 0 && it->second.lb_refs == 0) {
    lb_used_[it->second.lb_index] = false;
    free_lbs_.push_back(it->second.lb_index);
    fib_.erase(it);
  }
}

bool LbModel::OtherPortVipOnPrefix(const LbVip& vip, uint32_t self) const {
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (i == self || !vips_[i] || !vips_[i]->active) continue;
    const LbVip& o = *vips_[i];
    if (o.prefix == vip.prefix && o.plen == vip.plen && o.port != 0) return true;
  }
  return false;
}

std::optional<uint32_t> LbModel::RouteStatsIndex(bool ip6, const Ip46& prefix, uint8_t plen) const {
  FibKey k;
  k.ip6 = ip6;
  k.prefix = prefix;
  k.plen = plen;
  // Host bits beyond the length do not name another route.
  const int bits = ip6 ? plen : plen + 96;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    k.prefix[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  auto it = fib_.find(k);
  if (it == fib_.end()) return std::nullopt;
  return it->second.lb_index;
}

uint64_t LbModel::RoutePackets(uint32_t lb_index) const {
  return lb_index < route_packets_.size() ? route_packets_[lb_index] : 0;
}

uint64_t LbModel::VipCounter(LbVipCounter counter, uint32_t vip_index) const {
  uint64_t sum = 0;
  for (const auto& t : counters_[counter]) {
    if (vip_index < t.size()) sum += t[vip_index];
  }
  return sum;
}

LbModel::StickyTable& LbModel::GetStickyTable(uint32_t thread) {
  std::optional<StickyTable>& t = sticky_[thread];
  // lb_hash_alloc(0) would make a table VPP then overruns; one bucket here.
  const uint32_t buckets = std::max<uint32_t>(conf_.sticky_buckets_per_core, 1);
  if (t && t->buckets.size() != buckets) {
    // The bucket count changed: every reference dropped, table re-created.
    for (const StickyBucket& b : t->buckets) {
      for (int i = 0; i < 4; ++i) {
        AddRef(b.value[i], -1);
        AddRef(0, 1);
      }
    }
    t.reset();
  }
  if (!t) {
    t.emplace();
    t->buckets.resize(buckets);
  }
  t->timeout = conf_.flow_timeout;
  return *t;
}

std::optional<LbPacketResult> LbModel::InjectPacket(const LbFlow& flow, uint32_t thread,
                                                    uint32_t ip_length) {
  if (thread >= options_.num_threads) thread = 0;
  // ip4-/ip6-lookup: the longest prefix of table 0 that covers the
  // destination; lb handles the packet only when that is a VIP route.
  Ip46 dst{};
  if (flow.ip6) {
    dst = flow.dst;
  } else {
    std::copy(flow.dst.begin(), flow.dst.begin() + 4, dst.begin() + 12);
  }
  const FibKey* best = nullptr;
  const FibEntry* best_entry = nullptr;
  for (const auto& [key, entry] : fib_) {
    if (key.ip6 != flow.ip6) continue;
    const uint8_t* p = key.ip6 ? key.prefix.data() : key.prefix.data() + 12;
    const uint8_t* d = key.ip6 ? dst.data() : dst.data() + 12;
    if (!PrefixMatches(p, d, key.plen)) continue;
    if (best == nullptr || key.plen > best->plen) {
      best = &key;
      best_entry = &entry;
    }
  }
  if (best == nullptr || best_entry->lb_refs == 0) return std::nullopt;

  LbPacketResult r;
  r.thread = thread;
  r.route_lb = best_entry->lb_index;
  // All-port VIP: the DPO names it. Per-port: (protocol, destination port),
  // else the placeholder 0.
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (!vips_[i] || !vips_[i]->active || !(VipFibKey(*vips_[i]) == *best)) continue;
    const LbVip& v = *vips_[i];
    if (v.port == 0 || (v.protocol == flow.protocol && v.port == flow.dst_port)) {
      r.vip_index = i;
      break;
    }
  }
  ++route_packets_[r.route_lb];
  if (sink_) sink_->CountRoute(thread, r.route_lb, ip_length);

  const LbVip& vip = *vips_[r.vip_index];
  const uint32_t h = LbFlowHash(flow, vip.src_ip_sticky);
  r.hash = h;
  StickyTable& table = GetStickyTable(thread);
  const uint32_t now = NowSeconds() + kLbTimeOffset;
  StickyBucket& b = table.buckets[h & (table.buckets.size() - 1)];
  auto live = [&](int i) { return static_cast<int32_t>(b.timeout[i]) > static_cast<int32_t>(now); };
  // lb_hash_get (SSE4.2 build): the first non-live slot, and the first live
  // slot with this hash and VIP (its expiry refreshed).
  uint32_t available = ~0u;
  uint32_t found = 0;
  for (int i = 0; i < 4; ++i) {
    if (!live(i)) {
      available = static_cast<uint32_t>(i);
      break;
    }
  }
  for (int i = 0; i < 4; ++i) {
    if (live(i) && b.hash[i] == h && b.vip[i] == r.vip_index) {
      found = b.value[i];
      b.timeout[i] = now + table.timeout;
      break;
    }
  }
  auto new_flow_as = [&]() -> uint32_t {
    const uint32_t bucket = LbNewFlowBucket(h, vip.table_length);
    // Tables too long to materialise are not looked up (documented).
    return bucket < vip.new_flow_table.size() ? vip.new_flow_table[bucket] : 0;
  };
  if (found != 0) {
    r.counter = kCounterNextPacket;
    r.as_index = found;
  } else if (available != ~0u) {
    r.as_index = new_flow_as();
    r.counter = r.as_index == 0 ? kCounterNoServer : kCounterFirstPacket;
    AddRef(b.value[available], -1);
    AddRef(r.as_index, 1);
    b.hash[available] = h;
    b.value[available] = r.as_index;
    b.timeout[available] = now + table.timeout;
    b.vip[available] = r.vip_index;
  } else {
    r.as_index = new_flow_as();
    r.counter = kCounterUntracked;
  }
  auto& column = counters_[r.counter][thread];
  if (column.size() <= r.vip_index) column.resize(r.vip_index + 1, 0);
  ++column[r.vip_index];
  if (sink_) sink_->CountVip(r.counter, thread, r.vip_index);
  return r;
}

int32_t LbModel::Conf(const LbConf& requested) {
  LbConf next = requested;
  if (requested.sticky_buckets_per_core == 0xffffffffu) {
    next.sticky_buckets_per_core = conf_.sticky_buckets_per_core;
  }
  if (requested.flow_timeout == 0xffffffffu) next.flow_timeout = conf_.flow_timeout;
  if (!IsPow2(next.sticky_buckets_per_core)) return kRetInvalidMemorySize;
  if (next.sticky_buckets_per_core == 0) {
    LogWarn("vppsim-zero-sticky-buckets", {});
  }
  conf_ = next;
  return kRetOk;
}

int32_t LbModel::AddDelVip(const VipAddDelRequest& r) {
  const VipKey key = Normalise(r.key);
  if (r.is_del) {
    std::optional<uint32_t> index = FindVip(key, Lookup::kSame);
    if (!index) return kRetNoSuchEntry;
    LbVip& vip = *vips_[*index];
    // Every AS is removed (no flush): VPP runs its AS-delete path, which
    // first tries the per-VIP GC and then stamps every AS as used now.
    if (vip.num_ases() > 0) {
      VipGc(vip);
      const uint32_t now = NowSeconds();
      for (const auto& slot : vip.as_slots) {
        if (!slot) continue;
        ases_[*slot]->active = false;
        ases_[*slot]->last_used = now;
      }
      RebuildTable(vip);
    }
    // The VIP's route goes with its last VIP on the prefix (per-port VIPs
    // share one).
    if (vip.port == 0 || !OtherPortVipOnPrefix(vip, *index)) {
      FibRemove(VipFibKey(vip), /*rr=*/false);
    }
    vip.active = false;
    return kRetOk;
  }

  const bool ip4_prefix = Ip46IsIp4(key.prefix) && key.plen >= 96;
  LbVipType type = LbVipType::kIp6Gre6;  // VPP's type 0 for anything unknown
  if (ip4_prefix) {
    if (r.encap == kEncapGre4) type = LbVipType::kIp4Gre4;
    if (r.encap == kEncapGre6) type = LbVipType::kIp4Gre6;
    if (r.encap == kEncapL3dsr) type = LbVipType::kIp4L3dsr;
    if (r.encap == kEncapNat4) type = LbVipType::kIp4Nat4;
  } else {
    // L3DSR, NAT4 or garbage on an IPv6 VIP silently become GRE6 (quirk 7).
    if (r.encap == kEncapGre4) type = LbVipType::kIp6Gre4;
    if (r.encap == kEncapNat6) type = LbVipType::kIp6Nat6;
  }

  if (FindVip(key, Lookup::kSame)) return kRetValueExist;
  if (key.port != 0 && FindVip(key, Lookup::kAllPort)) return kRetValueExist;
  std::optional<uint32_t> other_port = FindVip(key, Lookup::kDiffPort);
  if (key.port == 0 && other_port) return kRetValueExist;
  if (key.port != 0 && other_port && vips_[*other_port]->type != type) return kRetInvalidArgument;
  if (!IsPow2(r.new_flows_table_length)) return kRetInvalidMemorySize;
  if (ip4_prefix != LbVipTypeIsIp4(type)) return kRetInvalidAddressFamily;
  const uint8_t dscp = r.dscp & 0x3f;  // so VPP's "dscp >= 64" check never fires

  const uint32_t index = AllocVip();
  LbVip& vip = *vips_[index];
  vip.prefix = key.prefix;
  vip.plen = key.plen;
  vip.protocol = key.port != 0 ? key.protocol : kProtocolAny;
  vip.port = key.port;
  vip.type = type;
  if (type == LbVipType::kIp4L3dsr) {
    vip.encap_arg = dscp;
  } else if (type == LbVipType::kIp4Nat4 || type == LbVipType::kIp6Nat6) {
    vip.encap_arg = r.srv_type;
    vip.target_port = r.target_port;
  }
  vip.active = true;
  vip.src_ip_sticky = r.src_ip_sticky;
  vip.table_length = r.new_flows_table_length;
  vip.last_gc = NowSeconds();
  RebuildTable(vip);
  // Every add validates the four counters up to this index and zeroes it
  // on every thread (the values of a deleted VIP stay until reuse).
  for (auto& counter : counters_) {
    for (auto& column : counter) {
      if (column.size() <= index) column.resize(index + 1, 0);
      column[index] = 0;
    }
  }
  if (sink_) sink_->ResetVipCounters(index);
  if (vip.port == 0 || !OtherPortVipOnPrefix(vip, index)) FibAdd(VipFibKey(vip), /*rr=*/false);

  if ((type == LbVipType::kIp4Nat4 || type == LbVipType::kIp6Nat6) &&
      r.srv_type == kSrvTypeNodePort) {
    // The VIP stays created even though this reports an error (quirk 10);
    // VPP never releases a node port either.
    if (!node_ports_.insert(key.port).second) return kRetValueExist;
  }
  return kRetOk;
}

int32_t LbModel::AddDelAs(const AsAddDelRequest& r) {
  std::optional<uint32_t> vip_index = FindVip(Normalise(r.vip), Lookup::kSame);
  if (!vip_index) return kRetNoSuchEntry;
  LbVip& vip = *vips_[*vip_index];
  const Ip46 addr = DecodeApiAddress(r.as);
  std::optional<uint32_t> existing = FindAsInVip(vip, addr);

  if (r.is_del) {
    if (!existing) return kRetNoSuchEntry;
    VipGc(vip);
    // The GC may just have freed this very (already removed) AS; VPP then
    // scribbles on the freed slot, which nobody can observe.
    if (ases_[*existing] && ases_[*existing]->vip_index == *vip_index &&
        ases_[*existing]->address == addr) {
      ases_[*existing]->active = false;
      ases_[*existing]->last_used = NowSeconds();
      if (r.is_flush) FlushAs(*vip_index, *existing);
    }
    RebuildTable(vip);
    return kRetOk;
  }

  const uint8_t weight = r.v2 ? r.weight : 100;
  if (existing) {
    LbAs& as = *ases_[*existing];
    if (as.active) return kRetValueExist;  // not an update (quirk 9)
    as.active = true;
    as.weight = weight;
    if (r.v2 && r.is_flush) FlushAs(*vip_index, *existing);
  } else {
    if (Ip46IsIp4(addr) != LbVipTypeEncapIsIp4(vip.type)) return kRetInvalidAddressFamily;
    const uint32_t as_index = AllocAs();
    LbAs& as = *ases_[as_index];
    as.address = addr;
    as.vip_index = *vip_index;
    as.active = true;
    as.weight = weight;
    if (!vip.free_as_slots.empty()) {
      uint32_t slot = vip.free_as_slots.back();
      vip.free_as_slots.pop_back();
      vip.as_slots[slot] = as_index;
    } else {
      vip.as_slots.emplace_back(as_index);
    }
    // Its host route (FIB source RR) is what the AS's DPO stacks on.
    as.dpo = FibAdd(AsFibKey(vip, as), /*rr=*/true);
  }
  RebuildTable(vip);
  VipGc(vip);
  return kRetOk;
}

int32_t LbModel::SetWeight(const AsSetWeightRequest& r) {
  std::optional<uint32_t> vip_index = FindVip(Normalise(r.vip), Lookup::kSame);
  if (!vip_index) return kRetNoSuchEntry;
  LbVip& vip = *vips_[*vip_index];
  std::optional<uint32_t> as_index = FindAsInVip(vip, DecodeApiAddress(r.as));
  if (!as_index || !ases_[*as_index]->active) return kRetNoSuchEntry;
  ases_[*as_index]->weight = r.weight;  // no range check, as in VPP
  RebuildTable(vip);
  if (r.is_flush) FlushAs(*vip_index, *as_index);
  return kRetOk;
}

int32_t LbModel::FlushVip(const ApiVipKey& key) {
  // VPP ignores the lookup's result; an unknown VIP flushes nothing here.
  if (std::optional<uint32_t> index = FindVip(Normalise(key), Lookup::kSame)) {
    FlushAs(*index, ~0u);
  }
  return kRetOk;
}

int32_t LbModel::AddDelIntfNat(bool ip6, bool is_add, uint32_t sw_if_index) {
  if (sw_if_index >= options_.num_interfaces) return kRetInvalidSwIfIndex;
  std::set<uint32_t>& set = ip6 ? nat6_interfaces_ : nat4_interfaces_;
  if (is_add) {
    set.insert(sw_if_index);
  } else {
    set.erase(sw_if_index);
  }
  return kRetOk;
}

std::vector<uint32_t> LbModel::VipDump() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (vips_[i] && vips_[i]->active) out.push_back(i);
  }
  return out;
}

std::vector<LbModel::AsRef> LbModel::AsDump(const ApiVipKey& filter) const {
  const bool dump_all =
      std::all_of(filter.address.un.begin(), filter.address.un.end(), [](uint8_t b) { return !b; });
  std::vector<AsRef> out;
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (!vips_[i]) continue;
    const LbVip& vip = *vips_[i];
    // Raw bytes against the stored ip46 prefix; len and af ignored; no
    // port-0 rewrite of the protocol (quirk 2).
    if (!dump_all && (filter.address.un != vip.prefix || filter.protocol != vip.protocol ||
                      filter.port != vip.port)) {
      continue;
    }
    for (const auto& slot : vip.as_slots) {
      if (slot) out.push_back(AsRef{i, *slot});
    }
  }
  return out;
}

std::string LbModel::ShowVips(bool verbose) const {
  // One vlib_cli_output(vm, "%U\n", ...) per VIP except the placeholder, in
  // pool order: format_lb_vip (one line) or format_lb_vip_detailed (a block
  // ending in "\n", so a blank line follows).
  std::string out;
  char buf[256];
  for (uint32_t i = 1; i < vips_.size(); ++i) {
    if (!vips_[i]) continue;
    const LbVip& vip = *vips_[i];
    const std::string prefix = FormatPrefix(vip.prefix, vip.plen);
    const bool nat = vip.type == LbVipType::kIp4Nat4 || vip.type == LbVipType::kIp6Nat6;
    const char* nat_type = vip.encap_arg == kSrvTypeClusterIp ? "clusterip" : "nodeport";
    if (!verbose) {
      std::snprintf(buf, sizeof buf, "%s %s new_size:%u #as:%u%s", LbVipTypeName(vip.type),
                    prefix.c_str(), vip.table_length, vip.num_ases(), vip.active ? "" : " removed");
      out += buf;
      if (vip.port != 0) {
        std::snprintf(buf, sizeof buf, "  protocol:%u port:%u ", vip.protocol, vip.port);
        out += buf;
      }
      if (vip.type == LbVipType::kIp4L3dsr) {
        std::snprintf(buf, sizeof buf, "  dscp:%u", vip.encap_arg);
        out += buf;
      } else if (nat) {
        // VPP byte-swaps the host-order port and target port here.
        std::snprintf(buf, sizeof buf, " type:%s port:%u target_port:%u", nat_type,
                      Swap16(vip.port), Swap16(vip.target_port));
        out += buf;
      }
      out += "\n";
      continue;
    }
    std::snprintf(buf, sizeof buf, " %s [%u] %s%s%s\n  new_size:%u\n", LbVipTypeName(vip.type), i,
                  prefix.c_str(), vip.src_ip_sticky ? " src_ip_sticky" : "",
                  vip.active ? "" : " removed", vip.table_length);
    out += buf;
    if (vip.port != 0) {
      std::snprintf(buf, sizeof buf, "  protocol:%u port:%u\n", vip.protocol, vip.port);
      out += buf;
    }
    if (vip.type == LbVipType::kIp4L3dsr) {
      std::snprintf(buf, sizeof buf, "  dscp:%u\n", vip.encap_arg);
      out += buf;
    } else if (nat) {
      // No newline: VPP's format runs into the counters line.
      std::snprintf(buf, sizeof buf, "  type:%s port:%u target_port:%u", nat_type, Swap16(vip.port),
                    Swap16(vip.target_port));
      out += buf;
    }
    out += "  counters:\n";
    for (uint32_t c = 0; c < kNumVipCounters; ++c) {
      std::snprintf(buf, sizeof buf, "    %s: %llu\n", kLbVipCounterNames[c],
                    static_cast<unsigned long long>(VipCounter(static_cast<LbVipCounter>(c), i)));
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "  #as:%u\n", vip.num_ases());
    out += buf;
    for (const auto& slot : vip.as_slots) {
      if (!slot) continue;
      const LbAs& as = *ases_[*slot];
      std::snprintf(buf, sizeof buf, "    %s weight:%u buckets:%u flows:%lld dpo:%u %s\n",
                    FormatVppIp46(as.address).c_str(), as.weight, as.num_buckets,
                    static_cast<long long>(AsRefcount(*slot)), as.dpo,
                    as.active ? "used" : " removed");
      out += buf;
    }
    out += "\n";
  }
  return out;
}

std::string LbModel::ShowLb() const {
  // format_lb_main, printed with vlib_cli_output(vm, "%U") (ends in "\n").
  char buf[256];
  std::string out = "lb_main";
  std::snprintf(buf, sizeof buf, " ip4-src-address: %s \n ip6-src-address: %s \n",
                IpAddress::FromV4Bytes(conf_.ip4_src.data()).ToString().c_str(),
                FormatVppIp6(conf_.ip6_src.data()).c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, " #vips: %zu\n #ass: %zu\n", num_vip_slots() + 1, num_as_slots());
  out += buf;
  const uint32_t now = NowSeconds() + kLbTimeOffset;
  for (uint32_t t = 0; t < sticky_.size(); ++t) {
    if (!sticky_[t]) continue;
    const StickyTable& table = *sticky_[t];
    uint32_t live = 0;
    for (const StickyBucket& b : table.buckets) {
      for (int i = 0; i < 4; ++i) {
        if (!LoopGt(now, b.timeout[i])) ++live;
      }
    }
    // lb_hash_size() is buckets_mask + 4 in VPP (sic).
    std::snprintf(buf, sizeof buf, "core %u\n  timeout: %us\n  usage: %u / %zu\n", t, table.timeout,
                  live, table.buckets.size() - 1 + 4);
    out += buf;
  }
  return out;
}

}  // namespace maglev::vppsim
