#include "health/state_machine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace maglev {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Feeds a sequence of probe outcomes ('+' pass, '-' fail) and returns the
// state after each one as a compact string: u(nknown) U(p) D(own).
std::string RunSeq(int rise, int fall, const std::string& seq, std::string* counters = nullptr) {
  HealthStateMachine sm(rise, fall, 100);
  sm.Start();
  std::string out;
  int64_t t = 1;
  for (char c : seq) {
    sm.Record(c == '+' ? ProbeCode::kL7Ok : ProbeCode::kL7Sts, "", t++);
    out += sm.state() == BackendState::kUp ? 'U' : sm.state() == BackendState::kDown ? 'D' : 'u';
    if (counters) *counters += std::to_string(sm.counter());
  }
  return out;
}

TEST(StateMachine, StartsUnknownWithCounterRiseMinusOne) {
  HealthStateMachine sm(3, 2, 5);
  sm.Start();
  EXPECT_EQ(sm.state(), BackendState::kUnknown);
  EXPECT_EQ(sm.counter(), 2);
  EXPECT_EQ(sm.max_counter(), 4);
  // Starting is not a transition (no unknown -> unknown entry).
  EXPECT_TRUE(sm.history().empty());
}

struct SeqCase {
  int rise, fall;
  std::string seq, states, counters;
};

class Sequences : public ::testing::TestWithParam<SeqCase> {};

TEST_P(Sequences, Table) {
  const SeqCase& c = GetParam();
  std::string counters;
  EXPECT_EQ(RunSeq(c.rise, c.fall, c.seq, &counters), c.states) << c.seq;
  EXPECT_EQ(counters, c.counters) << c.seq;
}

INSTANTIATE_TEST_SUITE_P(
    StateMachine, Sequences,
    ::testing::Values(
        // Expedited resolution from unknown: one pass is fully up...
        SeqCase{2, 3, "+", "U", "4"},
        // ...and any failure is fully down at once, counter 0.
        SeqCase{2, 3, "-", "D", "0"},
        // Fully down needs `rise` passes to come up; reaching rise jumps to the maximum.
        SeqCase{2, 3, "-++", "DDU", "014"},
        // Just up from unknown is fully up: one failure does not take it down.
        SeqCase{2, 3, "+-", "UU", "43"},
        // An up backend always takes `fall` = 3 consecutive failures.
        SeqCase{2, 3, "+---", "UUUD", "4320"}, SeqCase{2, 3, "+++---", "UUUUUD", "444320"},
        // A pass while degraded restores the maximum: failures must be consecutive.
        SeqCase{2, 3, "+--+--+---", "UUUUUUUUUD", "4324324320"},
        // Counter is capped at rise+fall-1 and floored at 0.
        SeqCase{2, 3, "++++++", "UUUUUU", "444444"}, SeqCase{2, 3, "------", "DDDDDD", "000000"},
        // An oscillating backend does not bounce while up...
        SeqCase{2, 3, "+++-+-+-+", "UUUUUUUUU", "444343434"},
        // ...nor while down: a failure while recovering starts the count over.
        SeqCase{2, 3, "-+-+-+", "DDDDDD", "010101"},
        SeqCase{3, 2, "-++-++-+++", "DDDDDDDDDU", "0120120124"},
        // A single failure right after recovery does not take it down again.
        SeqCase{2, 3, "-++-++", "DDUUUU", "014344"},
        // rise=1, fall=1: every probe decides.
        SeqCase{1, 1, "+-+-", "UDUD", "1010"},
        // rise=1: unknown at counter 0; fall=3: three failures once up.
        SeqCase{1, 3, "+-+--+---", "UUUUUUUUD", "323213210"},
        // rise=3: unknown at counter 2, one pass => fully up (3+1-1 = 3).
        SeqCase{3, 1, "+-", "UD", "30"}, SeqCase{3, 1, "-+++", "DDDU", "0123"},
        // A failure from unknown is fully down, whatever rise is.
        SeqCase{4, 2, "-", "D", "0"}, SeqCase{4, 2, "-++++", "DDDDU", "01235"}));

