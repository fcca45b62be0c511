// SPDX-License-Identifier: Apache-2.0
#include "servers.h"

#include <charconv>
#include <set>

#include "absl/status/status.h"

namespace maglev::frontend {
namespace {

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

bool ValidAddress(std::string_view a) {
  size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = a.substr(0, colon), port = a.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    return false;
  }
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return host.find(':') == std::string_view::npos;
}

}  // namespace

absl::StatusOr<std::vector<ServerSpec>> ParseServers(std::string_view text) {
  std::vector<ServerSpec> out;
  std::set<std::string> names;
  if (text.empty()) return absl::InvalidArgumentError("--server: no maglevd given");
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    ServerSpec s;
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      s.name = std::string(item.substr(0, eq));
      s.address = std::string(item.substr(eq + 1));
    } else {
      s.address = std::string(item);
      s.name = s.address;
    }
    if (!ValidAddress(s.address)) {
      return absl::InvalidArgumentError("--server: \"" + std::string(item) +
                                        "\" is not [NAME=]HOST:PORT");
    }
    if (!ValidName(s.name)) {
      return absl::InvalidArgumentError("--server: bad name \"" + s.name +
                                        "\" (letters, digits, . - _ : only)");
    }
    if (!names.insert(s.name).second) {
      return absl::InvalidArgumentError("--server: \"" + s.name + "\" is named twice");
    }
    out.push_back(std::move(s));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace maglev::frontend
