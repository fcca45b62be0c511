// maglev-vppsim's socket server: listens on a unix stream socket like VPP's
// socksvr, reassembles 16-byte-header frames from the byte stream, hands each
// payload to the ApiHandler and writes the replies (in chunks of at most 4096
// bytes, as VPP does) to the connection the reply is routed to. Also runs the
// lb plugin's periodic GC process. Everything runs on the thread that runs
// the io_context given at construction; Start/Stop and handler() must be
// called on that thread (or before it runs).
#pragma once

// asio decides at its first inclusion whether std::aligned_alloc exists, from
// a macro that only libstdc++'s own headers define: a standard header must
// come first, or translation units disagree (an ODR violation ASan reports).
#include <cstddef>
// (keep the line above first)
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/duration.h"
#include "vppsim/api_handler.h"
#include "vppsim/sim_stats.h"
#include "vppsim/stats_server.h"

namespace maglev::vppsim {

class SimServer {
 public:
  struct Options {
    std::string socket_path;
    bool legacy_lb = false;  // lb 1.1.0 API (no weights, no GC process)
    // Period of the lb GC process (VPP: 60 s). Zero disables it. Legacy mode
    // has no GC process at all, as VPP <= 26.06.
    Duration gc_interval = std::chrono::seconds(60);
    uint16_t lb_first_msg_id = kDefaultLbFirstMsgId;
    // A frame announcing more than this is not buffered: the connection is
    // closed (VPP has no limit and would just keep reading).
    size_t max_frame_bytes = 64u << 20;
    // A client that lets more than this pile up unread is disconnected, so
    // that it cannot exhaust the simulator's memory.
    size_t max_pending_output_bytes = 64u << 20;
    std::string version;  // show_version; empty = default for the API level
    // The stats segment's socket (STATS.md §1); empty = no stats segment.
    std::string stats_socket_path;
    size_t stats_segment_size = 32u << 20;  // statseg { size }
    // statseg { update-interval }: /sys/heartbeat + 1 per period.
    Duration stats_update_interval = std::chrono::seconds(10);
    uint32_t num_workers = 0;  // VPP worker threads (threads = 1 + workers)
    // /sys/boottime (Unix seconds); 0 = now.
    uint64_t boottime = 0;
  };

  // `clock`: simulated VPP uptime in seconds; default: real time since Create.
  static absl::StatusOr<std::unique_ptr<SimServer>> Create(asio::io_context& io, Options options,
                                                           LbModel::Clock clock = {});
  ~SimServer();

  // Binds and listens. A stale socket file is replaced; one that a live
  // server still answers on is an error.
  absl::Status Start();
  // Stops accepting, closes every connection and the GC timer, and removes
  // the socket file. Idempotent; pending handlers then finish and io.run()
  // returns once nothing else is queued.
  void Stop();

  ApiHandler& handler() { return *handler_; }
  // The stats segment (nullptr without a stats socket).
  SimStats* stats() { return stats_.get(); }
  size_t num_connections() const { return sessions_.size(); }
  const Options& options() const { return options_; }

 private:
  class Session;
  friend class Session;

  SimServer(asio::io_context& io, Options options, std::unique_ptr<ApiHandler> handler);
  void Accept();
  void ScheduleGc();
  void ScheduleHeartbeat();
  void Deliver(HandleResult result);
  void Forget(Session* session);

  asio::io_context& io_;
  Options options_;
  std::unique_ptr<ApiHandler> handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  asio::steady_timer gc_timer_;
  asio::steady_timer heartbeat_timer_;
  std::unique_ptr<SimStats> stats_;
  std::unique_ptr<StatsServer> stats_server_;
  // Every open connection, and the routing of registrations to connections.
  // A connection released by sockclnt_delete leaves `routes_` at once (its
  // registration index may be reused) but stays in `sessions_` until its
  // last reply is written.
  std::map<Session*, std::shared_ptr<Session>> sessions_;
  std::map<uint32_t, Session*> routes_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace maglev::vppsim
