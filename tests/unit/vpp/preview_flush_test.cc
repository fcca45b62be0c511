// SPDX-License-Identifier: Apache-2.0
//
// The preview's `flushed` (src/lb/preview.h) against the calls the
// reconciler really sends (DiffVip): src/lb cannot call src/vpp, so this
// test keeps the two in step, for every way an AS can lose its flows, at
// both lb API levels.
#include <gtest/gtest.h>

#include "lb/preview.h"
#include "vpp/desired.h"

namespace maglev {
namespace {

IpAddress Ip(const std::string& s) { return *IpAddress::Parse(s); }

DesiredVip Vip(std::vector<DesiredAs> ases, uint32_t length = 64) {
  DesiredVip v;
  v.frontend = "web";
  v.spec.key = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 80);
  v.spec.new_flows_table_length = length;
  v.ases = std::move(ases);
  return v;
}

DesiredAs As(const std::string& name, const std::string& addr, uint8_t weight, bool flush) {
  return DesiredAs{name, Ip(addr), weight, flush};
}

// What VPP holds after a sync of `vip` from nothing.
std::map<VipKey, ActualVip> Synced(const DesiredVip& vip, LbApiLevel level) {
  std::map<VipKey, ActualVip> cache;
  for (const LbCall& c : DiffVip(vip, nullptr, level, {})) ApplyToCache(c, &cache);
  return cache;
}

// Addresses a sync from `before` to `after` sends a flush for.
std::set<IpAddress> FlushedByDiff(const DesiredVip& before, const DesiredVip& after,
                                  LbApiLevel level, const std::set<IpAddress>& flush_now) {
  auto cache = Synced(before, level);
  const ActualVip& have = cache.begin()->second;
  std::set<IpAddress> out;
  for (const LbCall& c : DiffVip(after, &have, level, flush_now)) {
    if (auto* d = std::get_if<LbDelAs>(&c); d && d->flush) out.insert(d->address);
    if (auto* w = std::get_if<LbSetAsWeight>(&c); w && w->flush) out.insert(w->address);
  }
  return out;
}

std::set<IpAddress> FlushedByPreview(const DesiredVip& before, const DesiredVip& after,
                                     PreviewTableMode mode, const std::set<IpAddress>& flush_now) {
  std::set<IpAddress> out;
  for (const AsPreview& as : PreviewVipChange(&before, &after, flush_now, mode).backends)
    if (as.flushed) out.insert(as.address);
  return out;
}

TEST(PreviewFlush, SameAsTheReconciler) {
  struct Case {
    std::string what;
    DesiredVip before, after;
    std::set<IpAddress> flush_now;
  };
  const DesiredAs a = As("a", "10.0.0.1", 100, false), b = As("b", "10.0.0.2", 100, false);
  std::vector<Case> cases = {
      {"disable", Vip({a, b}), Vip({As("a", "10.0.0.1", 0, true), b}), {Ip("10.0.0.1")}},
      {"drain", Vip({a, b}), Vip({As("a", "10.0.0.1", 0, false), b}), {}},
      {"weight", Vip({a, b}), Vip({As("a", "10.0.0.1", 40, false), b}), {}},
      {"disabled standby",
       Vip({As("a", "10.0.0.1", 0, false), b}),
       Vip({As("a", "10.0.0.1", 0, true), b}),
       {Ip("10.0.0.1")}},
      {"standby at 0, no transition",
       Vip({As("a", "10.0.0.1", 0, false), b}),
       Vip({As("a", "10.0.0.1", 0, true), b}),
       {}},
      {"AS leaves the VIP", Vip({a, b}), Vip({b}), {}},
      {"table length", Vip({a, b}), Vip({a, b}, 128), {}},
      {"nothing", Vip({a, b}), Vip({a, b}), {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FlushedByPreview(c.before, c.after, PreviewTableMode::kWeights, c.flush_now),
              FlushedByDiff(c.before, c.after, LbApiLevel::kWeights, c.flush_now))
        << c.what;
  }
  // Without weights a weight-0 AS is not in VPP at all: only the ways out
  // of the table count (a standby at 0 has no AS left to flush).
  for (const Case& c : cases) {
    if (c.what.find("standby") != std::string::npos) continue;
    EXPECT_EQ(FlushedByPreview(c.before, c.after, PreviewTableMode::kLegacy, c.flush_now),
              FlushedByDiff(c.before, c.after, LbApiLevel::kLegacy, c.flush_now))
        << c.what;
  }
}

}  // namespace
}  // namespace maglev
