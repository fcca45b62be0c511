// Big-endian byte buffer writer and bounds-checked reader for VPP's binary API
// wire format (packed structs, network byte order). The reader never reads past
// the length it was given: every read checks the remaining size first and an
// out-of-range read puts the reader into a sticky error state (reads then
// return zeros) that the caller turns into an absl::Status. Pure; no I/O;
// thread-agnostic (an instance is used by one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace maglev {

// Appends big-endian fields to a growing byte vector.
class WireWriter {
 public:
  // Appends to `*out`, which must outlive the writer.
  explicit WireWriter(std::vector<uint8_t>* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(v); }
  void Bool(bool v) { out_->push_back(v ? 1 : 0); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void U64(uint64_t v);
  // Little-endian u16/u32, for the few fields VPP emits in host order (quirks).
  void U16Le(uint16_t v);
  void U32Le(uint32_t v);
  void Bytes(const void* data, size_t n);
  void Zeros(size_t n) { out_->insert(out_->end(), n, 0); }
  // `string x[N]`: at most N-1 bytes of `s`, then NUL padding up to N bytes.
  void FixedString(std::string_view s, size_t n);
  // `string x[]`: u32 BE byte count then the bytes (no NUL).
  void VarString(std::string_view s);

  // Overwrites a big-endian u32 at `offset` (which must already exist).
  void PatchU32(size_t offset, uint32_t v);

  size_t size() const { return out_->size(); }
  std::vector<uint8_t>& buffer() { return *out_; }

 private:
  std::vector<uint8_t>* out_;
};

// Reads big-endian fields from [data, data+size). Any read beyond the end sets
// a sticky error (ok() == false), returns zero/empty and consumes nothing.
class WireReader {
 public:
  WireReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  explicit WireReader(std::string_view s)
      : data_(reinterpret_cast<const uint8_t*>(s.data())), size_(s.size()) {}
  explicit WireReader(const std::vector<uint8_t>& v) : data_(v.data()), size_(v.size()) {}

  uint8_t U8();
  bool Bool() { return U8() != 0; }
  uint16_t U16();
  uint32_t U32();
  int32_t I32() { return static_cast<int32_t>(U32()); }
  uint64_t U64();
  uint16_t U16Le();
  uint32_t U32Le();
  // Copies n bytes into `out`; on error `out` is zero-filled.
  void Bytes(void* out, size_t n);
  void Skip(size_t n);
  // `string x[N]`: reads exactly N bytes, returns the text up to the first NUL.
  std::string FixedString(size_t n);
  // `string x[]`: u32 BE length (checked against the remaining bytes, and
  // against `max_len`) then that many bytes.
  std::string VarString(size_t max_len = SIZE_MAX);

  // True when `n` more bytes are available (does not change state).
  bool Has(size_t n) const { return ok_ && size_ - pos_ >= n; }
  size_t remaining() const { return ok_ ? size_ - pos_ : 0; }
  size_t position() const { return pos_; }
  bool ok() const { return ok_; }
  // Marks the reader failed with a reason (e.g. a semantic check failed).
  void Fail(std::string_view why);
  // OK, or InvalidArgument naming `what` and the first failure.
  absl::Status status(std::string_view what) const;

 private:
  bool Take(size_t n);  // checks and reserves n bytes at pos_ - n on success

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

}  // namespace maglev
