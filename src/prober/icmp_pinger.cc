#include "prober/icmp_pinger.h"

#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <random>
#include <unordered_map>
#include <vector>

#include "common/log.h"

namespace maglev {
namespace {

constexpr uint8_t kEchoRequest4 = 8;
constexpr uint8_t kEchoReply4 = 0;
constexpr uint8_t kDestUnreach4 = 3;
constexpr uint8_t kTimeExceeded4 = 11;
constexpr uint8_t kEchoRequest6 = 128;
constexpr uint8_t kEchoReply6 = 129;
constexpr uint8_t kDestUnreach6 = 1;
constexpr uint8_t kTimeExceeded6 = 3;
constexpr uint8_t kProtoIcmp4 = 1;
constexpr uint8_t kProtoIcmp6 = 58;

// Echo payload: an 8-byte per-probe token and a marker, so that a reply to an
// older probe that reused the sequence number, or to another pinger that
// happens to share our identifier, is not taken for ours.
constexpr char kMagic[8] = {'m', 'a', 'g', 'l', 'e', 'v', 'd', '!'};
constexpr size_t kHeaderLen = 8;
constexpr size_t kPayloadLen = 16;
constexpr size_t kMaxDrain = 256;  // datagrams read per wakeup before yielding

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += Load16(p + i);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string ErrnoText(int err) { return LowerFirst(std::strerror(err)); }

std::string UnreachText(bool v6, uint8_t code) {
  if (!v6) {
    switch (code) {
      case 0:
        return "network unreachable";
      case 1:
        return "host unreachable";
      case 2:
        return "protocol unreachable";
      case 3:
        return "port unreachable";
      case 4:
        return "fragmentation needed";
      case 9:
      case 10:
      case 13:
        return "administratively prohibited";
      default:
        break;
    }
  } else {
    switch (code) {
      case 0:
        return "no route to destination";
      case 1:
        return "administratively prohibited";
      case 3:
        return "address unreachable";
      case 4:
        return "port unreachable";
      case 5:
        return "source address failed policy";
      case 6:
        return "reject route to destination";
      default:
        break;
    }
  }
  return "destination unreachable (code " + std::to_string(code) + ")";
}

ProbeResult Result(ProbeCode code, std::string detail) {
  ProbeResult r;
  r.code = code;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

struct IcmpPinger::Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  uint64_t token = 0;
  IpAddress destination;
  bool answered = false;
  ProbeCode code = ProbeCode::kL3Err;
  std::string detail;
};

struct IcmpPinger::Socket {
  Socket(asio::io_context& io, bool is_v6, uint16_t id, uint64_t ns)
      : desc(io), v6(is_v6), ident(id), netns_id(ns) {}

  asio::posix::stream_descriptor desc;
  const bool v6;
  const uint16_t ident;
  const uint64_t netns_id;
  uint16_t next_seq = 0;
  std::unordered_map<uint16_t, Waiter*> waiting;

  void Complete(uint16_t seq, ProbeCode code, std::string detail) {
    auto it = waiting.find(seq);
    if (it == waiting.end()) return;
    Waiter* w = it->second;
    waiting.erase(it);
    w->answered = true;
    w->code = code;
    w->detail = std::move(detail);
    w->timer.cancel();
  }

  bool TokenMatches(uint16_t seq, const uint8_t* payload, size_t len, bool required) const {
    auto it = waiting.find(seq);
    if (it == waiting.end()) return false;
    if (len < kPayloadLen) return !required;
    uint64_t token;
    std::memcpy(&token, payload, 8);
    return token == it->second->token && std::memcmp(payload + 8, kMagic, 8) == 0;
  }

