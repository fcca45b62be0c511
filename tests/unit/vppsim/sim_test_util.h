// Test-side encoding of VPP API messages straight from PROTOCOL.md's byte
// layouts (deliberately not using the simulator's own wire code), decoders
// for the details messages, and a blocking unix-socket client with poll()
// timeouts. Shared by the vppsim unit and integration tests.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace maglev::vppsim::testing {

using Bytes = std::vector<uint8_t>;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Appends big-endian fields.
class Msg {
 public:
  explicit Msg(uint16_t id) { U16(id); }
  Msg& U8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Msg& U16(uint16_t v) {
    b_.push_back(static_cast<uint8_t>(v >> 8));
    b_.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Msg& U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
    return *this;
  }
  Msg& Raw(const Bytes& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  Msg& Str(const std::string& s, size_t n) {
    Bytes f(n, 0);
    std::memcpy(f.data(), s.data(), std::min(s.size(), n - 1));
    return Raw(f);
  }
  Bytes Take() { return std::move(b_); }

 private:
  Bytes b_;
};

// vl_api_address_t: af + 16 bytes (IPv4 in the first 4).
inline Bytes Address(const std::string& ip) {
  std::optional<IpAddress> a = IpAddress::Parse(ip);
  Bytes out(17, 0);
  if (!a) return out;
  if (a->is_v4()) {
    out[0] = 0;
    std::memcpy(out.data() + 1, a->v4_bytes(), 4);
  } else {
    out[0] = 1;
    std::memcpy(out.data() + 1, a->ip46().data(), 16);
  }
  return out;
}

// vl_api_prefix_t from "a.b.c.d/len" or "x::/len".
inline Bytes Prefix(const std::string& cidr) {
  size_t slash = cidr.find('/');
  Bytes out = Address(cidr.substr(0, slash));
  out.push_back(static_cast<uint8_t>(std::stoi(cidr.substr(slash + 1))));
  return out;
}

// The VIP-naming part of lb requests: pfx, protocol, port.
struct Vip {
  std::string prefix;
  uint8_t protocol = 255;
  uint16_t port = 0;
};
inline Bytes VipKey(const Vip& v) {
  Bytes out = Prefix(v.prefix);
  out.push_back(v.protocol);
  out.push_back(static_cast<uint8_t>(v.port >> 8));
  out.push_back(static_cast<uint8_t>(v.port));
  return out;
}

// Message ids by name from a sockclnt_create_reply payload.
struct Handshake {
  uint32_t client_index_field = 0;
  uint32_t context = 0;
  int32_t response = 0;
  uint32_t handle = 0;
  std::map<std::string, uint16_t> ids;      // name_crc -> id
  std::map<std::string, uint16_t> by_name;  // name (crc stripped) -> id
  size_t count = 0;
};
inline std::optional<Handshake> ParseHandshake(const Bytes& p) {
  if (p.size() < 20 || Be16(p.data()) != 16) return std::nullopt;
  Handshake h;
  h.client_index_field = Be32(&p[2]);
  h.context = Be32(&p[6]);
  h.response = static_cast<int32_t>(Be32(&p[10]));
  h.handle = Be32(&p[14]);
  h.count = Be16(&p[18]);
  if (p.size() < 20 + 66 * h.count) return std::nullopt;
  for (size_t i = 0; i < h.count; ++i) {
    const uint8_t* e = &p[20 + 66 * i];
    std::string name(reinterpret_cast<const char*>(e + 2),
                     strnlen(reinterpret_cast<const char*>(e + 2), 64));
    h.ids[name] = Be16(e);
    h.by_name[name.substr(0, name.rfind('_'))] = Be16(e);
  }
  return h;
}

inline std::string Ip46Text(uint8_t af, const uint8_t* un) {
  return af == 0 ? IpAddress::FromV4Bytes(un).ToString() : IpAddress::FromV6Bytes(un).ToString();
}

struct VipDetails {
  uint32_t context = 0;
  uint8_t af = 0;
  std::string prefix;  // "90.0.0.0/8"
  uint8_t protocol = 0;
  uint16_t port = 0;
  uint32_t encap = 0;
  uint8_t dscp = 0;
  std::array<uint8_t, 4> srv_type{};
  std::array<uint8_t, 2> target_port{};
  uint16_t flow_table_length = 0;
};
inline VipDetails ParseVipDetails(const Bytes& p) {
  VipDetails d;
  d.context = Be32(&p[2]);
  d.af = p[6];
  d.prefix = Ip46Text(p[6], &p[7]) + "/" + std::to_string(p[23]);
  d.protocol = p[24];
  d.port = Be16(&p[25]);
  d.encap = Be32(&p[27]);
  d.dscp = p[31];
  std::memcpy(d.srv_type.data(), &p[32], 4);
  std::memcpy(d.target_port.data(), &p[36], 2);
  d.flow_table_length = Be16(&p[38]);
  return d;
}

struct AsDetails {
  uint32_t context = 0;
  std::string vip;  // "2001::/16"
  uint8_t protocol = 0;
  uint16_t port = 0;
  std::string as;
  uint8_t flags = 0;
  uint32_t in_use_since = 0;
  uint8_t weight = 0;        // v2 only
  uint32_t num_buckets = 0;  // v2 only
};
inline AsDetails ParseAsDetails(const Bytes& p, bool v2) {
  AsDetails d;
  d.context = Be32(&p[2]);
  d.vip = Ip46Text(p[6], &p[7]) + "/" + std::to_string(p[23]);
  d.protocol = p[24];
  d.port = Be16(&p[25]);
  d.as = Ip46Text(p[27], &p[28]);
  d.flags = p[44];
  d.in_use_since = Be32(&p[45]);
  if (v2) {
    d.weight = p[49];
    d.num_buckets = Be32(&p[50]);
  }
  return d;
}

inline Bytes Frame(const Bytes& payload) {
  Bytes f(16, 0);
  uint32_t n = static_cast<uint32_t>(payload.size());
  f[8] = static_cast<uint8_t>(n >> 24);
  f[9] = static_cast<uint8_t>(n >> 16);
  f[10] = static_cast<uint8_t>(n >> 8);
  f[11] = static_cast<uint8_t>(n);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

inline Bytes FromHex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Blocking client over a unix stream socket; every read has a timeout.
class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { Close(); }

  bool Connect(const std::string& path) {
    Close();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return false;
    }
    return true;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool connected() const { return fd_ >= 0; }

  bool SendRaw(const Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Send(const Bytes& payload) { return SendRaw(Frame(payload)); }

  // Next frame's payload, or nullopt on timeout / EOF. `header` receives the
  // 16 header bytes when given.
  std::optional<Bytes> Read(int timeout_ms = 5000, Bytes* header = nullptr) {
    while (true) {
      if (buf_.size() >= 16) {
        uint32_t n = Be32(&buf_[8]);
        if (buf_.size() >= 16 + n) {
          if (header) header->assign(buf_.begin(), buf_.begin() + 16);
          Bytes payload(buf_.begin() + 16, buf_.begin() + 16 + n);
          buf_.erase(buf_.begin(), buf_.begin() + 16 + n);
          return payload;
        }
      }
      if (!Fill(timeout_ms)) return std::nullopt;
    }
  }

  // True when the server closed the connection (EOF) within the timeout
  // with no further frame data.
  bool WaitEof(int timeout_ms = 5000) {
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, timeout_ms);
      if (r <= 0) return false;
      uint8_t tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      buf_.insert(buf_.end(), tmp, tmp + n);
    }
  }

  // sockclnt_create + reply.
  std::optional<Handshake> Register(const std::string& name, uint32_t context = 0x7b) {
    if (!Send(Msg(15).U32(context).Str(name, 64).Take())) return std::nullopt;
    std::optional<Bytes> r = Read();
    if (!r) return std::nullopt;
    return ParseHandshake(*r);
  }

  size_t reads() const { return reads_; }

 private:
  bool Fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0) return false;
    uint8_t tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    ++reads_;
    buf_.insert(buf_.end(), tmp, tmp + n);
    return true;
  }

  int fd_ = -1;
  Bytes buf_;
  size_t reads_ = 0;
};

}  // namespace maglev::vppsim::testing
