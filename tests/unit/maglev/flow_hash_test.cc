// SPDX-License-Identifier: Apache-2.0
// The lb flow hash against the test vectors of STATS.md §5.6 (keys, CRC and
// xxhash results, and the AS a new flow lands on), and the software CRC-32C
// step against the CPU's crc32q instruction where the CPU has one.
#include "maglev/flow_hash.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "maglev/maglev.h"

namespace maglev {
namespace {

LbFlow Flow(const std::string& src, const std::string& dst, uint8_t protocol, uint16_t sport,
            uint16_t dport) {
  LbFlow f;
  IpAddress s = *IpAddress::Parse(src);
  IpAddress d = *IpAddress::Parse(dst);
  f.ip6 = s.is_v6();
  if (f.ip6) {
    f.src = s.ip46();
    f.dst = d.ip46();
  } else {
    std::copy(s.v4_bytes(), s.v4_bytes() + 4, f.src.begin());
    std::copy(d.v4_bytes(), d.v4_bytes() + 4, f.dst.begin());
  }
  f.protocol = protocol;
  f.src_port = sport;
  f.dst_port = dport;
  return f;
}

struct Vector {
  const char* name;
  LbFlow flow;
  bool sticky;
  std::vector<uint64_t> keys;
  uint32_t crc;
  uint32_t xx;
};

std::vector<Vector> Vectors() {
  const LbFlow f1 = Flow("40.0.0.1", "90.0.0.1", kIpProtocolUdp, 10001, 20000);
  const LbFlow f2 = Flow("10.1.2.3", "192.0.2.10", kIpProtocolTcp, 54321, 80);
  const LbFlow f3 = Flow("10.1.2.3", "192.0.2.10", 1, 0, 0);
  const LbFlow f4 = Flow("fd00:f00d:ffff::1", "2001::1", kIpProtocolUdp, 10001, 20000);
  const LbFlow f5 = Flow("2001:db8::1", "2001:db8:1::10", kIpProtocolTcp, 54321, 443);
  return {
      {"1", f1, false, {0x0100005a01000028, 0x1127204e}, 0xe5f1e84a, 0x322a58c9},
      {"1s", f1, true, {0x0100005a01000028}, 0x95b45cee, 0x37de166d},
      {"2", f2, false, {0x0a0200c00302010a, 0x31d45000}, 0x5534b2a4, 0xf48e4362},
      {"3", f3, false, {0x0a0200c00302010a}, 0x25c460b3, 0xc17e00a6},
      {"4",
       f4,
       false,
       {0x0000ffff0df000fd, 0x0100000000000000, 0x0000000000000120, 0x0100000000000000, 0x1127204e},
       0x4f52a8ff,
       0x45bb5378},
      {"4s",
       f4,
       true,
       {0x0000ffff0df000fd, 0x0100000000000000, 0x0000000000000120, 0x0100000000000000},
       0x2dd978d6,
       0x72a8e9e5},
      {"5", f5, false, {}, 0xfe4244d2, 0xbc9559a7},
  };
}

TEST(FlowHashTest, KeysAndHashesOfStatsMdVectors) {
  for (const Vector& v : Vectors()) {
    SCOPED_TRACE(v.name);
    if (!v.keys.empty()) {
      std::array<uint64_t, 5> want{};
      std::copy(v.keys.begin(), v.keys.end(), want.begin());
      EXPECT_EQ(LbFlowHashKeys(v.flow, v.sticky), want);
    }
    EXPECT_EQ(LbFlowHash(v.flow, v.sticky, LbHashPath::kCrc32c), v.crc);
    EXPECT_EQ(LbFlowHash(v.flow, v.sticky, LbHashPath::kXxHash), v.xx);
  }
  // Row 5's ports word.
  EXPECT_EQ(LbFlowHashKeys(Vectors()[6].flow, false)[4], 0x31d4bb01u);
}

TEST(FlowHashTest, ProtocolIsNotHashedButSelectsPorts) {
  LbFlow tcp = Flow("10.1.2.3", "192.0.2.10", kIpProtocolTcp, 1, 2);
  LbFlow udp = tcp;
  udp.protocol = kIpProtocolUdp;
  EXPECT_EQ(LbFlowHash(tcp, false), LbFlowHash(udp, false));
  LbFlow icmp = tcp;
  icmp.protocol = 1;  // ports ignored
  EXPECT_EQ(LbFlowHash(icmp, false), 0x25c460b3u);
}

// STATS.md §5.6 end to end: the bucket and the AS a new flow lands on.
TEST(FlowHashTest, NewFlowsLandOnTheDocumentedAs) {
  auto ip46 = [](const char* s) { return IpAddress::Parse(s)->ip46(); };
  const std::vector<MaglevEntry> v4 = {
      {ip46("10.0.0.1"), 100}, {ip46("10.0.0.2"), 100}, {ip46("10.0.0.3"), 100}};
  const std::vector<Vector> vec = Vectors();
  struct Case {
    size_t vector;
    uint32_t length;
    uint32_t bucket;
    size_t as;
  };
  const Case v4_cases[] = {{0, 16, 10, 2},   {1, 16, 14, 2},    {2, 16, 4, 0},
                           {0, 1024, 74, 1}, {1, 1024, 238, 2}, {2, 1024, 676, 0}};
  for (const Case& c : v4_cases) {
    SCOPED_TRACE(std::string(vec[c.vector].name) + " L=" + std::to_string(c.length));
    std::vector<uint32_t> table = BuildNewFlowTable(v4, c.length);
    uint32_t h = LbFlowHash(vec[c.vector].flow, vec[c.vector].sticky);
    EXPECT_EQ(LbNewFlowBucket(h, c.length), c.bucket);
    EXPECT_EQ(table[LbNewFlowBucket(h, c.length)], c.as);
  }
  const std::vector<MaglevEntry> v6 = {{ip46("2001:db8::1"), 100}, {ip46("2001:db8::2"), 100}};
  std::vector<uint32_t> table = BuildNewFlowTable(v6, 1024);
  EXPECT_EQ(LbNewFlowBucket(LbFlowHash(vec[4].flow, false), 1024), 255u);
  EXPECT_EQ(table[255], 0u);
  EXPECT_EQ(LbNewFlowBucket(LbFlowHash(vec[6].flow, false), 1024), 210u);
  EXPECT_EQ(table[210], 0u);
  // Flow 1 in the default 1024 sticky buckets.
  EXPECT_EQ(LbStickyBucket(LbFlowHash(vec[0].flow, false), 1024), 74u);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t HardwareStep(uint32_t crc, uint64_t data) {
  return static_cast<uint32_t>(__builtin_ia32_crc32di(crc, data));
}

TEST(FlowHashTest, SoftwareStepEqualsTheCrc32Instruction) {
  if (!__builtin_cpu_supports("sse4.2")) GTEST_SKIP() << "CPU without SSE4.2";
  std::mt19937_64 rng(9);
  for (int i = 0; i < 10000; ++i) {
    uint32_t crc = static_cast<uint32_t>(rng());
    uint64_t data = rng();
    ASSERT_EQ(Crc32cStep64(crc, data), HardwareStep(crc, data));
  }
}
#endif

}  // namespace
}  // namespace maglev
