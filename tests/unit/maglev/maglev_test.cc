// The Maglev builder against every vector of maglev-vectors.json (read at run
// time) plus properties that follow from PROTOCOL.md §4.3.
#include "maglev/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "common/ip_address.h"

namespace maglev {
namespace {

using nlohmann::json;

const json& Vectors() {
  static const json* vectors = [] {
    std::ifstream in(MAGLEV_SHARED_DIR "/vpp-api/maglev-vectors.json");
    if (!in) {
      ADD_FAILURE() << "cannot open " MAGLEV_SHARED_DIR "/vpp-api/maglev-vectors.json";
      return new json(json::object());
    }
    return new json(json::parse(in));
  }();
  return *vectors;
}

std::array<uint8_t, 16> Ip46(const std::string& text) {
  std::optional<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip ? ip->ip46() : std::array<uint8_t, 16>{};
}

uint64_t Hex(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

struct Case {
  uint32_t length = 0;
  std::vector<std::string> names;
  std::vector<MaglevEntry> entries;
};

Case ParseCase(const json& v) {
  Case c;
  c.length = v.at("new_flows_table_length").get<uint32_t>();
  for (const json& as : v.at("as")) {
    c.names.push_back(as.at(0).get<std::string>());
    c.entries.push_back(MaglevEntry{Ip46(as.at(0).get<std::string>()), as.at(1).get<uint32_t>()});
  }
  return c;
}

// Checks a {"address": count} map against the builder's output.
void ExpectCounts(const Case& c, const json& expected, MaglevMode mode) {
  std::vector<uint32_t> table = BuildNewFlowTable(c.entries, c.length, mode);
  ASSERT_EQ(table.size(), c.length);
  std::vector<uint32_t> counts = CountMaglevBuckets(table, c.entries.size());
  std::vector<uint32_t> closed_form = ComputeMaglevBucketCounts(c.entries, c.length, mode);
  ASSERT_EQ(expected.size(), c.names.size());
  for (size_t i = 0; i < c.names.size(); ++i) {
    EXPECT_EQ(counts[i], expected.at(c.names[i]).get<uint32_t>()) << c.names[i];
    EXPECT_EQ(closed_form[i], expected.at(c.names[i]).get<uint32_t>()) << c.names[i];
  }
}

void ExpectTable(const Case& c, const json& expected, MaglevMode mode) {
  std::vector<uint32_t> table = BuildNewFlowTable(c.entries, c.length, mode);
  ASSERT_EQ(table.size(), expected.size());
  for (size_t b = 0; b < table.size(); ++b) {
    ASSERT_LT(table[b], c.names.size()) << "bucket " << b;
    EXPECT_EQ(c.entries[table[b]].ip46, Ip46(expected[b].get<std::string>())) << "bucket " << b;
  }
}

TEST(MaglevVectors, FileHasEverySection) {
  const json& v = Vectors();
  for (const char* key : {"seed_examples", "vpp_asserted", "computed_counts",
                          "computed_full_tables", "pre_weight_builder_equivalent"}) {
    EXPECT_TRUE(v.contains(key)) << key;
  }
}

TEST(MaglevVectors, SeedExamples) {
  const json& examples = Vectors().at("seed_examples");
  ASSERT_FALSE(examples.empty());
  for (const json& e : examples) {
    SCOPED_TRACE(e.dump());
    std::array<uint8_t, 16> ip46 = Ip46(e.at("as_address").get<std::string>());
    uint32_t replica = e.at("replica").get<uint32_t>();
    uint32_t length = e.at("table_mask").get<uint32_t>() + 1;
    EXPECT_EQ(MaglevHashInput(ip46, replica), Hex(e.at("hash_input")));
    EXPECT_EQ(ClibXxHash(Hex(e.at("hash_input"))), Hex(e.at("seed")));
    MaglevPermutation p = ComputeMaglevPermutation(ip46, replica, length);
    EXPECT_EQ(p.seed, Hex(e.at("seed")));
    EXPECT_EQ(p.skip, e.at("skip").get<uint32_t>());
    EXPECT_EQ(p.offset, e.at("offset").get<uint32_t>());
    // The words as documented: bytes 0-7 and 8-15 read little-endian.
    std::array<uint8_t, 16> lo{}, hi{};
    std::copy(ip46.begin(), ip46.begin() + 8, lo.begin());
    std::copy(ip46.begin() + 8, ip46.end(), hi.begin() + 8);
    EXPECT_EQ(MaglevHashInput(lo, 0), Hex(e.at("u64_word0_le")));
    EXPECT_EQ(MaglevHashInput(hi, 0), Hex(e.at("u64_word1_le")));
  }
}

TEST(MaglevVectors, VppAssertedCounts) {
  const json& cases = Vectors().at("vpp_asserted");
  ASSERT_FALSE(cases.empty());
  for (const json& v : cases) {
    SCOPED_TRACE(v.dump());
    ExpectCounts(ParseCase(v), v.at("expected_num_buckets"), MaglevMode::kWeighted);
  }
}

TEST(MaglevVectors, ComputedCounts) {
  const json& cases = Vectors().at("computed_counts");
  ASSERT_FALSE(cases.empty());
  for (const json& v : cases) {
    SCOPED_TRACE(v.dump());
    ExpectCounts(ParseCase(v), v.at("num_buckets"), MaglevMode::kWeighted);
  }
}

TEST(MaglevVectors, ComputedFullTables) {
  const json& cases = Vectors().at("computed_full_tables");
  ASSERT_FALSE(cases.empty());
  for (const json& v : cases) {
    SCOPED_TRACE(v.dump());
    ExpectTable(ParseCase(v), v.at("table_bucket_to_as"), MaglevMode::kWeighted);
  }
}

TEST(MaglevVectors, PreWeightBuilderEquivalent) {
  const json& cases = Vectors().at("pre_weight_builder_equivalent").at("examples");
  ASSERT_FALSE(cases.empty());
  for (const json& v : cases) {
    SCOPED_TRACE(v.dump());
    Case c = ParseCase(v);
    // The vectors use weight 1 with the weighted builder ...
    if (v.contains("table_bucket_to_as")) {
      ExpectTable(c, v.at("table_bucket_to_as"), MaglevMode::kWeighted);
    } else {
      ExpectCounts(c, v.at("num_buckets"), MaglevMode::kWeighted);
    }
    // ... and the legacy builder ignores weights: 100 (v1's weight) gives the
    // same table as 1.
    for (MaglevEntry& e : c.entries) e.weight = 100;
    if (v.contains("table_bucket_to_as")) {
      ExpectTable(c, v.at("table_bucket_to_as"), MaglevMode::kLegacy);
    } else {
      ExpectCounts(c, v.at("num_buckets"), MaglevMode::kLegacy);
    }
  }
}

TEST(Maglev, DocumentedCheckValue) {
  // PROTOCOL.md §4.3: 10.0.0.1 replica 0, L = 1024 -> skip 65, offset 97.
  MaglevPermutation p = ComputeMaglevPermutation(Ip46("10.0.0.1"), 0, 1024);
  EXPECT_EQ(p.seed, 0xbc30f861da483441ull);
  EXPECT_EQ(p.skip, 65u);
  EXPECT_EQ(p.offset, 97u);
}

TEST(Maglev, InvalidLengthGivesEmptyTable) {
  std::vector<MaglevEntry> ases = {{Ip46("10.0.0.1"), 100}};
  EXPECT_TRUE(BuildNewFlowTable(ases, 0).empty());
  EXPECT_TRUE(BuildNewFlowTable(ases, 1000).empty());
  EXPECT_TRUE(BuildNewFlowTable(ases, 3).empty());
  EXPECT_EQ(BuildNewFlowTable(ases, 1).size(), 1u);
  EXPECT_FALSE(IsValidMaglevLength(0));
  EXPECT_TRUE(IsValidMaglevLength(65536));
  EXPECT_FALSE(IsValidMaglevLength(65535));
}

TEST(Maglev, NoEligibleServerMeansEveryBucketIsNoServer) {
  for (MaglevMode mode : {MaglevMode::kWeighted, MaglevMode::kLegacy}) {
    std::vector<uint32_t> empty = BuildNewFlowTable({}, 64, mode);
    ASSERT_EQ(empty.size(), 64u);
    EXPECT_TRUE(
        std::all_of(empty.begin(), empty.end(), [](uint32_t v) { return v == kMaglevNoServer; }));
  }
  std::vector<MaglevEntry> zero = {{Ip46("10.0.0.1"), 0}, {Ip46("10.0.0.2"), 0}};
  std::vector<uint32_t> t = BuildNewFlowTable(zero, 64);
  EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](uint32_t v) { return v == kMaglevNoServer; }));
  // The legacy builder has no notion of weight 0.
  std::vector<uint32_t> legacy = BuildNewFlowTable(zero, 64, MaglevMode::kLegacy);
  EXPECT_EQ(CountMaglevBuckets(legacy, 2), (std::vector<uint32_t>{32, 32}));
}

