#include "maglev/maglev.h"

#include <algorithm>

namespace maglev {
namespace {

constexpr uint64_t kPrime1 = 11400714785074694791ull;
constexpr uint64_t kPrime2 = 14029467366897019727ull;
constexpr uint64_t kPrime3 = 1609587929392839161ull;
constexpr uint64_t kPrime4 = 9650029242287828579ull;
constexpr uint64_t kPrime5 = 2870177450012600261ull;
// VPP seeds its single-lane xxhash with the golden-ratio constant.
constexpr uint64_t kSeed = 0x9e3779b97f4a7c13ull;

constexpr uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct ListEntry {
  uint32_t as_index;
  uint32_t skip;
  uint32_t offset;
};

}  // namespace

uint64_t ClibXxHash(uint64_t key) {
  uint64_t k = Rotl(key * kPrime2, 31) * kPrime1;
  uint64_t h = (kSeed + kPrime5 + 8) ^ k;
  h = Rotl(h, 27) * kPrime1 + kPrime4;
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

uint64_t MaglevHashInput(const std::array<uint8_t, 16>& ip46, uint32_t replica) {
  return LoadLe64(ip46.data()) ^ LoadLe64(ip46.data() + 8) ^ static_cast<uint64_t>(replica);
}

MaglevPermutation ComputeMaglevPermutation(const std::array<uint8_t, 16>& ip46, uint32_t replica,
                                           uint32_t length) {
  const uint32_t mask = length - 1;
  MaglevPermutation p;
  p.seed = ClibXxHash(MaglevHashInput(ip46, replica));
  p.skip = ((static_cast<uint32_t>(p.seed) | 1u) & mask);
  p.offset = static_cast<uint32_t>(p.seed >> 32) & mask;
  return p;
}

std::vector<uint32_t> BuildNewFlowTable(const std::vector<MaglevEntry>& ases, uint32_t length,
                                        MaglevMode mode) {
  if (!IsValidMaglevLength(length)) return {};
  std::vector<uint32_t> table(length, kMaglevNoServer);

  auto weight_of = [&](uint32_t i) -> uint32_t {
    return mode == MaglevMode::kLegacy ? 1u : ases[i].weight;
  };
  std::vector<uint32_t> order;
  order.reserve(ases.size());
  uint32_t max_weight = 0;
  for (uint32_t i = 0; i < ases.size(); ++i) {
    if (weight_of(i) == 0) continue;
    order.push_back(i);
    max_weight = std::max(max_weight, weight_of(i));
  }
  if (order.empty()) return table;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return ases[a].ip46 < ases[b].ip46; });

  // The list is ordered by (replica, address). Filling stops after exactly
  // `length` placements and every list entry places one bucket per pass, so
  // entries beyond the first `length` of the list can never place anything:
  // they are not even hashed, which keeps big-weight / small-table VIPs cheap.
  std::vector<ListEntry> list;
  list.reserve(std::min<uint64_t>(length, static_cast<uint64_t>(order.size()) * max_weight));
  for (uint32_t r = 0; r < max_weight && list.size() < length; ++r) {
    for (uint32_t i : order) {
      if (weight_of(i) <= r) continue;
      MaglevPermutation p = ComputeMaglevPermutation(ases[i].ip46, r, length);
      list.push_back(ListEntry{i, p.skip, p.offset});
      if (list.size() == length) break;
    }
  }

  const uint32_t mask = length - 1;
  uint32_t done = 0;
  while (true) {
    for (ListEntry& e : list) {
      // skip is odd (or the table has one entry), so this visits every bucket
      // and terminates while any bucket is still empty.
      while (table[e.offset] != kMaglevNoServer) e.offset = (e.offset + e.skip) & mask;
      table[e.offset] = e.as_index;
      e.offset = (e.offset + e.skip) & mask;
      if (++done == length) return table;
    }
  }
}

std::vector<uint32_t> ComputeMaglevBucketCounts(const std::vector<MaglevEntry>& ases,
                                                uint32_t length, MaglevMode mode) {
  std::vector<uint32_t> counts(ases.size(), 0);
  if (!IsValidMaglevLength(length)) return counts;
  auto weight_of = [&](uint32_t i) -> uint32_t {
    return mode == MaglevMode::kLegacy ? 1u : ases[i].weight;
  };
  std::vector<uint32_t> order;
  uint64_t total = 0;
  uint32_t max_weight = 0;
  for (uint32_t i = 0; i < ases.size(); ++i) {
    if (weight_of(i) == 0) continue;
    order.push_back(i);
    total += weight_of(i);
    max_weight = std::max(max_weight, weight_of(i));
  }
  if (total == 0) return counts;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return ases[a].ip46 < ases[b].ip46; });
  const uint64_t passes = length / total;
  for (uint32_t i : order) counts[i] = static_cast<uint32_t>(weight_of(i) * passes);
  uint64_t extra = length % total;
  for (uint32_t r = 0; r < max_weight && extra > 0; ++r) {
    for (uint32_t i : order) {
      if (weight_of(i) <= r) continue;
      ++counts[i];
      if (--extra == 0) break;
    }
  }
  return counts;
}

std::vector<uint32_t> CountMaglevBuckets(const std::vector<uint32_t>& table,
                                         std::size_t num_entries) {
  std::vector<uint32_t> counts(num_entries, 0);
  for (uint32_t v : table) {
    if (v < num_entries) ++counts[v];
  }
  return counts;
}

}  // namespace maglev
