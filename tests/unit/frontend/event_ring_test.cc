// SPDX-License-Identifier: Apache-2.0
#include "event_ring.h"

#include <gtest/gtest.h>

namespace maglev::frontend {
namespace {

using std::chrono::seconds;
using Clock = EventRing::Clock;

std::vector<std::string> Frames(const EventRing::Batch& b) {
  std::vector<std::string> out;
  for (const auto& f : b.frames) out.push_back(*f);
  return out;
}

TEST(EventRing, FramesCarryEpochSeqIdsAndTheEventName) {
  EventRing ring(77, 10, seconds(30));
  auto t = Clock::time_point{} + seconds(100);
  EXPECT_EQ(ring.Append("backend", R"({"a":1})", t), 1u);
  EXPECT_EQ(ring.Append("log", "{}", t), 2u);
  EXPECT_EQ(ring.IdOf(2), "77-2");
  EXPECT_EQ(Frames(ring.Collect(0, 1 << 20, t)),
            (std::vector<std::string>{"id: 77-1\nevent: backend\ndata: {\"a\":1}\n\n",
                                      "id: 77-2\nevent: log\ndata: {}\n\n"}));
}

TEST(EventRing, ResumesRightAfterTheLastEventSeen) {
  EventRing ring(5, 100, seconds(30));
  auto t = Clock::time_point{} + seconds(100);
  for (int i = 0; i < 10; ++i) ring.Append("e", std::to_string(i), t);
  auto after = ring.ResumeAfter("5-7", t);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, 7u);
  auto b = ring.Collect(*after, 1 << 20, t);
  ASSERT_EQ(b.frames.size(), 3u);
  EXPECT_EQ(b.last_seq, 10u);
  EXPECT_FALSE(b.gap);
  // Up to date: nothing to send, no gap.
  EXPECT_EQ(*ring.ResumeAfter("5-10", t), 10u);
  EXPECT_TRUE(ring.Collect(10, 1 << 20, t).frames.empty());
}

TEST(EventRing, TellsToResyncForOtherEpochsFutureIdsAndGarbage) {
  EventRing ring(5, 100, seconds(30));
  auto t = Clock::time_point{} + seconds(100);
  ring.Append("e", "{}", t);
  EXPECT_FALSE(ring.ResumeAfter("4-1", t));  // another process
  EXPECT_FALSE(ring.ResumeAfter("5-2", t));  // from the future
  EXPECT_FALSE(ring.ResumeAfter("5-", t));
  EXPECT_FALSE(ring.ResumeAfter("-1", t));
  EXPECT_FALSE(ring.ResumeAfter("5-1x", t));
  EXPECT_FALSE(ring.ResumeAfter("garbage", t));
  EXPECT_FALSE(ring.ResumeAfter("", t));
  EXPECT_FALSE(ring.ResumeAfter("99999999999999999999999-1", t));
  EXPECT_TRUE(ring.ResumeAfter("5-0", t));  // everything since the start is held
}

TEST(EventRing, KeepsAtMostMaxEventsAndSaysWhenAResumeIsTooOld) {
  EventRing ring(1, 2000, seconds(30));
  auto t = Clock::time_point{} + seconds(100);
  for (int i = 0; i < 2500; ++i) ring.Append("e", "{}", t);
  EXPECT_EQ(ring.size(), 2000u);
  // 501..2500 are held: resuming after 500 works, after 499 does not.
  EXPECT_TRUE(ring.ResumeAfter("1-500", t));
  EXPECT_FALSE(ring.ResumeAfter("1-499", t));
  auto b = ring.Collect(499, 1 << 30, t);
  EXPECT_TRUE(b.gap);
  EXPECT_TRUE(b.frames.empty());
  auto ok = ring.Collect(500, 1 << 30, t);
  EXPECT_FALSE(ok.gap);
  EXPECT_EQ(ok.frames.size(), 2000u);
}

TEST(EventRing, ForgetsEventsOlderThanMaxAge) {
  EventRing ring(1, 2000, seconds(30));
  auto t0 = Clock::time_point{} + seconds(100);
  ring.Append("e", "old", t0);
  ring.Append("e", "new", t0 + seconds(20));
  EXPECT_TRUE(ring.ResumeAfter("1-0", t0 + seconds(25)));
  // At t0+31 the first is gone: resuming before it is a resync...
  EXPECT_FALSE(ring.ResumeAfter("1-0", t0 + seconds(31)));
  EXPECT_TRUE(ring.ResumeAfter("1-1", t0 + seconds(31)));
  EXPECT_EQ(ring.size(), 1u);
  // ...and once everything expired, the newest id still resumes cleanly.
  EXPECT_TRUE(ring.ResumeAfter("1-2", t0 + seconds(100)));
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_TRUE(ring.Collect(2, 1024, t0 + seconds(100)).frames.empty());
  EXPECT_TRUE(ring.Collect(1, 1024, t0 + seconds(100)).gap);
}

TEST(EventRing, BatchesAreBoundedInBytesButNeverEmpty) {
  EventRing ring(1, 100, seconds(30));
  auto t = Clock::time_point{} + seconds(100);
  std::string big(1000, 'x');
  for (int i = 0; i < 10; ++i) ring.Append("e", big, t);
  auto b = ring.Collect(0, 2500, t);
  EXPECT_EQ(b.frames.size(), 2u);
  EXPECT_EQ(b.last_seq, 2u);
  auto one = ring.Collect(0, 10, t);
  EXPECT_EQ(one.frames.size(), 1u);
}

}  // namespace
}  // namespace maglev::frontend
