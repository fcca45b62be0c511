// SPDX-License-Identifier: Apache-2.0
#include "maglev/flow_hash.h"

#include "maglev/maglev.h"

namespace maglev {
namespace {

// Byte-wise table of the reflected Castagnoli polynomial.
struct Crc32cTable {
  uint32_t v[256];
  constexpr Crc32cTable() : v() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      v[i] = c;
    }
  }
};
constexpr Crc32cTable kCrc32c;

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The u16 at an L4 offset read as a little-endian host integer of its wire
// bytes (VPP reads the network-order field without a byte swap).
uint64_t WirePort(uint16_t host_order) {
  return static_cast<uint64_t>(static_cast<uint16_t>((host_order >> 8) | (host_order << 8)));
}

}  // namespace

uint32_t Crc32cStep64(uint32_t crc, uint64_t data) {
  for (int i = 0; i < 8; ++i) {
    crc = kCrc32c.v[(crc ^ static_cast<uint8_t>(data)) & 0xff] ^ (crc >> 8);
    data >>= 8;
  }
  return crc;
}

std::array<uint64_t, 5> LbFlowHashKeys(const LbFlow& flow, bool src_ip_sticky) {
  uint64_t ports = 0;
  if (flow.protocol == kIpProtocolTcp || flow.protocol == kIpProtocolUdp) {
    ports = (WirePort(flow.src_port) << 16) | WirePort(flow.dst_port);
  }
  if (src_ip_sticky) ports = 0;
  std::array<uint64_t, 5> k{};
  if (!flow.ip6) {
    uint8_t pair[8];
    for (int i = 0; i < 4; ++i) {
      pair[i] = flow.src[i];
      pair[4 + i] = flow.dst[i];
    }
    k[0] = LoadLe64(pair);
    k[1] = ports;
  } else {
    k[0] = LoadLe64(flow.src.data());
    k[1] = LoadLe64(flow.src.data() + 8);
    k[2] = LoadLe64(flow.dst.data());
    k[3] = LoadLe64(flow.dst.data() + 8);
    k[4] = ports;
  }
  return k;
}

uint32_t LbFlowHash(const LbFlow& flow, bool src_ip_sticky, LbHashPath path) {
  const std::array<uint64_t, 5> k = LbFlowHashKeys(flow, src_ip_sticky);
  if (path == LbHashPath::kXxHash) {
    return static_cast<uint32_t>(ClibXxHash(k[0] ^ k[1] ^ k[2] ^ k[3] ^ k[4]));
  }
  uint32_t h = 0;
  for (uint64_t key : k) h = Crc32cStep64(h, key);
  return h;
}

}  // namespace maglev
