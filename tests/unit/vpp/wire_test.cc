#include "vpp/wire.h"

#include <gtest/gtest.h>

#include <vector>

namespace maglev {
namespace {

TEST(WireWriterTest, WritesBigEndianAndLittleEndianFields) {
  std::vector<uint8_t> out;
  WireWriter w(&out);
  w.U8(0x01);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.I32(-2);
  w.U64(0x08090a0b0c0d0e0fULL);
  w.U16Le(0x0c0b);
  w.U32Le(0x01);
  w.Bool(true);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xff, 0xff,
                                       0xff, 0xfe, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
                                       0x0f, 0x0b, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x01}));
  w.PatchU32(1, 0xa0b0c0d0);
  EXPECT_EQ(out[1], 0xa0);
  EXPECT_EQ(out[4], 0xd0);
}

TEST(WireWriterTest, StringsArePaddedTruncatedAndLengthPrefixed) {
  std::vector<uint8_t> out;
  WireWriter w(&out);
  w.FixedString("abc", 5);
  w.FixedString("abcdefgh", 4);  // keeps room for the NUL
  w.VarString("xy");
  EXPECT_EQ(out,
            (std::vector<uint8_t>{'a', 'b', 'c', 0, 0, 'a', 'b', 'c', 0, 0, 0, 0, 2, 'x', 'y'}));
}

TEST(WireReaderTest, ReadsWhatTheWriterWrote) {
  std::vector<uint8_t> buf;
  WireWriter w(&buf);
  w.U8(7);
  w.U16(0xbeef);
  w.U32(0xdeadbeef);
  w.I32(-81);
  w.U64(1ULL << 40);
  w.U16Le(3307);
  w.U32Le(1);
  w.FixedString("vpe", 32);
  w.VarString("hello");
  WireReader r(buf);
  EXPECT_EQ(r.U8(), 7);
  EXPECT_EQ(r.U16(), 0xbeef);
  EXPECT_EQ(r.U32(), 0xdeadbeefu);
  EXPECT_EQ(r.I32(), -81);
  EXPECT_EQ(r.U64(), 1ULL << 40);
  EXPECT_EQ(r.U16Le(), 3307);
  EXPECT_EQ(r.U32Le(), 1u);
  EXPECT_EQ(r.FixedString(32), "vpe");
  EXPECT_EQ(r.VarString(), "hello");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.status("x").ok());
}

TEST(WireReaderTest, ReadingPastTheEndIsAStickyError) {
  std::vector<uint8_t> buf = {0x01, 0x02, 0x03};
  WireReader r(buf);
  EXPECT_EQ(r.U16(), 0x0102);
  EXPECT_EQ(r.U32(), 0u);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 2u) << "a failed read consumes nothing";
  EXPECT_EQ(r.U8(), 0) << "sticky: even a read that would fit fails now";
  absl::Status s = r.status("thing");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("malformed thing"), absl::string_view::npos) << s;
}

TEST(WireReaderTest, BytesOnErrorAreZeroFilled) {
  std::vector<uint8_t> buf = {1, 2};
  WireReader r(buf);
  uint8_t out[4] = {9, 9, 9, 9};
  r.Bytes(out, sizeof out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(out[0] | out[1] | out[2] | out[3], 0);
}

TEST(WireReaderTest, VarStringLengthIsCheckedBeforeUse) {
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff, 'a'};
  WireReader r1(huge);
  EXPECT_EQ(r1.VarString(), "");
  EXPECT_FALSE(r1.ok());

  std::vector<uint8_t> ok = {0, 0, 0, 3, 'a', 'b', 'c'};
  WireReader r2(ok);
  EXPECT_EQ(r2.VarString(2), "") << "limit enforced";
  EXPECT_FALSE(r2.ok());
  WireReader r3(ok);
  EXPECT_EQ(r3.VarString(3), "abc");
  EXPECT_TRUE(r3.ok());
}

TEST(WireReaderTest, FixedStringStopsAtFirstNul) {
  std::vector<uint8_t> buf = {'a', 'b', 0, 'j', 'u', 'n', 'k', 0, 'n', 'e', 'x', 't'};
  WireReader r(buf);
  EXPECT_EQ(r.FixedString(8), "ab");
  EXPECT_EQ(r.FixedString(4), "next");  // no NUL: whole field
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.FixedString(1), "");
  EXPECT_FALSE(r.ok());
}

TEST(WireReaderTest, FailKeepsTheFirstReason) {
  std::vector<uint8_t> buf;
  WireReader r(buf);
  r.Fail("first");
  r.Fail("second");
  EXPECT_NE(r.status("m").message().find("first"), absl::string_view::npos);
  EXPECT_EQ(r.status("m").message().find("second"), absl::string_view::npos);
}

}  // namespace
}  // namespace maglev
