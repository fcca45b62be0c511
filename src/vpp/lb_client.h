// LbClient: the production LbApi, speaking VPP's binary API over the unix
// socket through VppTransport. At Connect() it detects the lb API level
// (PROTOCOL.md §1.12) and refuses a VPP that lacks a message the detected
// level needs; afterwards it picks the best message for each call
// (lb_add_del_vip_v2 / lb_add_del_as_v2 / lb_as_v2_dump when available),
// validates arguments before anything reaches the wire (e.g. a zero or
// non-power-of-two new_flows_table_length), and turns non-zero retvals into
// Status errors naming the message and the VPP error.
//
// Threading: blocking and NOT thread-safe; owned and used by one dedicated
// thread (never the core event loop). The only exception is counters(),
// whose snapshots may be read from any thread (e.g. by the metrics module).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "vpp/lb_api.h"
#include "vpp/transport.h"

namespace maglev {

// API call/error counters, per request message name. Thread-safe.
class VppApiCounters {
 public:
  struct Entry {
    uint64_t calls = 0;   // requests sent (a dump counts once)
    uint64_t errors = 0;  // non-zero retval, transport or protocol failure
  };
  void Record(std::string_view message, bool error);
  std::map<std::string, Entry> Snapshot() const;
  uint64_t total_calls() const { return total_calls_.load(std::memory_order_relaxed); }
  uint64_t total_errors() const { return total_errors_.load(std::memory_order_relaxed); }

 private:
  mutable Mutex mu_;
  std::map<std::string, Entry, std::less<>> by_message_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> total_calls_{0};
  std::atomic<uint64_t> total_errors_{0};
};

class LbClient : public LbApi {
 public:
  explicit LbClient(std::string client_name = "vpp-maglev");
  // Closes politely (sockclnt_delete), which may block up to the timeout.
  ~LbClient() override;

  // Connects to `socket_path` (e.g. /run/vpp/api.sock), handshakes and
  // detects the lb API level. `timeout` bounds every later wait for VPP too.
  // Errors: Unavailable (nothing listening / closed), DeadlineExceeded (no
  // handshake answer), FailedPrecondition (lb plugin absent or a needed
  // message missing; the message names them).
  absl::Status Connect(const std::string& socket_path, std::chrono::milliseconds timeout);
  // Sends sockclnt_delete and closes. Safe when not connected.
  void Close();
  bool connected() const { return transport_.connected(); }
  // See VppTransport::fd() and ServiceIdle().
  int fd() const { return transport_.fd(); }
  absl::Status ServiceIdle() { return transport_.ServiceIdle(); }

  // kNone once the connection is gone (e.g. after a timeout closed it).
  LbApiLevel api_level() const override { return connected() ? level_ : LbApiLevel::kNone; }
  bool has_weights() const { return api_level() == LbApiLevel::kWeights; }

  absl::StatusOr<uint32_t> ControlPing() override;
  absl::StatusOr<VppVersionInfo> ShowVersion() override;
  // Runs a VPP CLI command (e.g. "show lb vips verbose") via cli_inband.
  absl::StatusOr<std::string> CliInband(const std::string& command);
  // ip_route_lookup (table 0, exact): the stats_index of the route of
  // address/prefix_len (keys /net/route/to). NotFound when VPP has no such
  // route, Unimplemented when VPP does not offer the message.
  absl::StatusOr<uint32_t> RouteStatsIndex(const IpAddress& address, uint8_t prefix_len);

  absl::StatusOr<LbConf> ConfGet() override;
  absl::Status SetConf(const LbConf& conf) override;
  absl::Status AddVip(const VipSpec& spec) override;
  absl::Status DelVip(const VipKey& key) override;
  absl::Status AddAs(const LbAddAs& call) override;
  absl::Status DelAs(const LbDelAs& call) override;
  absl::Status SetAsWeight(const LbSetAsWeight& call) override;
  absl::Status FlushVip(const VipKey& key) override;
  absl::StatusOr<std::vector<VipInfo>> DumpVips() override;
  absl::StatusOr<std::vector<AsInfo>> DumpAllAses() override;
  absl::StatusOr<std::vector<AsInfo>> DumpAses(const VipKey& vip) override;
  std::vector<absl::Status> Execute(const std::vector<LbCall>& calls) override;

  const VppApiCounters& counters() const { return counters_; }
  VppTransport& transport() { return transport_; }

 private:
  // An encoded call plus how to read its reply's retval.
  struct Prepared {
    VppRawCall raw;
    absl::StatusOr<int32_t> (*retval)(const std::vector<uint8_t>&) = nullptr;
  };
  absl::StatusOr<Prepared> Prepare(const LbCall& call);
  // Encodes `req`; its reply type is Req::Reply.
  template <typename Req>
  absl::StatusOr<Prepared> PrepareTyped(const Req& req);
  // Prepares a V2 request when `v2`, else a V1 one: selecting VIP `key`
  // (normalized), then filled by `fill(req)` (called with either type).
  template <typename V1, typename V2, typename Fill>
  absl::StatusOr<Prepared> PrepareEither(bool v2, const VipKey& key, Fill fill);
  absl::Status RunOne(const LbCall& call);
  template <typename Det, typename Req>
  absl::StatusOr<std::vector<Det>> CountedDump(const Req& req);
  template <typename Rep, typename Req>
  absl::StatusOr<Rep> CountedCall(const Req& req);
  absl::Status NotConnected() const;

  VppTransport transport_;
  LbApiLevel level_ = LbApiLevel::kNone;
  bool has_vip_v2_ = false;
  bool has_cli_ = false;
  bool has_route_lookup_ = false;
  VppApiCounters counters_;
};

}  // namespace maglev
