#include "vpp/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"

namespace maglev {
namespace {

using vppmsg::Header;

uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::string ErrnoText(int err) { return std::strerror(err); }

void StdSvFormatter(std::string* out, std::string_view s) { out->append(s.data(), s.size()); }

// Reads of one ReadSome() call are capped so a flood of data cannot starve
// the writer side of the loop.
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxReadPerCall = 1024 * 1024;

}  // namespace

void AppendVppFrame(std::vector<uint8_t>* out, const uint8_t* payload, size_t size) {
  WireWriter w(out);
  w.U64(0);  // q: VPP's shared-memory queue pointer, always 0 from a client
  w.U32(static_cast<uint32_t>(size));
  w.U32(0);  // gc_mark_timestamp
  w.Bytes(payload, size);
}

VppTransport::VppTransport(VppTransportOptions options) : options_(std::move(options)) {}

VppTransport::~VppTransport() { Abort(); }

std::optional<uint16_t> VppTransport::FindMsgId(std::string_view name_crc) const {
  auto it = ids_by_name_.find(std::string(name_crc));
  if (it == ids_by_name_.end()) return std::nullopt;
  return it->second;
}

std::string_view VppTransport::MsgName(uint16_t id) const {
  auto it = names_by_id_.find(id);
  if (it == names_by_id_.end()) return {};
  return it->second;
}

uint32_t VppTransport::NextContext() {
  uint32_t c = next_context_++;
  if (c == 0) c = next_context_++;  // keep 0 out: it reads like "unset" in traces
  return c;
}

void VppTransport::Abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  client_index_ = 0;
  out_.clear();
  out_pos_ = 0;
  in_.clear();
  in_pos_ = 0;
}

absl::Status VppTransport::Fatal(absl::Status s) {
  Abort();
  return s;
}

absl::Status VppTransport::Connect(const std::string& socket_path,
                                   std::span<const std::string_view> required) {
  Abort();
  ids_by_name_.clear();
  names_by_id_.clear();
  socket_path_ = socket_path;

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VPP API socket path \"", socket_path, "\" is empty or too long"));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", ErrnoText(errno)));
  fd_ = fd;

  // A unix-socket connect only blocks when the listener's backlog is full;
  // SO_SNDTIMEO bounds that wait.
  timeval tv{};
  tv.tv_sec = options_.timeout.count() / 1000;
  tv.tv_usec = (options_.timeout.count() % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    Abort();
    if (err == EAGAIN || err == ETIMEDOUT || err == EINPROGRESS) {
      return absl::DeadlineExceededError(
          absl::StrCat("connect ", socket_path, ": ", ErrnoText(err)));
    }
    return absl::UnavailableError(absl::StrCat("connect ", socket_path, ": ", ErrnoText(err)));
  }
  timeval zero{};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
  int flags = ::fcntl(fd_, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Fatal(absl::InternalError(absl::StrCat("fcntl(O_NONBLOCK): ", ErrnoText(errno))));
  }

  MAGLEV_RETURN_IF_ERROR(Handshake(NextContext()));

  std::vector<std::string_view> missing;
  for (std::string_view name : required) {
    if (!HasMessage(name)) missing.push_back(name);
  }
  if (!missing.empty()) {
    // Closing the socket is all VPP needs to drop the registration.
    Abort();
    return absl::FailedPreconditionError(
        absl::StrCat("VPP at ", socket_path, " lacks required API message(s) ",
                     absl::StrJoin(missing, ", ", StdSvFormatter),
                     " (plugin not loaded or a different API version)"));
  }
  return absl::OkStatus();
}

absl::Status VppTransport::Handshake(uint32_t context) {
  vppmsg::SockclntCreate create;
  create.name = options_.client_name;
  std::vector<uint8_t> payload =
      vppmsg::Encode(create, Header{vppmsg::SockclntCreate::kFixedId, 0, context});
  AppendVppFrame(&out_, payload);
  ++stats_.frames_sent;

  std::optional<std::vector<uint8_t>> reply;
  auto on_frame = [&](std::vector<uint8_t>& p) {
    ++stats_.frames_received;
    if (!reply && vppmsg::PeekMsgId(p.data(), p.size()) == vppmsg::SockclntCreateReply::kFixedId) {
      reply = std::move(p);
    } else {
      ++stats_.unsolicited_frames;
    }
  };
  absl::Status s = Pump(on_frame, [&] { return reply.has_value(); });
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("VPP API handshake: ", s.message()));
  }
  vppmsg::Header h;
  auto decoded = vppmsg::Decode<vppmsg::SockclntCreateReply>(*reply, &h);
  if (!decoded.ok()) {
    return Fatal(
        absl::DataLossError(absl::StrCat("VPP API handshake: ", decoded.status().message())));
  }
  if (h.context != context) {
    return Fatal(absl::DataLossError(absl::StrCat(
        "VPP API handshake: sockclnt_create_reply context ", h.context, ", expected ", context)));
  }
  if (decoded->response != 0) {
    return Fatal(absl::UnavailableError(
        absl::StrCat("VPP refused the API client registration: sockclnt_create_reply response ",
                     decoded->response)));
  }
  client_index_ = decoded->index;
  for (auto& e : decoded->message_table) {
    std::string name = std::move(e.name);
    // GoVPP strips a trailing 0x13 that some VPP builds leave in the name.
    if (!name.empty() && name.back() == '\x13') name.pop_back();
    names_by_id_[e.index] = name;
    ids_by_name_[std::move(name)] = e.index;
  }
  return absl::OkStatus();
}

