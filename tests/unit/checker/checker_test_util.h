// SPDX-License-Identifier: Apache-2.0
//
// Shared by the checker and pipeline tests: a scripted fake prober on a
// simulated clock and the base configuration they run.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/dispatcher.h"
#include "config/loader.h"
#include "prober/prober.h"

namespace maglev::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers every probe after `latency` with the scripted outcome for the
// address (pass by default). Records every probe start.
class FakeRunner : public ProbeRunner {
 public:
  explicit FakeRunner(SimDispatcher& d) : d_(d) {}
  void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) override {
    std::string addr = spec.address.ToString();
    starts_.push_back({addr, d_.Now()});
    ++count_[addr];
    if (hold_.count(addr)) {
      held_.push_back(std::move(done));
      return;
    }
    bool ok = !failing_.count(addr);
    ProbeResult r{ok ? ProbeCode::kL7Ok : ProbeCode::kL7Sts, ok ? "HTTP 200" : "HTTP 503",
                  latency_};
    // The result arrives after `latency_`, from a timer the runner owns (so a
    // delivery still pending at the end of a test is simply cancelled).
    timers_.push_back(d_.CreateTimer([done, r] { done(r); }));
    timers_.back()->Enable(latency_);
  }
  void Fail(const std::string& a) { failing_.insert(a); }
  void Heal(const std::string& a) { failing_.erase(a); }
  void Hold(const std::string& a) { hold_.insert(a); }
  int count(const std::string& a) const {
    auto it = count_.find(a);
    return it == count_.end() ? 0 : it->second;
  }
  std::vector<std::pair<std::string, MonoTime>> starts_;
  std::vector<std::function<void(ProbeResult)>> held_;
  std::vector<std::unique_ptr<Timer>> timers_;
  Duration latency_ = milliseconds(10);

 private:
  SimDispatcher& d_;
  std::set<std::string> failing_, hold_;
  std::map<std::string, int> count_;
};

inline const char* kBase = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    hc:
      type: http
      port: 80
      interval: 2s
      fast-interval: 500ms
      down-interval: 10s
      timeout: 1s
      rise: 2
      fall: 3
  backends:
    a: { address: 127.0.0.1, healthcheck: hc }
    b: { address: 127.0.0.2, healthcheck: hc }
    s: { address: 127.0.0.3 }
    unused: { address: 127.0.0.4, healthcheck: hc }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: { a: {}, b: { weight: 50 } }
        - name: fallback
          backends: { s: {} }
    api:
      address: 192.0.2.81
      port: 443
      pools:
        - name: main
          backends: { a: {} }
)";

inline std::shared_ptr<const Config> Parse(const std::string& yaml) {
  ConfigResult r = ParseConfig(yaml);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.config;
}

inline std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

}  // namespace maglev::testing