  // An ICMP error quoting one of our echo requests: `inner` is the quoted
  // IP packet (IPv4 with its header, IPv6 with its fixed header). The text
  // is built only for our own probes: errors about other traffic are common.
  void HandleError(uint8_t type, uint8_t code, const uint8_t* inner, size_t n,
                   const sockaddr_storage& from) {
    const uint8_t* icmp;
    size_t left;
    IpAddress dst;
    if (!v6) {
      if (n < 20 || (inner[0] >> 4) != 4 || inner[9] != kProtoIcmp4) return;
      const size_t ihl = static_cast<size_t>(inner[0] & 0x0f) * 4;
      if (ihl < 20 || n < ihl + kHeaderLen) return;
      dst = IpAddress::FromV4Bytes(inner + 16);
      icmp = inner + ihl;
      left = n - ihl;
      if (icmp[0] != kEchoRequest4) return;
    } else {
      if (n < 40 + kHeaderLen || (inner[0] >> 4) != 6 || inner[6] != kProtoIcmp6) return;
      dst = IpAddress::FromV6Bytes(inner + 24);
      icmp = inner + 40;
      left = n - 40;
      if (icmp[0] != kEchoRequest6) return;
    }
    if (Load16(icmp + 4) != ident) return;
    const uint16_t seq = Load16(icmp + 6);
    if (!TokenMatches(seq, icmp + kHeaderLen, left - kHeaderLen, false)) return;
    if (waiting.at(seq)->destination != dst) return;
    std::string what = type == (v6 ? kDestUnreach6 : kDestUnreach4) ? UnreachText(v6, code)
                                                                    : std::string("time exceeded");
    if (auto reporter = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from))) {
      what += " (from " + reporter->ToString() + ")";
    }
    Complete(seq, ProbeCode::kL3Err, std::move(what));
  }

  void Deliver(const uint8_t* p, size_t n, const sockaddr_storage& from) {
    const uint8_t* icmp = p;
    size_t len = n;
    if (!v6) {
      // IPv4 raw sockets see the IP header.
      if (n < 20 || (p[0] >> 4) != 4) return;
      const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
      if (ihl < 20 || n < ihl + kHeaderLen) return;
      icmp = p + ihl;
      len = n - ihl;
    }
    if (len < kHeaderLen) return;
    const uint8_t type = icmp[0];
    if (type == (v6 ? kEchoReply6 : kEchoReply4)) {
      if (Load16(icmp + 4) != ident) return;
      const uint16_t seq = Load16(icmp + 6);
      if (!TokenMatches(seq, icmp + kHeaderLen, len - kHeaderLen, true)) return;
      Complete(seq, ProbeCode::kL3Ok, "echo reply");
    } else if (type == (v6 ? kDestUnreach6 : kDestUnreach4) ||
               type == (v6 ? kTimeExceeded6 : kTimeExceeded4)) {
      HandleError(type, icmp[1], icmp + kHeaderLen, len - kHeaderLen, from);
    }
  }
};

