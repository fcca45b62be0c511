#include "vppsim/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>

#include "common/log.h"
#include "vppsim/wire.h"

namespace maglev::vppsim {
namespace {

using asio::local::stream_protocol;

// VPP reads and writes its API socket in chunks of at most this size.
constexpr size_t kChunk = 4096;

std::string BuildDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace

class SimServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(SimServer& server, stream_protocol::socket socket, uint32_t registration)
      : server_(server), socket_(std::move(socket)), registration_(registration) {}

  uint32_t registration() const { return registration_; }

  void StartReading() { Read(); }

  void Send(const std::vector<uint8_t>& payload) {
    if (closed_) return;
    out_.push_back(FrameMessage(payload));
    pending_ += out_.back().size();
    if (pending_ > server_.options_.max_pending_output_bytes) {
      LogWarn("vppsim-client-too-slow",
              {{"handle", static_cast<uint64_t>(kClientHandleBit | registration_)},
               {"pending_bytes", static_cast<uint64_t>(pending_)}});
      Close();
      return;
    }
    if (!writing_) Write();
  }

  // No more input is processed; the socket closes once the output drained.
  void CloseAfterFlush() {
    closing_ = true;
    if (!writing_) Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    std::error_code ignored;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
    server_.Forget(this);
  }

 private:
  void Read() {
    if (closed_ || closing_) return;
    socket_.async_read_some(
        asio::buffer(read_buf_),
        [self = shared_from_this()](std::error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(std::error_code ec, size_t n) {
    if (closed_) return;
    if (ec) {
      // EOF, reset, or cancelled by Stop(): a client that vanished mid-frame
      // simply loses the partial frame.
      Close();
      return;
    }
    in_.insert(in_.end(), read_buf_.begin(), read_buf_.begin() + static_cast<std::ptrdiff_t>(n));
    size_t off = 0;
    while (!closed_ && !closing_ && in_.size() - off >= kFrameHeaderSize) {
      const uint32_t len = LoadBe32(in_.data() + off + 8);
      if (len > server_.options_.max_frame_bytes) {
        LogWarn("vppsim-frame-too-large",
                {{"handle", static_cast<uint64_t>(kClientHandleBit | registration_)},
                 {"data_len", len}});
        Close();
        return;
      }
      if (in_.size() - off < kFrameHeaderSize + len) break;
      HandleResult result =
          server_.handler_->Handle(registration_, in_.data() + off + kFrameHeaderSize, len);
      off += kFrameHeaderSize + len;
      server_.Deliver(std::move(result));
    }
    if (closed_) return;
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(off));
    Read();
  }

  void Write() {
    if (closed_) return;
    if (out_.empty()) {
      writing_ = false;
      if (closing_) Close();
      return;
    }
    writing_ = true;
    const std::vector<uint8_t>& front = out_.front();
    const size_t n = std::min(kChunk, front.size() - out_off_);
    asio::async_write(socket_, asio::buffer(front.data() + out_off_, n),
                      [self = shared_from_this(), n](std::error_code ec, size_t) {
                        if (self->closed_) return;
                        if (ec) {
                          self->Close();
                          return;
                        }
                        self->out_off_ += n;
                        self->pending_ -= n;
                        if (self->out_off_ == self->out_.front().size()) {
                          self->out_.pop_front();
                          self->out_off_ = 0;
                        }
                        self->Write();
                      });
  }

  SimServer& server_;
  stream_protocol::socket socket_;
  const uint32_t registration_;
  std::array<uint8_t, kChunk> read_buf_{};
  std::vector<uint8_t> in_;
  // Whole frames; deque so that queuing never moves the one being written.
  std::deque<std::vector<uint8_t>> out_;
  size_t out_off_ = 0;
  size_t pending_ = 0;  // queued bytes not yet written
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

absl::StatusOr<std::unique_ptr<SimServer>> SimServer::Create(asio::io_context& io, Options options,
                                                             LbModel::Clock clock) {
  if (options.socket_path.empty()) return absl::InvalidArgumentError("empty socket path");
  if (!clock) {
    auto start = std::chrono::steady_clock::now();
    clock = [start] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
  }
  ApiHandler::Options handler_options;
  handler_options.legacy_lb = options.legacy_lb;
  handler_options.lb_first_msg_id = options.lb_first_msg_id;
  handler_options.vpe_pid = static_cast<uint32_t>(::getpid());
  handler_options.version = options.version;
  handler_options.build_date = BuildDate();
  handler_options.num_workers = options.num_workers;
  absl::StatusOr<std::unique_ptr<ApiHandler>> handler =
      ApiHandler::Create(std::move(handler_options), std::move(clock));
  if (!handler.ok()) return handler.status();
  std::unique_ptr<SimServer> server(new SimServer(io, std::move(options), *std::move(handler)));
  if (!server->options_.stats_socket_path.empty()) {
    StatsWriter::Options so;
    so.size = server->options_.stats_segment_size;
    so.num_threads = 1 + server->options_.num_workers;
    uint64_t boottime = server->options_.boottime;
    if (boottime == 0) boottime = static_cast<uint64_t>(std::time(nullptr));
    absl::StatusOr<std::unique_ptr<SimStats>> stats = SimStats::Create(so, boottime);
    if (!stats.ok()) return stats.status();
    server->stats_ = std::move(*stats);
    server->handler_->model().set_stats_sink(server->stats_.get());
  }
  return server;
}

SimServer::SimServer(asio::io_context& io, Options options, std::unique_ptr<ApiHandler> handler)
    : io_(io),
      options_(std::move(options)),
      handler_(std::move(handler)),
      acceptor_(io),
      gc_timer_(io),
      heartbeat_timer_(io) {}

SimServer::~SimServer() { Stop(); }

absl::Status SimServer::Start() {
  if (started_) return absl::FailedPreconditionError("already started");
  const std::string& path = options_.socket_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(path + " exists and is not a socket");
    }
    stream_protocol::socket probe(io_);
    std::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) return absl::FailedPreconditionError(path + ": another server is listening");
    ::unlink(path.c_str());  // stale socket of a dead process
  }
  std::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return absl::UnavailableError("listen on " + path + ": " + ec.message());
  }
  // Group-writable like VPP's api.sock.
  ::chmod(path.c_str(), 0770);
  if (stats_) {
    stats_server_ =
        std::make_unique<StatsServer>(io_, options_.stats_socket_path, stats_->writer().fd());
    if (absl::Status st = stats_server_->Start(); !st.ok()) {
      stats_server_.reset();
      acceptor_.close(ec);
      ::unlink(path.c_str());
      return st;
    }
  }
  started_ = true;
  LogInfo("vppsim-listen", {{"socket", path},
                            {"lb_api", options_.legacy_lb ? "1.1.0" : "1.2.0"},
                            {"version", handler_->options().version}});
  Accept();
  ScheduleGc();
  ScheduleHeartbeat();
  return absl::OkStatus();
}

