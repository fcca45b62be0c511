#include "vpp/wire.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace maglev {

void WireWriter::U16(uint16_t v) {
  out_->push_back(static_cast<uint8_t>(v >> 8));
  out_->push_back(static_cast<uint8_t>(v));
}

void WireWriter::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out_->push_back(static_cast<uint8_t>(v >> shift));
}

void WireWriter::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out_->push_back(static_cast<uint8_t>(v >> shift));
}

void WireWriter::U16Le(uint16_t v) {
  out_->push_back(static_cast<uint8_t>(v));
  out_->push_back(static_cast<uint8_t>(v >> 8));
}

void WireWriter::U32Le(uint32_t v) {
  for (int shift = 0; shift <= 24; shift += 8) out_->push_back(static_cast<uint8_t>(v >> shift));
}

void WireWriter::Bytes(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  out_->insert(out_->end(), p, p + n);
}

void WireWriter::FixedString(std::string_view s, size_t n) {
  if (n == 0) return;
  // VPP expects the terminating NUL inside the field, so keep one byte for it.
  size_t len = std::min(s.size(), n - 1);
  Bytes(s.data(), len);
  Zeros(n - len);
}

void WireWriter::VarString(std::string_view s) {
  U32(static_cast<uint32_t>(s.size()));
  Bytes(s.data(), s.size());
}

void WireWriter::PatchU32(size_t offset, uint32_t v) {
  uint8_t* p = out_->data() + offset;
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

bool WireReader::Take(size_t n) {
  if (!ok_) return false;
  if (size_ - pos_ < n) {
    Fail(absl::StrCat("need ", n, " bytes at offset ", pos_, ", only ", size_ - pos_, " left"));
    return false;
  }
  pos_ += n;
  return true;
}

uint8_t WireReader::U8() {
  if (!Take(1)) return 0;
  return data_[pos_ - 1];
}

uint16_t WireReader::U16() {
  if (!Take(2)) return 0;
  const uint8_t* p = data_ + pos_ - 2;
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t WireReader::U32() {
  if (!Take(4)) return 0;
  const uint8_t* p = data_ + pos_ - 4;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t WireReader::U64() {
  if (!Take(8)) return 0;
  const uint8_t* p = data_ + pos_ - 8;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

uint16_t WireReader::U16Le() {
  if (!Take(2)) return 0;
  const uint8_t* p = data_ + pos_ - 2;
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t WireReader::U32Le() {
  if (!Take(4)) return 0;
  const uint8_t* p = data_ + pos_ - 4;
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

void WireReader::Bytes(void* out, size_t n) {
  if (!Take(n)) {
    std::memset(out, 0, n);
    return;
  }
  if (n > 0) std::memcpy(out, data_ + pos_ - n, n);
}

void WireReader::Skip(size_t n) { Take(n); }

std::string WireReader::FixedString(size_t n) {
  if (!Take(n)) return {};
  const char* p = reinterpret_cast<const char*>(data_ + pos_ - n);
  // VPP does not always zero the buffer: everything after the first NUL is junk.
  const void* nul = n > 0 ? std::memchr(p, 0, n) : nullptr;
  size_t len = nul ? static_cast<size_t>(static_cast<const char*>(nul) - p) : n;
  return std::string(p, len);
}

std::string WireReader::VarString(size_t max_len) {
  uint32_t len = U32();
  if (!ok_) return {};
  if (len > max_len) {
    Fail(absl::StrCat("string length ", len, " exceeds limit ", max_len));
    return {};
  }
  if (!Take(len)) return {};
  return std::string(reinterpret_cast<const char*>(data_ + pos_ - len), len);
}

void WireReader::Fail(std::string_view why) {
  if (!ok_) return;
  ok_ = false;
  error_ = std::string(why);
}

absl::Status WireReader::status(std::string_view what) const {
  if (ok_) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("malformed ", std::string(what), ": ", error_));
}

}  // namespace maglev