IcmpPinger::IcmpPinger(asio::io_context& io, NetnsSockets& netns)
    : io_(io), netns_(netns), ident_(static_cast<uint16_t>(::getpid())) {
  std::random_device rd;
  next_token_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

IcmpPinger::~IcmpPinger() { Shutdown(); }

void IcmpPinger::Shutdown() {
  shut_down_ = true;
  for (auto& [key, s] : sockets_) {
    std::error_code ignored;
    s->desc.close(ignored);
  }
  sockets_.clear();
}

asio::awaitable<void> IcmpPinger::ReceiveLoop(std::shared_ptr<Socket> s) {
  // Big enough for an error quoting our whole request; longer datagrams are
  // someone else's and their truncation does not matter.
  std::vector<uint8_t> buf(1024);
  while (s->desc.is_open()) {
    std::error_code ec;
    co_await s->desc.async_wait(asio::posix::stream_descriptor::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // closed
    for (size_t i = 0; i < kMaxDrain && s->desc.is_open(); ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = ::recvfrom(s->desc.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // Pending probes on this socket time out; the next probe opens a new one.
        LogWarn("icmp-receive-failed", {{"error", ErrnoText(errno)}});
        std::error_code ignored;
        s->desc.close(ignored);
        break;
      }
      s->Deliver(buf.data(), static_cast<size_t>(n), from);
    }
  }
}

absl::StatusOr<std::shared_ptr<IcmpPinger::Socket>> IcmpPinger::GetSocket(
    bool v6, const std::string& netns) {
  if (shut_down_) return absl::UnavailableError("prober shut down");
  auto ns_id = netns_.Identity(netns);
  const auto key = std::make_pair(v6, netns);
  auto it = sockets_.find(key);
  if (!ns_id.ok()) {
    // The namespace is gone: a socket in it would keep it alive.
    if (it != sockets_.end()) {
      std::error_code ignored;
      it->second->desc.close(ignored);
      sockets_.erase(it);
    }
    return ns_id.status();
  }
  if (it != sockets_.end()) {
    if (it->second->desc.is_open() && it->second->netns_id == *ns_id) return it->second;
    std::error_code ignored;
    it->second->desc.close(ignored);
    sockets_.erase(it);
  }
  const int protocol = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  auto fd = netns_.Socket(netns, v6 ? AF_INET6 : AF_INET, SOCK_RAW, protocol);
  if (!fd.ok()) {
    return absl::UnavailableError("cannot open raw ICMP socket: " +
                                  std::string(fd.status().message()));
  }
  // Only replies and the errors that can quote our requests reach us: raw
  // sockets otherwise see every ICMP message of the namespace.
  if (!v6) {
    icmp_filter filter{};
    filter.data = ~((1u << kEchoReply4) | (1u << kDestUnreach4) | (1u << kTimeExceeded4));
    ::setsockopt(*fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
  } else {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(kEchoReply6, &filter);
    ICMP6_FILTER_SETPASS(kDestUnreach6, &filter);
    ICMP6_FILTER_SETPASS(kTimeExceeded6, &filter);
    ::setsockopt(*fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  }
  int rcvbuf = 1 << 20;
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

  auto s = std::make_shared<Socket>(io_, v6, ident_, *ns_id);
  std::error_code ec;
  s->desc.assign(*fd, ec);
  if (ec) {
    ::close(*fd);
    return absl::UnavailableError("cannot register raw ICMP socket: " + LowerFirst(ec.message()));
  }
  sockets_[key] = s;
  asio::co_spawn(io_, ReceiveLoop(s), asio::detached);
  return s;
}

asio::awaitable<ProbeResult> IcmpPinger::Ping(const ProbeSpec& spec,
                                              std::chrono::steady_clock::time_point deadline) {
  const bool v6 = spec.address.is_v6();
  auto sock = GetSocket(v6, spec.netns);
  if (!sock.ok()) co_return Result(ProbeCode::kL3Err, std::string(sock.status().message()));
  std::shared_ptr<Socket> s = *sock;
  if (s->waiting.size() >= 0xffff) {
    co_return Result(ProbeCode::kL3Err, "too many icmp probes in flight");
  }
  uint16_t seq = s->next_seq++;
  while (s->waiting.count(seq)) seq = s->next_seq++;

  Waiter w(io_);
  w.token = next_token_++;
  w.destination = spec.address;
  s->waiting.emplace(seq, &w);
  // However the probe ends (reply, timeout, frame destroyed), the socket
  // must not keep a pointer to this frame's waiter.
  struct Unregister {
    std::shared_ptr<Socket> s;
    uint16_t seq;
    Waiter* w;
    ~Unregister() {
      auto it = s->waiting.find(seq);
      if (it != s->waiting.end() && it->second == w) s->waiting.erase(it);
    }
  } unregister{s, seq, &w};

  uint8_t pkt[kHeaderLen + kPayloadLen] = {};
  pkt[0] = v6 ? kEchoRequest6 : kEchoRequest4;
  pkt[4] = static_cast<uint8_t>(ident_ >> 8);
  pkt[5] = static_cast<uint8_t>(ident_);
  pkt[6] = static_cast<uint8_t>(seq >> 8);
  pkt[7] = static_cast<uint8_t>(seq);
  std::memcpy(pkt + kHeaderLen, &w.token, 8);
  std::memcpy(pkt + kHeaderLen + 8, kMagic, 8);
  if (!v6) {  // the kernel fills in the ICMPv6 checksum, not the ICMPv4 one
    const uint16_t sum = Checksum(pkt, sizeof(pkt));
    pkt[2] = static_cast<uint8_t>(sum >> 8);
    pkt[3] = static_cast<uint8_t>(sum);
  }

  sockaddr_storage dst{};
  const socklen_t dst_len = spec.address.ToSockaddr(0, &dst);
  iovec iov{pkt, sizeof(pkt)};
  msghdr msg{};
  msg.msg_name = &dst;
  msg.msg_namelen = dst_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // The socket is shared, so a source address travels with each packet.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  if (spec.source) {
    msg.msg_control = control;
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
    if (!v6) {
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, spec.source->v4_bytes(), 4);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(info));
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
      msg.msg_controllen = CMSG_SPACE(sizeof(info));
    } else {
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, spec.source->ip46().data(), 16);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(info));
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
      msg.msg_controllen = CMSG_SPACE(sizeof(info));
    }
  }
  if (::sendmsg(s->desc.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    co_return Result(ProbeCode::kL3Err, "send: " + ErrnoText(errno));
  }

  w.timer.expires_at(deadline);
  std::error_code ec;
  co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (w.answered) co_return Result(w.code, std::move(w.detail));
  co_return Result(ProbeCode::kL3Tout, "timeout after " + FormatDuration(spec.timeout));
}

}  // namespace maglev
