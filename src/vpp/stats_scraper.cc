// SPDX-License-Identifier: Apache-2.0
#include "vpp/stats_scraper.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "vpp/lb_cli.h"

namespace maglev {
namespace {

const std::vector<std::string>& Names() {
  static const std::vector<std::string> names = {"packet from existing sessions",
                                                 "first session packet",
                                                 "untracked packet",
                                                 "no server configured",
                                                 "/net/route/to",
                                                 "/sys/boottime",
                                                 "/sys/heartbeat"};
  return names;
}

}  // namespace

StatsVipCounters StatsSample::ForVip(const VipKey& key) const {
  const VipKey want = key.Normalized();
  StatsVipCounters out;
  for (const StatsVipIndex& e : index) {
    if (e.removed || !(e.key == want)) continue;
    out.in_vpp = true;
    out.pool_index = e.pool_index;
    out.route_stats_index = e.route_stats_index;
    out.lb = Vip(e.pool_index);
    if (e.route_stats_index) out.route = Route(*e.route_stats_index);
    break;
  }
  return out;
}

std::vector<StatsVipIndex> StatsIndexFromCli(std::string_view text) {
  std::vector<StatsVipIndex> out;
  for (const LbCliVip& v : ParseShowLbVipsVerbose(text)) {
    if (v.index == 0) continue;  // the hidden placeholder
    StatsVipIndex e;
    e.key.address = v.prefix;
    e.key.prefix_len = v.plen;
    e.key.protocol = v.protocol;
    e.key.port = v.port;
    e.key = e.key.Normalized();
    e.pool_index = v.index;
    e.removed = v.removed;
    out.push_back(std::move(e));
  }
  return out;
}

StatsScraper::StatsScraper(Options options)
    : options_(std::move(options)),
      latest_(absl::UnavailableError(options_.socket_path.empty()
                                         ? "VPP stats segment is disabled (--vpp-stats-addr \"\")"
                                         : "VPP stats segment not read yet")) {}

StatsScraper::~StatsScraper() { Stop(); }

void StatsScraper::Start() {
  if (options_.socket_path.empty() || thread_.joinable()) return;
  {
    MutexLock lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void StatsScraper::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<StatsSample> StatsScraper::Latest() const {
  MutexLock lock(mu_);
  return latest_;
}

std::optional<StatsSample> StatsScraper::Previous() const {
  MutexLock lock(mu_);
  return previous_;
}

std::pair<absl::StatusOr<StatsSample>, std::optional<StatsSample>> StatsScraper::LatestTwo() const {
  MutexLock lock(mu_);
  return {latest_, previous_};
}

void StatsScraper::Run() {
  for (;;) {
    {
      MutexLock lock(mu_);
      if (stop_) return;
    }
    ScrapeOnce();
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + options_.interval;
    while (!stop_ && cv_.WaitUntil(mu_, deadline)) {
    }
  }
}

void StatsScraper::ScrapeOnce() {
  if (options_.socket_path.empty()) return;
  auto fail = [&](const absl::Status& st) {
    segment_.reset();
    // Said when it starts and whenever the reason changes.
    if (std::string why(st.message()); why != last_error_) {
      LogWarn("vpp-stats-unavailable", {{"socket", options_.socket_path}, {"error", why}});
      last_error_ = why;
    }
    MutexLock lock(mu_);
    previous_.reset();
    latest_ = absl::UnavailableError(
        absl::StrCat("VPP stats segment at ", options_.socket_path, ": ", st.message()));
  };
  if (!segment_) {
    absl::StatusOr<std::unique_ptr<StatsSegment>> s =
        StatsSegment::Connect(options_.socket_path, options_.segment);
    if (!s.ok()) return fail(s.status());
    segment_ = std::move(*s);
    last_heartbeat_ = 0;
    heartbeat_moved_ = std::chrono::steady_clock::now();
  }
  // The index first: a VIP created between the two is then missing from
  // this sample rather than keyed by a stale pool index.
  StatsSample sample;
  if (options_.resolve_index) {
    absl::StatusOr<std::vector<StatsVipIndex>> idx = options_.resolve_index();
    if (idx.ok()) {
      sample.index = std::move(*idx);
    } else {
      sample.index_error = std::string(idx.status().message());
    }
  }
  absl::StatusOr<StatsSnapshot> snap = segment_->Read(Names());
  if (!snap.ok()) return fail(snap.status());
  sample.time = std::chrono::system_clock::now();
  sample.epoch = snap->epoch;
  for (size_t c = 0; c < 4; ++c) {
    const StatsEntry* e = snap->Find(Names()[c]);
    if (e == nullptr) continue;  // before the first VIP
    size_t n = 0;
    for (const auto& t : e->simple) n = std::max(n, t.size());
    if (sample.vip.size() < n) sample.vip.resize(n);
    for (size_t i = 0; i < n; ++i) sample.vip[i][c] = e->SimpleSum(i);
  }
  if (const StatsEntry* r = snap->Find("/net/route/to")) {
    size_t n = 0;
    for (const auto& t : r->combined) n = std::max(n, t.size());
    sample.route_to.resize(n);
    for (size_t i = 0; i < n; ++i) sample.route_to[i] = r->CombinedSum(i);
  }
  if (const StatsEntry* b = snap->Find("/sys/boottime")) sample.boottime_s = b->scalar;
  if (const StatsEntry* h = snap->Find("/sys/heartbeat")) sample.heartbeat = h->scalar;
  const auto now = std::chrono::steady_clock::now();
  if (sample.heartbeat != last_heartbeat_) {
    last_heartbeat_ = sample.heartbeat;
    heartbeat_moved_ = now;
  } else if (now - heartbeat_moved_ > options_.heartbeat_stall) {
    // A VPP that exited leaves its segment mapped but frozen.
    return fail(absl::UnavailableError(absl::StrCat(
        "/sys/heartbeat has not moved for ",
        std::chrono::duration_cast<std::chrono::seconds>(now - heartbeat_moved_).count(), " s")));
  }
  if (!last_error_.empty() || !logged_ok_) {
    LogInfo("vpp-stats-read", {{"socket", options_.socket_path}, {"epoch", sample.epoch}});
    last_error_.clear();
    logged_ok_ = true;
  }
  if (sample.index_error != last_index_error_) {
    if (!sample.index_error.empty()) {
      LogWarn("vpp-stats-index-failed", {{"error", sample.index_error}});
    }
    last_index_error_ = sample.index_error;
  }
  MutexLock lock(mu_);
  if (latest_.ok()) {
    previous_ = std::move(*latest_);
  } else {
    previous_.reset();
  }
  latest_ = std::move(sample);
}

}  // namespace maglev
