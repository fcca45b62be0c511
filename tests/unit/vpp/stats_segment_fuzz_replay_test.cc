// SPDX-License-Identifier: Apache-2.0
// Replays the libFuzzer target tests/fuzz/stats_segment_fuzz.cc on the
// committed seed corpus and on deterministic mutations of it (flipped words,
// pointers moved, lengths blown up, truncations), so every build checks that
// a corrupt segment is refused or read without touching memory outside it.
// Run under ASan/UBSan to get the full benefit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

namespace maglev {
int StatsSegmentFuzzOne(const uint8_t* data, size_t size);

namespace {

std::vector<std::vector<uint8_t>> Corpus() {
  std::vector<std::vector<uint8_t>> out;
  const std::filesystem::path dir =
      std::filesystem::path(MAGLEV_SOURCE_DIR) / "tests/fuzz/corpus/stats_segment";
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST(StatsSegmentFuzzReplayTest, SeedsAreAccepted) {
  std::vector<std::vector<uint8_t>> corpus = Corpus();
  ASSERT_GE(corpus.size(), 2u);
  for (const auto& seed : corpus) EXPECT_EQ(StatsSegmentFuzzOne(seed.data(), seed.size()), 1);
}

TEST(StatsSegmentFuzzReplayTest, MutationsNeverEscapeTheSegment) {
  std::mt19937_64 rng(20260901);
  size_t accepted = 0, rejected = 0;
  for (const auto& seed : Corpus()) {
    for (int iter = 0; iter < 1500; ++iter) {
      std::vector<uint8_t> m = seed;
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits; ++e) {
        const size_t at = (rng() % (m.size() / 8)) * 8;
        uint64_t word;
        std::memcpy(&word, m.data() + at, 8);
        switch (rng() % 6) {
          case 0:
            word ^= 1ull << (rng() % 64);
            break;
          case 1:
            word += (rng() % 64) * 8;  // a pointer moved by a few words
            break;
          case 2:
            word = (word & ~0xffffffffull) | (rng() % 0x100000);  // a length
            break;
          case 3:
            word = 0xffffffffull;
            break;
          case 4:
            word = rng();
            break;
          default:
            word = 0;
            break;
        }
        std::memcpy(m.data() + at, &word, 8);
      }
      if (rng() % 10 == 0) m.resize(rng() % m.size());
      if (StatsSegmentFuzzOne(m.data(), m.size())) {
        ++accepted;
      } else {
        ++rejected;
      }
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(StatsSegmentFuzzReplayTest, TinyInputsAreRejected) {
  EXPECT_EQ(StatsSegmentFuzzOne(nullptr, 0), 0);
  uint8_t small[47] = {2};
  EXPECT_EQ(StatsSegmentFuzzOne(small, sizeof small), 0);
}

}  // namespace
}  // namespace maglev
