#include "prober/http_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace maglev {
namespace {

using State = HttpResponseReader::State;

// Feeds `raw` in pieces of at most `step` bytes, never more than the reader
// wants, then EOF if `eof` and the reader still reads.
HttpResponseReader Read(const std::string& raw, bool want_body, size_t step = 1 << 20,
                        bool eof = true, size_t max_head = HttpResponseReader::kMaxHead,
                        size_t max_body = HttpResponseReader::kMaxBody) {
  HttpResponseReader r(want_body, max_head, max_body);
  size_t pos = 0;
  while (pos < raw.size() && (r.state() == State::kHead || r.state() == State::kBody)) {
    const size_t n = std::min({step, raw.size() - pos, r.WantBytes()});
    EXPECT_GT(n, 0u);
    r.Feed(std::string_view(raw).substr(pos, n));
    pos += n;
  }
  if (eof) r.FeedEof();
  return r;
}

TEST(HttpResponseReaderTest, StatusOnlyWithoutBody) {
  for (size_t step : {1, 2, 7, 4096}) {
    auto r = Read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, step, false);
    EXPECT_EQ(r.state(), State::kDone) << step;
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.version_minor(), 1);
    EXPECT_EQ(r.body(), "");  // not asked for
  }
}

TEST(HttpResponseReaderTest, ContentLengthBody) {
  for (size_t step : {1, 3, 4096}) {
    auto r = Read("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nhelloEXTRA", true,
                  step, false);
    EXPECT_EQ(r.state(), State::kDone) << step;
    EXPECT_EQ(r.status(), 503);
    EXPECT_EQ(r.version_minor(), 0);
    EXPECT_EQ(r.body(), "hello");
    EXPECT_FALSE(r.body_truncated());
  }
}

TEST(HttpResponseReaderTest, BareLfAndMissingReason) {
  auto r = Read("HTTP/1.1 204\nServer: x\n\n", true, 5, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_EQ(r.status(), 204);
  EXPECT_EQ(r.body(), "");
}

TEST(HttpResponseReaderTest, CloseDelimitedBody) {
  auto r = Read("HTTP/1.1 200 OK\r\n\r\nall of it", true, 4, true);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_EQ(r.body(), "all of it");
}

TEST(HttpResponseReaderTest, ChunkedBody) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n"
      "3;name=value\r\nhel\r\n2\r\nlo\r\nA\n, world!!!\n0\r\nTrailer: x\r\n\r\n";
  for (size_t step : {1, 2, 5, 4096}) {
    auto r = Read(raw, true, step, false);
    EXPECT_EQ(r.state(), State::kDone) << step << " " << r.error();
    EXPECT_EQ(r.body(), "hello, world!!!");
  }
}

TEST(HttpResponseReaderTest, InterimResponsesAreSkipped) {
  auto r = Read(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      true, 3, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "ok");
}

struct BadCase {
  const char* name;
  std::string raw;
  std::string error;
};

