// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the `show lb vips verbose` parser (src/vpp/lb_cli.h):
// any text must parse to a list of VIPs (lines it does not know skipped)
// without undefined behaviour or a crash, and a prefix length it returns
// must be one an address can have.
//
// Built only with Clang (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vpp/lb_cli.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const maglev::LbCliVip& v : maglev::ParseShowLbVipsVerbose(text)) {
    if (v.plen > 128) std::abort();
  }
  return 0;
}