void SimServer::ScheduleHeartbeat() {
  if (!stats_ || options_.stats_update_interval <= Duration::zero() || stopped_) return;
  heartbeat_timer_.expires_after(options_.stats_update_interval);
  heartbeat_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    stats_->Heartbeat();
    ScheduleHeartbeat();
  });
}

void SimServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  gc_timer_.cancel();
  heartbeat_timer_.cancel();
  if (stats_server_) stats_server_->Stop();
  // Close() erases from sessions_; iterate over a copy.
  std::map<Session*, std::shared_ptr<Session>> sessions = sessions_;
  for (auto& [ptr, session] : sessions) session->Close();
  ::unlink(options_.socket_path.c_str());
  LogInfo("vppsim-stop", {{"socket", options_.socket_path}});
}

void SimServer::Accept() {
  acceptor_.async_accept([this](std::error_code ec, stream_protocol::socket socket) {
    if (stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      LogWarn("vppsim-accept-failed", {{"error", ec.message()}});
    } else {
      uint32_t reg = handler_->Connect();
      auto session = std::make_shared<Session>(*this, std::move(socket), reg);
      sessions_[session.get()] = session;
      routes_[reg] = session.get();
      session->StartReading();
    }
    Accept();
  });
}

void SimServer::ScheduleGc() {
  if (options_.legacy_lb || options_.gc_interval <= Duration::zero() || stopped_) return;
  gc_timer_.expires_after(options_.gc_interval);
  gc_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    handler_->RunGarbageCollection();
    ScheduleGc();
  });
}

void SimServer::Deliver(HandleResult result) {
  for (Outgoing& out : result.replies) {
    auto it = routes_.find(out.registration);
    if (it != routes_.end()) it->second->Send(out.payload);
  }
  for (uint32_t reg : result.close_after_flush) {
    auto it = routes_.find(reg);
    if (it == routes_.end()) continue;
    // The handler already freed the registration: unroute now so that a new
    // connection reusing the index is not confused with this one.
    Session* session = it->second;
    routes_.erase(it);
    session->CloseAfterFlush();
  }
}

void SimServer::Forget(Session* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  // Keep the session alive until this call returns (we may be inside it).
  std::shared_ptr<Session> keep = it->second;
  sessions_.erase(it);
  auto route = routes_.find(session->registration());
  if (route != routes_.end() && route->second == session) {
    routes_.erase(route);
    handler_->Disconnect(session->registration());
  }
}

}  // namespace maglev::vppsim
