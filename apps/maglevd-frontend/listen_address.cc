// SPDX-License-Identifier: Apache-2.0
#include "listen_address.h"

#include <arpa/inet.h>

#include <charconv>

#include "absl/status/status.h"

namespace maglev::frontend {
namespace {

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError("bad listen address \"" + std::string(text) + "\": " +
                                    std::string(why));
}

bool IsV4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsV6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (all) return ":" + std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

absl::StatusOr<ListenAddress> ParseHttpListen(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Bad(text, "want HOST:PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 1 || port > 65535) {
    return Bad(text, "the port must be a number from 1 to 65535");
  }
  ListenAddress out;
  out.port = static_cast<uint16_t>(port);
  if (host.empty()) {
    out.all = true;
    out.host = "::";
    return out;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return Bad(text, "unbalanced brackets");
    std::string inner(host.substr(1, host.size() - 2));
    if (!IsV6(inner)) return Bad(text, "not an IPv6 literal inside the brackets");
    out.host = inner;
    return out;
  }
  std::string h(host);
  if (h == "localhost") {
    out.host = "127.0.0.1";
    return out;
  }
  if (IsV4(h)) {
    out.host = h;
    return out;
  }
  if (IsV6(h)) return Bad(text, "an IPv6 address needs brackets: [ADDRESS]:PORT");
  return Bad(text, "the host must be an IPv4 literal, [IPv6] or localhost");
}

}  // namespace maglev::frontend