TEST(Maglev, RandomSetsMatchClosedFormAndIgnoreInputOrder) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 200; ++iter) {
    uint32_t length = 1u << std::uniform_int_distribution<int>(0, 12)(rng);
    int n = std::uniform_int_distribution<int>(1, 12)(rng);
    std::vector<MaglevEntry> ases;
    std::map<std::array<uint8_t, 16>, bool> seen;
    while (static_cast<int>(ases.size()) < n) {
      MaglevEntry e;
      bool v6 = rng() % 2;
      if (v6) {
        for (auto& b : e.ip46) b = static_cast<uint8_t>(rng());
      } else {
        for (int i = 12; i < 16; ++i) e.ip46[i] = static_cast<uint8_t>(rng());
      }
      e.weight = std::uniform_int_distribution<uint32_t>(0, 100)(rng);
      if (seen.emplace(e.ip46, true).second) ases.push_back(e);
    }
    SCOPED_TRACE("iteration " + std::to_string(iter) + " length " + std::to_string(length));
    std::vector<uint32_t> table = BuildNewFlowTable(ases, length);
    ASSERT_EQ(table.size(), length);
    std::vector<uint32_t> counts = CountMaglevBuckets(table, ases.size());
    EXPECT_EQ(counts, ComputeMaglevBucketCounts(ases, length));

    // Shuffling the input permutes indices but not which address owns a bucket.
    std::vector<uint32_t> perm(ases.size());
    for (uint32_t i = 0; i < perm.size(); ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<MaglevEntry> shuffled;
    for (uint32_t i : perm) shuffled.push_back(ases[i]);
    std::vector<uint32_t> table2 = BuildNewFlowTable(shuffled, length);
    ASSERT_EQ(table2.size(), length);
    for (uint32_t b = 0; b < length; ++b) {
      if (table[b] == kMaglevNoServer) {
        EXPECT_EQ(table2[b], kMaglevNoServer);
      } else {
        ASSERT_NE(table2[b], kMaglevNoServer);
        EXPECT_EQ(shuffled[table2[b]].ip46, ases[table[b]].ip46) << "bucket " << b;
      }
    }
  }
}

