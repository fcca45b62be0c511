#include "vppsim/wire.h"

#include <algorithm>

namespace maglev::vppsim {

std::string LoadFixedString(const uint8_t* p, size_t size) {
  const uint8_t* end = std::find(p, p + size, 0);
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(end - p));
}

WireWriter& WireWriter::Be16(uint16_t v) {
  buf_.push_back(static_cast<uint8_t>(v >> 8));
  buf_.push_back(static_cast<uint8_t>(v));
  return *this;
}

WireWriter& WireWriter::Be32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) buf_.push_back(static_cast<uint8_t>(v >> shift));
  return *this;
}

WireWriter& WireWriter::Le16(uint16_t v) {
  buf_.push_back(static_cast<uint8_t>(v));
  buf_.push_back(static_cast<uint8_t>(v >> 8));
  return *this;
}

WireWriter& WireWriter::Le32(uint32_t v) {
  for (int shift = 0; shift <= 24; shift += 8) buf_.push_back(static_cast<uint8_t>(v >> shift));
  return *this;
}

WireWriter& WireWriter::Bytes(const uint8_t* p, size_t n) {
  buf_.insert(buf_.end(), p, p + n);
  return *this;
}

WireWriter& WireWriter::FixedString(std::string_view s, size_t size) {
  if (size == 0) return *this;
  size_t n = std::min(s.size(), size - 1);
  buf_.insert(buf_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  buf_.insert(buf_.end(), size - n, 0);
  return *this;
}

WireWriter& WireWriter::VarString(std::string_view s) {
  Be32(static_cast<uint32_t>(s.size()));
  buf_.insert(buf_.end(), s.begin(), s.end());
  return *this;
}

WireWriter& WireWriter::Zeros(size_t n) {
  buf_.insert(buf_.end(), n, 0);
  return *this;
}

std::vector<uint8_t> FrameMessage(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame;
  frame.reserve(kFrameHeaderSize + payload.size());
  frame.insert(frame.end(), 8, 0);
  uint32_t len = static_cast<uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<uint8_t>(len >> shift));
  frame.insert(frame.end(), 4, 0);
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

}  // namespace maglev::vppsim
