// ParseDuration on absl::ParseDuration keeps the syntax our configs have
// always had: what absl accepts beyond it (a sign, "inf", values past int64
// nanoseconds) stays rejected, and what absl alone would refuse (the micro
// sign, long fractions) stays accepted.
#include "common/duration.h"

#include <gtest/gtest.h>

namespace maglev {
namespace {

using namespace std::chrono_literals;

TEST(DurationAbsl, RejectsWhatAbslAloneWouldAccept) {
  for (const char* bad : {"+1s", "-0", "+0", "inf", "-inf", "+inf", "-1h30m", "2562048h",
                          "9223372036854775808ns", "1h30m 1s", "1 s"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationAbsl, AcceptsWhatWeAlwaysAccepted) {
  EXPECT_EQ(ParseDuration("1h30m"), Duration(90min));
  EXPECT_EQ(ParseDuration("1.s"), Duration(1s));
  EXPECT_EQ(ParseDuration(".5s"), Duration(500ms));
  EXPECT_EQ(ParseDuration("1.5h"), Duration(90min));
  EXPECT_EQ(ParseDuration("3\xC2\xB5s"), Duration(3us));  // U+00B5 micro sign
  EXPECT_EQ(ParseDuration("3\xCE\xBCs"), Duration(3us));  // U+03BC mu
  EXPECT_EQ(ParseDuration("1m\xC2\xB5s"), std::nullopt);  // a unit needs its number
  EXPECT_EQ(ParseDuration("2562047h"), Duration(2562047h));
  EXPECT_EQ(ParseDuration("9223372036854775807ns"), Duration(9223372036854775807));
  // Fraction digits beyond a nanosecond's worth are read (and truncated).
  EXPECT_EQ(ParseDuration(".999999999999999999h"), Duration(3599999999999ns));
  EXPECT_EQ(ParseDuration("1.0000000001s"), Duration(1s));
  EXPECT_EQ(ParseDuration("0.0000000015s"), Duration(1ns));
}

}  // namespace
}  // namespace maglev
