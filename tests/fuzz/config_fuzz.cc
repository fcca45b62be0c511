// libFuzzer target for the YAML config loader: any input must produce either
// a config or an error of a definite kind, never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  maglev::ConfigResult r = maglev::ParseConfig(text);
  // The result's invariants: a config iff ok, an error message iff not ok.
  if (r.ok() != (r.config != nullptr)) std::abort();
  if (r.ok() != r.error.empty()) std::abort();
  if (r.kind == maglev::ConfigErrorKind::kParse && r.error.find('\n') != std::string::npos) {
    std::abort();  // a parse error is a single line
  }
  return 0;
}