absl::Status VppTransport::Close() {
  if (!connected()) return absl::OkStatus();
  vppmsg::SockclntDelete del;
  del.index = client_index_;
  auto reply = Call<vppmsg::SockclntDeleteReply>(del);
  Abort();
  if (!reply.ok()) return reply.status();
  // VPP answers 1 on success (quirk 11), -1 for an unknown index.
  if (reply->response != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("sockclnt_delete: response ", reply->response));
  }
  return absl::OkStatus();
}

absl::Status VppTransport::WriteSome() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return Fatal(absl::UnavailableError(absl::StrCat("VPP connection lost while sending: ",
                                                     n < 0 ? ErrnoText(errno) : "short write")));
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  return absl::OkStatus();
}

absl::Status VppTransport::ReadSome(std::vector<std::vector<uint8_t>>* frames) {
  bool eof = false;
  size_t total = 0;
  while (total < kMaxReadPerCall) {
    size_t old = in_.size();
    in_.resize(old + kReadChunk);
    ssize_t n = ::recv(fd_, in_.data() + old, kReadChunk, 0);
    in_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return Fatal(absl::UnavailableError(absl::StrCat("VPP connection lost: ", ErrnoText(errno))));
  }

  // Cut complete frames out of the byte stream.
  while (in_.size() - in_pos_ >= kVppFrameHeaderSize) {
    const uint8_t* h = in_.data() + in_pos_;
    uint32_t len = LoadBe32(h + 8);
    if (len > options_.max_frame_size) {
      return Fatal(absl::DataLossError(absl::StrCat("VPP sent a frame of ", len, " bytes (limit ",
                                                    options_.max_frame_size, "): stream corrupt")));
    }
    if (in_.size() - in_pos_ - kVppFrameHeaderSize < len) break;
    frames->emplace_back(h + kVppFrameHeaderSize, h + kVppFrameHeaderSize + len);
    in_pos_ += kVppFrameHeaderSize + len;
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kMaxReadPerCall) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
    in_pos_ = 0;
  }
  if (eof) {
    // Frames received before the close are still delivered: VPP sends
    // sockclnt_delete_reply and then closes at once.
    eof_ = true;
  }
  return absl::OkStatus();
}

absl::Status VppTransport::WaitIo(bool want_write, Clock::time_point deadline) {
  for (;;) {
    auto now = Clock::now();
    if (now >= deadline) {
      return Fatal(absl::DeadlineExceededError(
          absl::StrCat("no answer from VPP within ", options_.timeout.count(), "ms")));
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) {
      return Fatal(absl::InternalError(absl::StrCat("poll: ", ErrnoText(errno))));
    }
  }
}

template <typename OnFrame, typename Done>
absl::Status VppTransport::Pump(OnFrame&& on_frame, Done&& done) {
  if (!connected()) return absl::UnavailableError("not connected to VPP");
  auto deadline = Clock::now() + options_.timeout;
  std::vector<std::vector<uint8_t>> frames;
  eof_ = false;
  for (;;) {
    bool progress = false;
    if (out_pos_ < out_.size()) {
      size_t before = out_pos_;
      MAGLEV_RETURN_IF_ERROR(WriteSome());
      progress = out_.empty() || out_pos_ != before;
    }
    frames.clear();
    MAGLEV_RETURN_IF_ERROR(ReadSome(&frames));
    for (auto& f : frames) on_frame(f);
    if (!frames.empty()) progress = true;
    if (done()) {
      // Push out what the frames queued (keepalive replies) without waiting;
      // anything left goes with the next exchange. A failure here belongs to
      // the next exchange too (the socket is closed by then): these calls
      // have their answers.
      if (out_pos_ < out_.size() && !eof_) (void)WriteSome();
      return absl::OkStatus();
    }
    if (eof_) return Fatal(absl::UnavailableError("VPP closed the API connection"));
    if (progress) {
      deadline = Clock::now() + options_.timeout;
      continue;
    }
    MAGLEV_RETURN_IF_ERROR(WaitIo(out_pos_ < out_.size(), deadline));
  }
}

