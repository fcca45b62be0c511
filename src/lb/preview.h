// SPDX-License-Identifier: Apache-2.0
//
// Preview before acting (issue #10): what an operator action or a candidate
// configuration would do to every affected VIP, computed without changing
// anything. For each VIP it gives the AS weights before and after, the
// new-flow buckets each backend holds before and after, how many buckets
// change AS (and from which backend to which), and the ASes whose sticky
// flows would be flushed.
//
// The "after" side is computed with the lb stage's own pure functions
// (ComputeEffective, BuildDesiredVip, the §5.1 EffectiveWeightRule for the
// flush rule) on a snapshot of the stage's inputs with the change applied;
// the tables are built with the Maglev builder VPP uses (src/maglev), on the
// ASes VPP would hold (weight > 0) in the table mode of the connected lb API,
// so the bucket counts are exactly VPP's `num_buckets` after the change.
//
// What it predicts is the new-flow table. Flows already in VPP's sticky
// table keep their AS until they end or are flushed, whatever the table
// says; `flushed` lists the ASes whose flows would be ended at once.
//
// Pure: no I/O, no clock; thread-agnostic (called on the core loop).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "lb/desired_vip.h"
#include "lb/effective_weights.h"
#include "lb/lb_stage.h"

namespace maglev {

// How VPP builds the table from the ASes, by lb API level.
enum class PreviewTableMode {
  kWeights,    // lb 1.2.0 with weights: `weight` replicas per AS, 0 excluded
  kNoWeights,  // lb 1.2.0 without weights: every present AS at weight 100
  kLegacy,     // lb <= 1.1.0: every present AS once (the older builder)
};
const char* PreviewTableModeName(PreviewTableMode m);  // "weights", "no-weights", "legacy"

// A copy of everything the lb stage computes a frontend from.
struct PreviewInputs {
  std::shared_ptr<const Config> config;
  BackendStateLookup state_of;  // the checker's states now
  WeightOverrides overrides;
  std::map<std::string, double> ramp;
  std::set<std::string> draining;
  // The stage's current views (desired VIP and active pool per frontend).
  std::map<std::string, FrontendView> views;
};
// Snapshot of a stage (copies; the stage is not referenced afterwards).
PreviewInputs SnapshotStage(const LbStage& stage, BackendStateLookup state_of);

struct CandidateChange {
  enum class Kind {
    kDisable,
    kEnable,
    kPause,
    kResume,
    kDrain,
    kSetWeight,
    kConfig,  // load `config` (a validated configuration)
  };
  Kind kind = Kind::kDisable;
  std::string backend;                   // every kind but kConfig
  std::string frontend, pool;            // kSetWeight
  int weight = 0;                        // kSetWeight
  std::shared_ptr<const Config> config;  // kConfig
};
const char* CandidateChangeKindName(CandidateChange::Kind k);  // "disable", ...

struct AsPreview {
  std::string backend;  // "" for an AS that is no configured backend
  IpAddress address;
  std::optional<int> weight_before, weight_after;  // nullopt: not in the VIP
  uint32_t buckets_before = 0, buckets_after = 0;
  bool flushed = false;
};

struct BucketMove {
  std::string from, to;  // backend names; "" = no server (traffic dropped)
  uint32_t buckets = 0;
};

struct VipPreview {
  std::string frontend;
  VipKey key;
  uint32_t table_length = 0;
  uint32_t moved_buckets = 0;        // buckets whose AS changes
  double moved_share = 0;            // moved_buckets / table_length
  std::vector<AsPreview> backends;   // ascending address
  std::vector<BucketMove> moves;     // by (from, to)
  std::vector<std::string> flushed;  // backends (or addresses) flushed, ascending address
  std::string active_pool_before, active_pool_after;
  bool vip_added = false;      // the VIP does not exist yet
  bool vip_removed = false;    // the VIP goes away (all its flows flushed)
  bool vip_recreated = false;  // encap, table length or src-ip-sticky change: all flushed
};

struct PreviewResult {
  // Only the VIPs the change affects (weights, membership, flush), in
  // frontend name order; empty when the change would do nothing.
  std::vector<VipPreview> vips;
  // What the prediction assumes, e.g. that an enabled backend's probes pass.
  std::vector<std::string> assumptions;
};

// The effect of `change` on the state in `in`. Errors are those the action
// itself would return (NotFound, FailedPrecondition, InvalidArgument), so a
// preview that succeeds names an action that would be accepted.
absl::StatusOr<PreviewResult> PreviewChangeEffect(const PreviewInputs& in,
                                                  const CandidateChange& change,
                                                  PreviewTableMode mode);

// One VIP from `before` (nullptr: absent) to `after` (nullptr: removed).
// `flush_now`: addresses whose state transition asks for a flush (the lb
// stage's flush rule), flushed even when their weight already is 0.
VipPreview PreviewVipChange(const DesiredVip* before, const DesiredVip* after,
                            const std::set<IpAddress>& flush_now, PreviewTableMode mode);

// The new-flow table VPP holds for `vip`: per bucket an index into
// vip.ases, or kMaglevNoServer. Empty for an invalid table length.
std::vector<uint32_t> VppNewFlowTable(const DesiredVip& vip, PreviewTableMode mode);

}  // namespace maglev
