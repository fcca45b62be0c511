// libFuzzer target for the prober's HTTP response reader: arbitrary bytes fed
// in arbitrary pieces (never more than the reader asks for), with the
// reader's bounds checked after every step. The first two input bytes choose
// the mode, the bounds and the piece size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "prober/http_response.h"

using maglev::HttpResponseReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool want_body = (data[0] & 1) != 0;
  // Small bounds let the fuzzer reach the limits quickly.
  const size_t max_head = (data[0] & 2) ? 64 : HttpResponseReader::kMaxHead;
  const size_t max_body = (data[0] & 4) ? 32 : HttpResponseReader::kMaxBody;
  const size_t step = static_cast<size_t>(data[1] % 64) + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

  HttpResponseReader r(want_body, max_head, max_body);
  size_t fed = 0;
  while (!in.empty()) {
    const auto state = r.state();
    if (state != HttpResponseReader::State::kHead && state != HttpResponseReader::State::kBody) {
      break;
    }
    const size_t want = r.WantBytes();
    if (want == 0) std::abort();  // reading, yet refusing bytes: a caller would spin
    size_t n = step < want ? step : want;
    if (n > in.size()) n = in.size();
    r.Feed(in.substr(0, n));
    in.remove_prefix(n);
    fed += n;
    if (r.consumed() > fed) std::abort();
    if (r.body().size() > max_body) std::abort();
  }
  r.FeedEof();
  switch (r.state()) {
    case HttpResponseReader::State::kDone:
      if (!r.head_done() || r.status() < 100 || r.status() > 999) std::abort();
      break;
    case HttpResponseReader::State::kError:
      if (r.error().empty() || r.WantBytes() != 0) std::abort();
      break;
    default:
      std::abort();  // EOF always ends the response
  }
  if (!want_body && !r.body().empty()) std::abort();
  if (r.body().size() > max_body) std::abort();
  return 0;
}