TEST(HttpResponseReaderTest, MalformedResponses) {
  const std::vector<BadCase> cases = {
      {"empty", "", "connection closed before status line"},
      {"partial status", "HTTP/1.1 20", "connection closed before status line"},
      {"garbage", "SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed status line"},
      {"http2", "HTTP/2 200\r\n\r\n", "malformed status line"},
      {"short code", "HTTP/1.1 20 OK\r\n\r\n", "malformed status line"},
      {"code 099", "HTTP/1.1 099 OK\r\n\r\n", "malformed status line"},
      {"no space", "HTTP/1.1 200OK\r\n\r\n", "malformed status line"},
      {"blank first", "\r\nHTTP/1.1 200 OK\r\n\r\n", "malformed status line"},
      {"nul in reason", std::string("HTTP/1.1 200 O") + '\0' + "K\r\n\r\n",
       "malformed status line"},
      {"cr in reason", "HTTP/1.1 200 O\rK\r\n\r\n", "malformed status line"},
      {"headers cut", "HTTP/1.1 200 OK\r\nServer: x\r\n", "connection closed in response head"},
      {"no colon", "HTTP/1.1 200 OK\r\nServer x\r\n\r\n", "malformed header line"},
      {"empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n", "malformed header line"},
      {"space in name", "HTTP/1.1 200 OK\r\nServer : x\r\n\r\n", "malformed header name"},
      {"folding", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "obsolete header line folding"},
      {"ctl in value", "HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", "invalid character in header value"},
      {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", "invalid Content-Length"},
      {"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "invalid Content-Length"},
      {"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
       "invalid Content-Length"},
      {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
       "invalid Content-Length"},
      {"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
       "connection closed before end of body"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "invalid chunk size"},
      {"chunk overrun", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
       "malformed chunk: data longer than its size"},
      {"chunk cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
       "connection closed in chunked body"},
      {"chunk size overflow",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
       "invalid chunk size"},
  };
  for (const auto& c : cases) {
    for (size_t step : {1, 4096}) {
      auto r = Read(c.raw, true, step, true);
      EXPECT_EQ(r.state(), State::kError) << c.name;
      EXPECT_EQ(r.error(), c.error) << c.name;
      EXPECT_EQ(r.WantBytes(), 0u) << c.name;
    }
  }
}

TEST(HttpResponseReaderTest, LengthListWithEqualValues) {
  auto r = Read("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", true, 4096, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_EQ(r.body(), "ok");
}

TEST(HttpResponseReaderTest, HeadIsBounded) {
  std::string raw = "HTTP/1.1 200 OK\r\n";
  while (raw.size() < 100000) raw += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  auto r = Read(raw, false, 4096, false);
  EXPECT_EQ(r.state(), State::kError);
  EXPECT_EQ(r.error(), "response head exceeds 16384 bytes");
  EXPECT_EQ(r.consumed(), HttpResponseReader::kMaxHead);
}

TEST(HttpResponseReaderTest, EndlessInterimResponsesAreBounded) {
  std::string raw;
  while (raw.size() < 100000) raw += "HTTP/1.1 100 Continue\r\n\r\n";
  auto r = Read(raw, false, 4096, false);
  EXPECT_EQ(r.state(), State::kError);
  EXPECT_LE(r.consumed(), HttpResponseReader::kMaxHead);
}

TEST(HttpResponseReaderTest, CloseDelimitedBodyStopsAtBound) {
  const std::string raw = "HTTP/1.1 200 OK\r\n\r\n" + std::string(200000, 'a');
  auto r = Read(raw, true, 4096, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_TRUE(r.body_truncated());
  EXPECT_EQ(r.body().size(), HttpResponseReader::kMaxBody);
  // The reader never asked for more than head + bound.
  EXPECT_EQ(r.consumed(), 19 + HttpResponseReader::kMaxBody);
}

TEST(HttpResponseReaderTest, LengthBodyStopsAtBound) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000000, 'b');
  auto r = Read(raw, true, 4096, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_TRUE(r.body_truncated());
  EXPECT_EQ(r.body().size(), HttpResponseReader::kMaxBody);
}

TEST(HttpResponseReaderTest, ChunkedBodyStopsAtBound) {
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  while (raw.size() < 300000) raw += "1000\r\n" + std::string(0x1000, 'c') + "\r\n";
  auto r = Read(raw, true, 4096, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_TRUE(r.body_truncated());
  EXPECT_EQ(r.body().size(), HttpResponseReader::kMaxBody);
}

TEST(HttpResponseReaderTest, TinyChunksStopAtFramingBudget) {
  std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  while (raw.size() < 1000000) raw += "1\r\nd\r\n";
  auto r = Read(raw, true, 4096, false);
  EXPECT_EQ(r.state(), State::kDone);
  EXPECT_TRUE(r.body_truncated());
  EXPECT_LT(r.body().size(), HttpResponseReader::kMaxBody);
  EXPECT_LE(r.consumed(), 3 * HttpResponseReader::kMaxBody);
}

TEST(HttpResponseReaderTest, NoBodyStatuses) {
  for (const char* raw : {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                          "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "HTTP/1.1 101 Switching Protocols\r\n\r\n"}) {
    auto r = Read(raw, true, 4096, false);
    EXPECT_EQ(r.state(), State::kDone) << raw;
    EXPECT_EQ(r.body(), "");
  }
}

}  // namespace
}  // namespace maglev
