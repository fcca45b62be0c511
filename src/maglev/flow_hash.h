// SPDX-License-Identifier: Apache-2.0
// VPP lb plugin's data path, as far as it decides where a packet goes
// (STATS.md §5): the per-packet flow hash (§5.2), the new-flow bucket it picks
// in a VIP's Maglev table, and the sticky bucket. Shared by the simulator
// (which classifies injected packets with it) and maglevd (which answers "where
// does this 5-tuple land" from VPP's state). Pure functions, no I/O;
// thread-agnostic.
#pragma once

#include <array>
#include <cstdint>

namespace maglev {

inline constexpr uint8_t kIpProtocolTcp = 6;
inline constexpr uint8_t kIpProtocolUdp = 17;

// One packet's addresses and L4 header as the lb node reads them.
struct LbFlow {
  bool ip6 = false;
  // IPv4: the four address bytes first (bytes 4..15 unused); IPv6: 16 bytes.
  // Network order, as on the wire.
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint8_t protocol = kIpProtocolTcp;  // IPv4 protocol / IPv6 next header
  uint16_t src_port = 0;              // host order; only used for TCP and UDP
  uint16_t dst_port = 0;
};

// Which lb_hash_hash() a VPP build compiled: CRC-32C on x86_64 (SSE4.2) and
// aarch64 (+crc) builds, the default of VPP's CMake; xxhash on anything else.
enum class LbHashPath { kCrc32c, kXxHash };

// One step of the crc32q / crc32cx instruction: CRC-32C (reflected
// 0x82F63B78) of the 8 bytes of `data` (little-endian), from register `crc`,
// without initial or final inversion.
uint32_t Crc32cStep64(uint32_t crc, uint64_t data);

// The five u64 keys of §5.2 (k0..k4). `src_ip_sticky` zeroes the ports word.
std::array<uint64_t, 5> LbFlowHashKeys(const LbFlow& flow, bool src_ip_sticky);

// lb_node_get_hash(): the 32-bit flow hash of a packet at a VIP. The VIP
// index is not part of it, and there is no seed.
uint32_t LbFlowHash(const LbFlow& flow, bool src_ip_sticky, LbHashPath path = LbHashPath::kCrc32c);

// The new-flow table entry a new flow takes: h & (L - 1), L a power of two.
constexpr uint32_t LbNewFlowBucket(uint32_t hash, uint32_t table_length) {
  return table_length == 0 ? 0 : hash & (table_length - 1);
}

// The sticky-table bucket of a flow: h & (buckets - 1).
constexpr uint32_t LbStickyBucket(uint32_t hash, uint32_t buckets) {
  return buckets == 0 ? 0 : hash & (buckets - 1);
}

}  // namespace maglev
