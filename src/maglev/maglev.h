// VPP lb plugin's new-flow ("Maglev") table builder, reproduced bit for bit
// (PROTOCOL.md §4.3): the same AS set and weights give the same bucket -> AS
// table as VPP, so the simulator reports VPP's `num_buckets` and previews can
// show where new flows will go. Pure functions, no I/O; thread-agnostic.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace maglev {

// One application server of a VIP as the builder sees it.
struct MaglevEntry {
  // VPP's ip46 form: IPv4 = 12 zero bytes + the 4 address bytes; IPv6 as is.
  std::array<uint8_t, 16> ip46{};
  // 0 = takes no new flows (lb 1.2.0). Ignored in MaglevMode::kLegacy.
  uint32_t weight = 100;
};

enum class MaglevMode {
  // lb 1.2.0 (VPP master, 26.10+): `weight` replicas per AS, weight 0 excluded.
  kWeighted,
  // lb <= 1.1.0 (VPP <= 26.06): no weights, every entry counts exactly once.
  kLegacy,
};

// Table value meaning "no server" (VPP's placeholder AS: traffic dropped).
inline constexpr uint32_t kMaglevNoServer = 0xffffffffu;

// True when `length` is usable as a table length: a power of two, > 0.
constexpr bool IsValidMaglevLength(uint64_t length) {
  return length != 0 && length <= 0x80000000u && (length & (length - 1)) == 0;
}

// VPP's clib_xxhash() of one 64-bit key (an xxHash64-style finaliser).
uint64_t ClibXxHash(uint64_t key);

// The hash input of replica `replica` of the AS at `ip46`: the two halves of
// the address read as little-endian u64 words, XORed together and with the
// replica number.
uint64_t MaglevHashInput(const std::array<uint8_t, 16>& ip46, uint32_t replica);

// Permutation parameters of one (AS, replica) list entry for a table of
// `length` entries (power of two).
struct MaglevPermutation {
  uint64_t seed = 0;
  uint32_t skip = 0;
  uint32_t offset = 0;
};
MaglevPermutation ComputeMaglevPermutation(const std::array<uint8_t, 16>& ip46, uint32_t replica,
                                           uint32_t length);

// Builds the new-flow table of `length` buckets for `ases`. Returns a vector
// of `length` values, each an index into `ases` or kMaglevNoServer (only when
// no entry is eligible). The input order does not matter: VPP sorts by
// (replica, ip46 bytes). Entries must have distinct addresses (as within one
// VIP). Returns an empty vector when `length` is not IsValidMaglevLength().
std::vector<uint32_t> BuildNewFlowTable(const std::vector<MaglevEntry>& ases, uint32_t length,
                                        MaglevMode mode = MaglevMode::kWeighted);

// Buckets per input entry computed without building the table. Every list
// entry places exactly one bucket per pass, so the counts do not depend on the
// hash: with W = sum of eligible weights, an entry of weight w gets
// w * floor(L / W) buckets plus one per replica among the first L mod W list
// entries. Equal to CountMaglevBuckets(BuildNewFlowTable(...)) for every valid
// length (up to 2^31); all zeros for an invalid length.
std::vector<uint32_t> ComputeMaglevBucketCounts(const std::vector<MaglevEntry>& ases,
                                                uint32_t length,
                                                MaglevMode mode = MaglevMode::kWeighted);

// Buckets per input entry: result[i] = number of table values equal to i,
// for i < num_entries (kMaglevNoServer and out-of-range values are ignored).
std::vector<uint32_t> CountMaglevBuckets(const std::vector<uint32_t>& table,
                                         std::size_t num_entries);

}  // namespace maglev