absl::Status VppTransport::ServiceIdle() {
  if (!connected()) return absl::UnavailableError("not connected to VPP");
  std::vector<std::vector<uint8_t>> frames;
  eof_ = false;
  MAGLEV_RETURN_IF_ERROR(ReadSome(&frames));
  for (const auto& f : frames) {
    ++stats_.frames_received;
    if (!MaybeAnswerKeepalive(f)) ++stats_.unsolicited_frames;
  }
  if (eof_) return Fatal(absl::UnavailableError("VPP closed the API connection"));
  if (out_pos_ < out_.size()) MAGLEV_RETURN_IF_ERROR(WriteSome());
  return absl::OkStatus();
}

bool VppTransport::MaybeAnswerKeepalive(const std::vector<uint8_t>& payload) {
  auto ka_id = MsgIdOf<vppmsg::MemclntKeepalive>();
  if (!ka_id.ok() || vppmsg::PeekMsgId(payload.data(), payload.size()) != *ka_id) return false;
  vppmsg::Header h;
  auto ka = vppmsg::Decode<vppmsg::MemclntKeepalive>(payload, &h);
  if (!ka.ok()) return false;
  auto reply_id = MsgIdOf<vppmsg::MemclntKeepaliveReply>();
  if (!reply_id.ok()) return true;
  // The reply is queued behind whatever is being sent and goes out with it.
  AppendVppFrame(&out_,
                 vppmsg::Encode(vppmsg::MemclntKeepaliveReply{}, Header{*reply_id, 0, h.context}));
  ++stats_.frames_sent;
  ++stats_.keepalives_answered;
  return true;
}

absl::Status VppTransport::Execute(std::span<VppRawCall> calls) {
  if (!connected()) {
    absl::Status s = absl::UnavailableError("not connected to VPP");
    for (auto& c : calls) c.status = s;
    return s;
  }
  auto ping_id = MsgIdOf<vppmsg::ControlPing>();
  auto ping_reply_id = MsgIdOf<vppmsg::ControlPingReply>();
  std::unordered_map<uint32_t, size_t> pending;
  pending.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    VppRawCall& c = calls[i];
    c.status = absl::OkStatus();
    c.done = false;
    c.responses.clear();
    AppendVppFrame(&out_, c.payload);
    ++stats_.frames_sent;
    if (c.is_dump) {
      // Same context as the dump: its reply marks the end of the details.
      AppendVppFrame(
          &out_, vppmsg::Encode(vppmsg::ControlPing{}, Header{*ping_id, client_index_, c.context}));
      ++stats_.frames_sent;
    }
    pending[c.context] = i;
  }
  size_t remaining = pending.size();

  auto on_frame = [&](std::vector<uint8_t>& p) {
    ++stats_.frames_received;
    if (MaybeAnswerKeepalive(p)) return;
    if (p.size() < 6) {
      ++stats_.malformed_frames;
      return;
    }
    uint16_t id = vppmsg::PeekMsgId(p.data(), p.size());
    uint32_t context = LoadBe32(p.data() + 2);
    auto it = pending.find(context);
    if (it == pending.end()) {
      ++stats_.unsolicited_frames;
      return;
    }
    VppRawCall& c = calls[it->second];
    auto unexpected = [&] {
      std::string_view n = MsgName(id);
      return absl::InternalError(absl::StrCat(c.name, ": unexpected message ",
                                              n.empty() ? std::string("(unknown)") : std::string(n),
                                              " (id ", id, ") with this call's context"));
    };
    if (c.is_dump) {
      if (id == c.reply_msg_id) {
        c.responses.push_back(std::move(p));
        return;
      }
      if (ping_reply_id.ok() && id == *ping_reply_id) {
        c.done = true;
      } else if (c.status.ok()) {
        c.status = unexpected();
        return;
      } else {
        return;
      }
    } else {
      if (id == c.reply_msg_id) {
        c.responses.push_back(std::move(p));
      } else {
        c.status = unexpected();
      }
      c.done = true;
    }
    pending.erase(it);
    --remaining;
  };
  absl::Status s = Pump(on_frame, [&] { return remaining == 0; });
  if (!s.ok()) {
    size_t unanswered = 0;
    const VppRawCall* first = nullptr;
    for (auto& c : calls) {
      if (c.done) continue;
      if (!first) first = &c;
      ++unanswered;
    }
    if (first) {
      s = absl::Status(s.code(), absl::StrCat(s.message(), " (waiting for ", first->name,
                                              unanswered > 1 ? absl::StrCat(" and ", unanswered - 1,
                                                                            " more call(s)")
                                                             : std::string(),
                                              ")"));
    }
    for (auto& c : calls) {
      if (!c.done) c.status = s;
    }
  }
  return s;
}

}  // namespace maglev