TEST(Maglev, ClosedFormCountsForHugeTables) {
  // 2^31 buckets cannot be built in a unit test, but the counts are exact.
  std::vector<MaglevEntry> ases = {{Ip46("10.0.0.1"), 100}, {Ip46("10.0.0.2"), 50}};
  std::vector<uint32_t> counts = ComputeMaglevBucketCounts(ases, 0x80000000u);
  // W = 150: 2^31 = 150 * 14316557 + 98; the first 98 list entries are
  // replicas 0..48 of both ASs (.1 sorts first) = 49 each.
  EXPECT_EQ(counts[0], 100u * 14316557u + 49u);
  EXPECT_EQ(counts[1], 50u * 14316557u + 49u);
  EXPECT_EQ(counts[0] + counts[1], 0x80000000u);
  EXPECT_EQ(ComputeMaglevBucketCounts(ases, 0), (std::vector<uint32_t>{0, 0}));
}

TEST(Maglev, WeightChangeMovesFewBuckets) {
  // Maglev's minimal disruption: draining one of 8 equal ASs moves roughly its
  // own share, far from a full reshuffle.
  std::vector<MaglevEntry> ases;
  for (int i = 1; i <= 8; ++i) ases.push_back({Ip46("10.0.0." + std::to_string(i)), 100});
  std::vector<uint32_t> before = BuildNewFlowTable(ases, 4096);
  ases[3].weight = 0;
  std::vector<uint32_t> after = BuildNewFlowTable(ases, 4096);
  uint32_t moved = 0;
  for (size_t b = 0; b < before.size(); ++b) moved += before[b] != after[b];
  EXPECT_GE(moved, 512u);       // at least the drained AS's buckets
  EXPECT_LT(moved, 4096u / 4);  // nowhere near a reshuffle
}

TEST(Maglev, ThousandVipsOfThirtyTwoAses) {
  // Scale check from the requirements: 1,000 VIPs x 32 ASs x 1024 buckets.
  // (No timing assertion; this would take minutes with a naive builder.)
  uint64_t total = 0;
  for (int vip = 0; vip < 1000; ++vip) {
    std::vector<MaglevEntry> ases;
    for (int i = 0; i < 32; ++i) {
      MaglevEntry e;
      e.ip46[12] = 10;
      e.ip46[13] = static_cast<uint8_t>(vip >> 8);
      e.ip46[14] = static_cast<uint8_t>(vip);
      e.ip46[15] = static_cast<uint8_t>(i + 1);
      e.weight = 100;
      ases.push_back(e);
    }
    std::vector<uint32_t> counts = CountMaglevBuckets(BuildNewFlowTable(ases, 1024), 32);
    for (uint32_t c : counts) total += c;
    // W = 3200 > L: one pass, 32 buckets each.
    ASSERT_TRUE(std::all_of(counts.begin(), counts.end(), [](uint32_t c) { return c == 32; }));
  }
  EXPECT_EQ(total, 1000u * 1024u);
}

}  // namespace
}  // namespace maglev
