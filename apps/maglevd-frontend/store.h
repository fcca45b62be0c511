// SPDX-License-Identifier: Apache-2.0
// The dashboard's picture of every maglevd it watches, and the one place
// where that picture changes.
//
// The links (one per maglevd, link.h) feed it with what the gRPC API returns
// and with the WatchEvents stream; the HTTP side reads JSON snapshots of it.
// Every change that a browser should see is published into the event ring
// (event_ring.h) under the same lock that applies it, so a snapshot and the
// id it reports (`event_id`) always agree: the events after that id are
// exactly the changes the snapshot does not contain yet.
//
// Entities are kept as protos plus their JSON, built once per change; a
// snapshot concatenates ready strings. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "event_ring.h"
#include "proto/maglev.grpc.pb.h"

namespace maglev::frontend {

// What a link should fetch again after an event.
struct Dirty {
  std::set<std::string> frontends;
  std::set<std::string> backends;
  bool vpp_info = false;
  bool lb_state = false;
  bool full = false;
  bool empty() const {
    return frontends.empty() && backends.empty() && !vpp_info && !lb_state && !full;
  }
  void Merge(const Dirty& o);
};

// The programmed table of one VIP as VPP reports it (GetVPPLBState), reduced
// to what decides how a flow hashes: encapsulation, table length and the
// ASes with their weights and bucket counts.
struct VipView {
  std::string encap;
  uint32_t flow_table_length = 0;
  struct As {
    std::string address;
    uint32_t weight = 0;
    uint32_t buckets = 0;
    uint32_t flags = 0;
  };
  std::vector<As> ases;  // sorted by address
  std::string fingerprint;
};

// The key that ties a frontend to its VIP: "prefix|protocol|port".
std::string VipKey(const std::string& prefix, uint32_t protocol, uint32_t port);
std::string FrontendVipKey(const maglev::FrontendInfo& fe);
// Canonical form of the programmed table and its 64-bit FNV-1a hash (hex):
// equal on two routers exactly when a flow hashes to the same AS on both.
VipView MakeVipView(const maglev::VPPLBVIP& vip);

class Store {
 public:
  // `notify` runs after every publish (under the lock: it must not block).
  Store(EventRing& ring, std::function<void()> notify);

  void AddMaglevd(const std::string& name, const std::string& address);
  std::vector<std::string> MaglevdNames() const;

  // ---- link side
  void SetConnected(const std::string& m, bool connected, const std::string& error);
  void SetVersion(const std::string& m, const maglev::VersionInfo& v);
  void MarkRefreshed(const std::string& m);
  void PutFrontend(const std::string& m, const maglev::FrontendInfo& fe);
  void RemoveFrontend(const std::string& m, const std::string& name);
  void RetainFrontends(const std::string& m, const std::vector<std::string>& names);
  void PutBackend(const std::string& m, const maglev::BackendInfo& be);
  void RemoveBackend(const std::string& m, const std::string& name);
  void RetainBackends(const std::string& m, const std::vector<std::string>& names);
  void PutHealthCheck(const std::string& m, const maglev::HealthCheckInfo& hc);
  void RetainHealthChecks(const std::string& m, const std::vector<std::string>& names);
  // info == nullptr: the dataplane is disabled or unreachable (error says why).
  void PutVppInfo(const std::string& m, const maglev::VPPInfo* info, const std::string& error);
  // Returns the frontends whose VIP changed (their dataplane status is worth
  // fetching again).
  std::set<std::string> PutLbState(const std::string& m, const maglev::VPPLBState* state);
  // Applies one streamed event; says what to fetch to confirm it.
  Dirty OnEvent(const std::string& m, const maglev::Event& ev);

  // ---- HTTP side
  std::string StateJson() const;
  std::optional<std::string> MaglevdStateJson(const std::string& m) const;
  std::string MaglevdsJson() const;
  std::string VersionJson() const;
  bool HasMaglevd(const std::string& m) const;

  // Wall clock, injectable for tests.
  void SetClockForTest(std::function<int64_t()> now_ns) { now_ns_ = std::move(now_ns); }

 private:
  struct Live {  // from probe-start / probe-done debug records
    bool in_flight = false;
    int64_t started_ns = 0;
    bool has_result = false;
    bool ok = false;
    std::string code, detail, elapsed;
    int64_t at_ns = 0;
    int streak = 0;  // > 0: passes in a row, < 0: failures in a row
  };
  struct LastSync {
    int64_t at_ns = 0;
    std::string kind;
    std::string calls, failed;
  };
  struct M {
    std::string name, address;
    bool connected = false;
    std::string error = "not connected yet";
    int64_t since_ns = 0;
    int64_t last_refresh_ns = 0;
    maglev::VersionInfo version;
    std::map<std::string, maglev::FrontendInfo> frontends;
    std::map<std::string, std::string> frontend_json;
    std::map<std::string, maglev::BackendInfo> backends;  // transitions merged
    std::map<std::string, std::string> backend_json;
    std::map<std::string, std::string> healthcheck_json;
    std::map<std::string, Live> live;
    bool vpp_ok = false;
    std::string vpp_error = "not read yet";
    maglev::VPPInfo vpp;
    bool lb_ok = false;
    maglev::VPPLBConf lb_conf;
    std::map<std::string, VipView> vips;
    LastSync last_sync;
    std::string vpp_json;
    std::string status_json;
  };

  M* Find(const std::string& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const M* Find(const std::string& m) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(std::string_view type, const std::string& data) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebuildStatus(M& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebuildVpp(M& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebuildFrontend(M& m, const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebuildBackend(M& m, const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string MaglevdJsonLocked(const M& m) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnLog(M& m, const maglev::LogEvent& log, Dirty* dirty) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnBackendEvent(M& m, const maglev::BackendEvent& ev, Dirty* dirty)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MergeTransitions(maglev::BackendInfo* into, const maglev::BackendInfo& from) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventRing& ring_;
  std::function<void()> notify_;
  std::function<int64_t()> now_ns_;
  mutable Mutex mu_;
  std::map<std::string, M> maglevds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // --server order
};

}  // namespace maglev::frontend
