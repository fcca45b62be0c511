// The simulator's own byte-level helpers for VPP's binary API: big-endian
// loads/stores, fixed NUL-padded strings and the 16-byte socket frame header
// (PROTOCOL.md §1.2, §2). Deliberately independent of src/vpp/ so that the
// client and the simulator check each other. Pure; thread-agnostic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace maglev::vppsim {

inline constexpr size_t kFrameHeaderSize = 16;

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

// Reads a fixed-size string field: the bytes up to the first NUL (or all
// `size` bytes when there is none).
std::string LoadFixedString(const uint8_t* p, size_t size);

// Appends fields to a message payload.
class WireWriter {
 public:
  WireWriter& U8(uint8_t v) {
    buf_.push_back(v);
    return *this;
  }
  WireWriter& Be16(uint16_t v);
  WireWriter& Be32(uint32_t v);
  WireWriter& Le16(uint16_t v);  // for VPP's byte-swapped fields (quirks)
  WireWriter& Le32(uint32_t v);
  WireWriter& Bytes(const uint8_t* p, size_t n);
  // `size` bytes: the text (truncated to size-1) then NUL padding.
  WireWriter& FixedString(std::string_view s, size_t size);
  // u32 BE length + bytes (VPP's `string x[]`).
  WireWriter& VarString(std::string_view s);
  WireWriter& Zeros(size_t n);

  size_t size() const { return buf_.size(); }
  std::vector<uint8_t> Take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

// Prepends the 16-byte socket header (q = 0, data_len BE, gc_mark = 0).
std::vector<uint8_t> FrameMessage(const std::vector<uint8_t>& payload);

}  // namespace maglev::vppsim