TEST(StateMachine, IntervalSelection) {
  const Duration iv = seconds(2), fast = milliseconds(500), down = seconds(10);
  HealthStateMachine sm(2, 3, 5);
  sm.Start();
  EXPECT_EQ(sm.NextInterval(iv, fast, down), fast);  // unknown
  sm.Record(ProbeCode::kL4Con, "", 1);
  EXPECT_EQ(sm.counter(), 0);
  EXPECT_EQ(sm.NextInterval(iv, fast, down), down);  // fully down
  sm.Record(ProbeCode::kL4Ok, "", 2);
  EXPECT_EQ(sm.NextInterval(iv, fast, down), fast);  // degraded, down
  sm.Record(ProbeCode::kL4Ok, "", 3);
  EXPECT_EQ(sm.state(), BackendState::kUp);
  EXPECT_EQ(sm.counter(), 4);                      // reaching rise jumps to the maximum
  EXPECT_EQ(sm.NextInterval(iv, fast, down), iv);  // fully up
  sm.Record(ProbeCode::kL4Tout, "", 4);
  EXPECT_EQ(sm.NextInterval(iv, fast, down), fast);  // degraded, still up
  sm.Record(ProbeCode::kL4Ok, "", 5);
  EXPECT_EQ(sm.NextInterval(iv, fast, down), iv);  // one pass restores fully up
  sm.Record(ProbeCode::kL4Tout, "", 6);
  sm.Record(ProbeCode::kL4Tout, "", 7);
  sm.Record(ProbeCode::kL4Tout, "", 8);
  EXPECT_EQ(sm.state(), BackendState::kDown);
  EXPECT_EQ(sm.NextInterval(iv, fast, down), down);  // fully down at once
}

TEST(StateMachine, TransitionCarriesCodeAndDetail) {
  HealthStateMachine sm(2, 3, 5);
  sm.Start();
  auto t = sm.Record(ProbeCode::kL7Sts, "HTTP 503", 77);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->from, BackendState::kUnknown);
  EXPECT_EQ(t->to, BackendState::kDown);
  EXPECT_EQ(t->code(), "L7STS");
  EXPECT_EQ(t->detail, "HTTP 503");
  EXPECT_EQ(t->at_unix_ns, 77);
  // No transition when the state does not change.
  EXPECT_FALSE(sm.Record(ProbeCode::kL7Sts, "HTTP 503", 78).has_value());
}

TEST(StateMachine, HistoryIsBoundedNewestFirst) {
  HealthStateMachine sm(1, 1, 3);
  sm.Start();
  for (int i = 1; i <= 10; ++i)
    sm.Record(i % 2 == 1 ? ProbeCode::kL7Ok : ProbeCode::kL7Sts, "d" + std::to_string(i), i);
  ASSERT_EQ(sm.history().size(), 3u);
  EXPECT_EQ(sm.history()[0].detail, "d10");
  EXPECT_EQ(sm.history()[0].code(), "L7STS");
  EXPECT_EQ(sm.history()[1].detail, "d9");
  EXPECT_EQ(sm.history()[1].code(), "L7OK");
  EXPECT_EQ(sm.history()[2].detail, "d8");
  sm.set_history_size(1);
  ASSERT_EQ(sm.history().size(), 1u);
  EXPECT_EQ(sm.history()[0].detail, "d10");
}

TEST(StateMachine, PauseResume) {
  HealthStateMachine sm(2, 3, 10);
  sm.Start();
  sm.Record(ProbeCode::kL7Ok, "", 1);
  auto p = sm.Pause(2);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->from, BackendState::kUp);
  EXPECT_EQ(sm.state(), BackendState::kPaused);
  EXPECT_FALSE(sm.probing());
  // Probe results while paused are ignored.
  EXPECT_FALSE(sm.Record(ProbeCode::kL7Sts, "", 3).has_value());
  EXPECT_EQ(sm.state(), BackendState::kPaused);
  // Pausing again is a no-op.
  auto p2 = sm.Pause(4);
  ASSERT_TRUE(p2.ok());
  EXPECT_FALSE(p2->has_value());
  auto r = sm.Resume(5);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(sm.state(), BackendState::kUnknown);
  EXPECT_EQ(sm.counter(), 1);          // rise - 1: expedited resolution again
  EXPECT_EQ(sm.history().size(), 3u);  // history kept: up, paused, unknown
  // Resume of a running backend is a no-op.
  auto r2 = sm.Resume(6);
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->has_value());
}

