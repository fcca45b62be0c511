#include "fake_vpp_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "vpp/transport.h"

namespace maglev::testing {
namespace {

namespace m = vppmsg;

uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

uint16_t FakeVppConn::IdOf(std::string_view name_crc) const {
  auto it = ids_->find(std::string(name_crc));
  return it == ids_->end() ? 0 : it->second;
}

void FakeVppConn::SendPayload(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame;
  AppendVppFrame(&frame, payload);
  SendRaw(frame);
}

void FakeVppConn::SendRaw(const std::vector<uint8_t>& frame) {
  size_t pos = 0;
  while (pos < frame.size()) {
    size_t n = frame.size() - pos;
    if (write_chunk_ > 0) n = std::min(n, write_chunk_);
    ssize_t w = ::send(fd_, frame.data() + pos, n, MSG_NOSIGNAL);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;  // the client went away; nothing to report
    }
    pos += static_cast<size_t>(w);
  }
}

FakeVppServer::FakeVppServer(const std::set<std::string>& omit) {
  char tmpl[] = "/tmp/maglev-vpp-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_path_ = dir_ + "/api.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(listen_fd_, 8) < 0 || ::pipe(wake_pipe_) < 0) {
    throw std::runtime_error("fake VPP server setup failed");
  }
  uint16_t next = 0x400;
  for (const auto& info : m::AllMessages()) {
    std::string name(info.name_crc);
    if (omit.count(name)) continue;
    ids_[name] = info.fixed_id ? info.fixed_id : next++;
  }
  handler_ = [](FakeVppConn& c, uint16_t id, const std::string& n, const std::vector<uint8_t>& p) {
    DefaultHandle(c, id, n, p);
  };
}

FakeVppServer::~FakeVppServer() {
  if (started_) {
    char b = 1;
    (void)!::write(wake_pipe_[1], &b, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  ::unlink(socket_path_.c_str());
  ::rmdir(dir_.c_str());
}

void FakeVppServer::Start() {
  for (const auto& [name, id] : ids_) names_[id] = name;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

std::vector<std::string> FakeVppServer::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

std::string FakeVppServer::client_name() const {
  std::lock_guard<std::mutex> lock(mu_);
  return client_name_;
}

bool FakeVppServer::DefaultHandle(FakeVppConn& conn, uint16_t id, const std::string& name,
                                  const std::vector<uint8_t>& payload) {
  m::Header h;
  if (name == m::ControlPing::kNameCrc) {
    if (!m::Decode<m::ControlPing>(payload, &h).ok()) return true;
    m::ControlPingReply r;
    r.client_index = h.client_index;
    r.vpe_pid = 4242;
    conn.Send(r, h.context);
    return true;
  }
  if (name == m::SockclntDelete::kNameCrc) {
    if (!m::Decode<m::SockclntDelete>(payload, &h).ok()) return true;
    m::SockclntDeleteReply r;
    r.response = 1;
    conn.Send(r, h.context);
    conn.CloseAfterThis();
    return true;
  }
  if (name == m::ShowVersion::kNameCrc) {
    if (!m::Decode<m::ShowVersion>(payload, &h).ok()) return true;
    m::ShowVersionReply r;
    r.program = "vpe";
    r.version = "26.10-rc0~374-gb575ec2c5";
    r.build_date = "2026-08-21T10:00:00";
    r.build_directory = "/build/vpp";
    conn.Send(r, h.context);
    return true;
  }
  return false;
}

void FakeVppServer::Run() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    ::close(fd);
  }
}

void FakeVppServer::Serve(int fd) {
  ++connections_;
  FakeVppConn conn(fd, &ids_, write_chunk_);
  std::vector<uint8_t> in;
  bool registered = false;
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    uint8_t buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.insert(in.end(), buf, buf + n);
    size_t pos = 0;
    while (in.size() - pos >= 16) {
      uint32_t len = LoadBe32(in.data() + pos + 8);
      if (in.size() - pos - 16 < len) break;
      std::vector<uint8_t> payload(in.begin() + static_cast<std::ptrdiff_t>(pos + 16),
                                   in.begin() + static_cast<std::ptrdiff_t>(pos + 16 + len));
      pos += 16 + len;
      uint16_t id = m::PeekMsgId(payload.data(), payload.size());
      if (!registered) {
        m::Header h;
        auto create = m::Decode<m::SockclntCreate>(payload, &h);
        if (id != m::SockclntCreate::kFixedId || !create.ok()) return;
        registered = true;
        {
          std::lock_guard<std::mutex> lock(mu_);
          client_name_ = create->name;
        }
        if (!answer_handshake_) continue;
        m::SockclntCreateReply reply;
        reply.index = handle();
        for (const auto& [name, mid] : ids_) reply.message_table.push_back({mid, name});
        conn.SendPayload(
            m::Encode(reply, m::Header{m::SockclntCreateReply::kFixedId, 0, h.context}));
        continue;
      }
      auto it = names_.find(id);
      std::string name = it == names_.end() ? std::string() : it->second;
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(name.empty() ? "id:" + std::to_string(id) : name);
      }
      handler_(conn, id, name, payload);
      if (conn.close_requested()) return;
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
  }
}

}  // namespace maglev::testing
