#include "common/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace maglev {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  uint8_t buf[16];
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return FromV4Bytes(buf);
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return FromV6Bytes(buf);
  return std::nullopt;
}

IpAddress IpAddress::V4(uint32_t host_order) {
  uint8_t b[4] = {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
                  static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
  return FromV4Bytes(b);
}

IpAddress IpAddress::FromV4Bytes(const uint8_t bytes[4]) {
  IpAddress a;
  a.family_ = Family::kV4;
  std::memcpy(a.bytes_.data() + 12, bytes, 4);
  return a;
}

IpAddress IpAddress::FromV6Bytes(const uint8_t bytes[16]) {
  IpAddress a;
  a.family_ = Family::kV6;
  std::memcpy(a.bytes_.data(), bytes, 16);
  return a;
}

bool IpAddress::is_unspecified() const {
  for (uint8_t b : bytes_)
    if (b) return false;
  return true;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, v4_bytes(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

socklen_t IpAddress::ToSockaddr(uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, v4_bytes(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, bytes_.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return FromV4Bytes(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr));
  }
  if (sa->sa_family == AF_INET6) {
    return FromV6Bytes(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr));
  }
  return std::nullopt;
}

}  // namespace maglev
