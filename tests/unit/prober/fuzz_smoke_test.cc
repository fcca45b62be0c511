// Runs the HTTP response fuzz target (tests/fuzz/http_response_fuzz.cc) over
// seed responses and a fixed number of deterministic mutations, so that the
// regular (non-clang) build exercises it too. A violated invariant aborts.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace maglev {
namespace {

int FuzzOne(const std::string& s) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(HttpResponseFuzzSmokeTest, SeedsAndMutations) {
  const std::vector<std::string> seeds = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
      "HTTP/1.0 503 Unavailable\n\nbody until close",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nX: \t y \r\n\r\nabcdef",
  };
  std::mt19937 rng(12345);
  int runs = 0;
  for (const auto& seed : seeds) {
    for (int mode = 0; mode < 8; ++mode) {
      for (int step : {1, 3, 64}) {
        std::string in;
        in.push_back(static_cast<char>(mode));
        in.push_back(static_cast<char>(step - 1));
        in += seed;
        EXPECT_EQ(FuzzOne(in), 0);
        ++runs;
        for (int i = 0; i < 300; ++i) {
          std::string m = in;
          const int edits = 1 + static_cast<int>(rng() % 4);
          for (int e = 0; e < edits; ++e) {
            const size_t pos = 2 + rng() % (m.size() - 2);
            switch (rng() % 3) {
              case 0:
                m[pos] = static_cast<char>(rng());
                break;
              case 1:
                m.erase(pos, 1 + rng() % 3);
                break;
              default:
                m.insert(pos, 1 + rng() % 8, "\r\n:; 0aZ\t"[rng() % 9]);
                break;
            }
            if (m.size() < 3) m += "x";
          }
          EXPECT_EQ(FuzzOne(m), 0);
          ++runs;
        }
      }
    }
  }
  EXPECT_GT(runs, 30000);
}

}  // namespace
}  // namespace maglev
