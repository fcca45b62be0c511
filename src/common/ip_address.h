// An IPv4 or IPv6 address as a value type, stored as VPP's ip46 layout
// (IPv4 in the last four bytes) plus a family tag. Ordering is the project's
// deterministic order: every IPv4 address before every IPv6 address, then
// numerically ascending. Pure; thread-agnostic.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace maglev {

class IpAddress {
 public:
  enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

  IpAddress() = default;  // 0.0.0.0
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(uint32_t host_order);
  static IpAddress FromV4Bytes(const uint8_t bytes[4]);
  static IpAddress FromV6Bytes(const uint8_t bytes[16]);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  // 16 bytes, network order; IPv4 occupies bytes 12..15 with 0 before.
  const std::array<uint8_t, 16>& ip46() const { return bytes_; }
  // Only meaningful for IPv4: the four address bytes.
  const uint8_t* v4_bytes() const { return bytes_.data() + 12; }
  bool is_unspecified() const;

  std::string ToString() const;
  // Fills a sockaddr for connect()/bind(); returns its length.
  socklen_t ToSockaddr(uint16_t port, sockaddr_storage* out) const;
  static std::optional<IpAddress> FromSockaddr(const sockaddr* sa);

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
    if (a.family_ != b.family_) return a.family_ <=> b.family_;
    return a.bytes_ <=> b.bytes_;
  }

 private:
  Family family_ = Family::kV4;
  std::array<uint8_t, 16> bytes_{};
};

}  // namespace maglev