TEST(StateMachine, DisableEnableAndPreconditions) {
  HealthStateMachine sm(2, 3, 10);
  sm.Start();
  auto d = sm.Disable(1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(sm.state(), BackendState::kDisabled);
  EXPECT_FALSE(sm.enabled());
  EXPECT_FALSE(sm.Disable(2).has_value());  // no-op, no transition
  auto p = sm.Pause(3);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  auto r = sm.Resume(4);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sm.state(), BackendState::kDisabled);
  auto e = sm.Enable(5);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->from, BackendState::kDisabled);
  EXPECT_EQ(e->to, BackendState::kUnknown);
  EXPECT_EQ(e->code(), "enabled");
  EXPECT_EQ(sm.counter(), 1);
  EXPECT_FALSE(sm.Enable(6).has_value());  // enable of an enabled backend: no-op
  // Disable from paused is allowed.
  ASSERT_TRUE(sm.Pause(7).ok());
  EXPECT_TRUE(sm.Disable(8).has_value());
}

TEST(StateMachine, RestartAndRemove) {
  HealthStateMachine sm(2, 3, 10);
  sm.Start();
  sm.Record(ProbeCode::kL7Ok, "", 1);
  Transition t = sm.Restart(4, 1, 2, "changed");
  EXPECT_EQ(t.from, BackendState::kUp);
  EXPECT_EQ(sm.state(), BackendState::kUnknown);
  EXPECT_EQ(sm.rise(), 4);
  EXPECT_EQ(sm.counter(), 3);
  EXPECT_EQ(sm.max_counter(), 4);
  Transition rm = sm.Remove(3);
  EXPECT_EQ(rm.to, BackendState::kRemoved);
  EXPECT_FALSE(sm.probing());
  EXPECT_FALSE(sm.Record(ProbeCode::kL7Ok, "", 4).has_value());
}

}  // namespace
}  // namespace maglev

namespace maglev {
namespace {

TEST(Outcome, ProbeCodesHaveOneNameTable) {
  const char* names[] = {"L3OK",   "L3TOUT", "L3ERR", "L4OK",   "L4TOUT", "L4CON", "L6OK",
                         "L6TOUT", "L6RSP",  "L7OK",  "L7TOUT", "L7RSP",  "L7STS"};
  ASSERT_EQ(std::size(names), static_cast<size_t>(kProbeCodeCount));
  for (int i = 0; i < kProbeCodeCount; ++i) {
    ProbeCode c = static_cast<ProbeCode>(i);
    EXPECT_EQ(ProbeCodeName(c), names[i]);
    EXPECT_EQ(ParseProbeCode(names[i]), c);
    EXPECT_EQ(ProbeCodePasses(c), std::string_view(names[i]).ends_with("OK")) << names[i];
  }
  EXPECT_FALSE(ParseProbeCode("L9OK").has_value());
  EXPECT_EQ(CauseName(ProbeCode::kL6Rsp), "L6RSP");
  EXPECT_EQ(CauseName(Action::kDisabled), "disabled");
  EXPECT_EQ(CauseName(Action::kStatic), "static");
}

TEST(StateMachine, StaticBackendIsFullyUpAtOnce) {
  HealthStateMachine sm(1, 1, 5);
  sm.Start();
  auto t = sm.MarkStatic(7);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, BackendState::kUp);
  EXPECT_EQ(t->code(), "static");
  EXPECT_EQ(sm.counter(), sm.max_counter());
  EXPECT_FALSE(sm.MarkStatic(8).has_value());  // already up
}

}  // namespace
}  // namespace maglev
