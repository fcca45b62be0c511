// SPDX-License-Identifier: Apache-2.0
#include "common/listen_address.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace maglev {

namespace {

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError("\"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

bool ListenAddress::is_loopback() const {
  if (any) return false;
  if (ip.is_v4()) return ip.v4_bytes()[0] == 127;
  static const IpAddress kV6Loopback = *IpAddress::Parse("::1");
  return ip == kV6Loopback;
}

std::string ListenAddress::WithPort(uint16_t p) const {
  std::string host = ip.is_v4() ? ip.ToString() : "[" + ip.ToString() + "]";
  return host + ":" + std::to_string(p);
}

std::string ListenAddress::ToString() const { return WithPort(port); }

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text, bool allow_port_zero) {
  if (text.empty()) return absl::InvalidArgumentError("empty address (want HOST:PORT)");
  std::string_view host, port;
  bool bracketed = false;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Bad(text, "unclosed '[' (want [IPv6]:PORT)");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return Bad(text, "missing \":PORT\" after ']'");
    port = rest.substr(1);
    bracketed = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Bad(text, "missing \":PORT\" (want HOST:PORT)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return Bad(text, "an IPv6 address needs brackets: [IPv6]:PORT");
  }
  if (port.empty()) return Bad(text, "missing port number after ':'");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec == std::errc::result_out_of_range) return Bad(text, "port out of range 1-65535");
  if (ec != std::errc() || end != port.data() + port.size())
    return Bad(text, "port \"" + std::string(port) + "\" is not a number");
  if (value > 65535 || (value == 0 && !allow_port_zero))
    return Bad(text, "port out of range 1-65535");

  ListenAddress out;
  out.port = static_cast<uint16_t>(value);
  if (host.empty() && !bracketed) {
    out.any = true;
    out.ip = *IpAddress::Parse("::");
    return out;
  }
  if (host == "localhost") {
    out.ip = IpAddress::V4(0x7f000001);
    return out;
  }
  auto ip = IpAddress::Parse(host);
  if (!ip || ip->is_v6() != bracketed)
    return Bad(text, "\"" + std::string(host) + "\" is not an IP address (want an IPv4 literal, " +
                         "[IPv6], localhost, or nothing before ':' for every address)");
  out.ip = *ip;
  return out;
}

absl::Status ProbeBind(const ListenAddress& address) {
  if (address.port == 0) return absl::OkStatus();
  sockaddr_storage ss;
  socklen_t len = address.ip.ToSockaddr(address.port, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(address.ToString() + ": " + std::strerror(errno));
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.any) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  close(fd);
  if (rc != 0) return absl::UnavailableError(address.ToString() + ": " + std::strerror(err));
  return absl::OkStatus();
}

}  // namespace maglev
