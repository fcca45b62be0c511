// libFuzzer target for the VPP binary-API decoders (src/vpp/messages.h).
// The first input byte picks a message type, the rest is its payload. Any
// input must decode to a value or an error Status without undefined
// behaviour; a decoded value must survive encode -> decode unchanged once
// canonicalised (fixed strings lose bytes after the first NUL, IPv4
// addresses lose junk in the unused union bytes).
//
// Built as a fuzzer only with Clang (see tests/fuzz/CMakeLists.txt); the
// same entry point is replayed by a unit test with deterministic inputs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <tuple>

#include "vpp/messages.h"

namespace maglev {
namespace {

namespace m = vppmsg;

using AllTypes =
    std::tuple<m::SockclntCreate, m::SockclntCreateReply, m::SockclntDelete, m::SockclntDeleteReply,
               m::ControlPing, m::ControlPingReply, m::MemclntKeepalive, m::MemclntKeepaliveReply,
               m::GetFirstMsgId, m::GetFirstMsgIdReply, m::ApiVersions, m::ApiVersionsReply,
               m::ShowVersion, m::ShowVersionReply, m::CliInband, m::CliInbandReply, m::LbConf,
               m::LbConfReply, m::LbConfGet, m::LbConfGetReply, m::LbAddDelVip, m::LbAddDelVipReply,
               m::LbAddDelVipV2, m::LbAddDelVipV2Reply, m::LbAddDelAs, m::LbAddDelAsReply,
               m::LbAddDelAsV2, m::LbAddDelAsV2Reply, m::LbAsSetWeight, m::LbAsSetWeightReply,
               m::LbFlushVip, m::LbFlushVipReply, m::LbVipDump, m::LbVipDetails, m::LbAsDump,
               m::LbAsDetails, m::LbAsV2Dump, m::LbAsV2Details>;

template <typename M>
int Check(const uint8_t* data, size_t size) {
  m::Header h1;
  auto m1 = m::Decode<M>(data, size, &h1);
  if (!m1.ok()) return 0;
  std::vector<uint8_t> b1 = m::Encode(*m1, h1);
  if (b1.size() < M::kFixedSize) std::abort();
  m::Header h2;
  auto m2 = m::Decode<M>(b1, &h2);
  if (!m2.ok() || !(h2 == h1)) std::abort();
  std::vector<uint8_t> b2 = m::Encode(*m2, h2);
  m::Header h3;
  auto m3 = m::Decode<M>(b2, &h3);
  if (!m3.ok() || !(*m3 == *m2) || b2 != m::Encode(*m3, h3)) std::abort();
  return 1;
}

template <size_t I = 0>
int Dispatch(size_t selector, const uint8_t* data, size_t size) {
  if constexpr (I < std::tuple_size_v<AllTypes>) {
    if (selector == I) return Check<std::tuple_element_t<I, AllTypes>>(data, size);
    return Dispatch<I + 1>(selector, data, size);
  } else {
    return 0;
  }
}

}  // namespace

size_t VppCodecFuzzTypeCount() { return std::tuple_size_v<AllTypes>; }

// Returns 1 when the payload decoded (and round-tripped), 0 when rejected.
int VppCodecFuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  return Dispatch(data[0] % VppCodecFuzzTypeCount(), data + 1, size - 1);
}

}  // namespace maglev

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  maglev::VppCodecFuzzOne(data, size);
  return 0;
}
