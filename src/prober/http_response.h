// A small, strict, bounded HTTP/1.x response reader for health probes. It
// consumes the raw bytes of one response as they arrive and yields the status
// code and, when asked for, a bounded prefix of the decoded body
// (Content-Length, chunked, or delimited by the connection close). It never
// holds more than max_head bytes of head and max_body bytes of body, and tells
// its caller how many more bytes it is willing to take, so a peer sending an
// endless head or body costs a bounded amount of reading. Pure (no I/O);
// used on the core loop by the http prober and by the fuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace maglev {

class HttpResponseReader {
 public:
  static constexpr size_t kMaxHead = 16 * 1024;  // status line + headers, all heads together
  static constexpr size_t kMaxBody = 64 * 1024;  // decoded body bytes kept

  enum class State {
    kHead,   // reading the status line and headers
    kBody,   // final head parsed; reading the body (only when the body is wanted)
    kDone,   // complete, or the body bound was reached
    kError,  // malformed or truncated; see error()
  };

  // want_body false: done as soon as the final (non-1xx) head is parsed.
  explicit HttpResponseReader(bool want_body, size_t max_head = kMaxHead,
                              size_t max_body = kMaxBody);

  // How many more raw bytes the reader accepts now: > 0 in kHead and kBody,
  // 0 in kDone and kError. A caller must not read more than this from the
  // connection before the next Feed().
  size_t WantBytes() const;

  // Consumes raw bytes and returns the new state. Bytes beyond what the
  // response needs (or beyond WantBytes()) are ignored.
  State Feed(std::string_view data);
  // The peer closed the connection; returns the final state (kDone or kError).
  State FeedEof();

  State state() const { return state_; }
  bool head_done() const { return status_ != 0; }
  // Valid once head_done() (even if the body later fails): the final status
  // code (100..999) and the HTTP minor version.
  int status() const { return status_; }
  int version_minor() const { return version_minor_; }
  // The decoded body read so far (at most max_body bytes).
  const std::string& body() const { return body_; }
  // True when the body was cut at the bound (or the chunked framing budget).
  bool body_truncated() const { return body_truncated_; }
  // Human text when state() == kError, e.g. "malformed status line".
  const std::string& error() const { return error_; }
  // Raw bytes consumed so far (head and body framing included).
  size_t consumed() const { return consumed_; }

 private:
  enum class BodyMode { kNone, kLength, kChunked, kClose };
  enum class ChunkState { kSize, kData, kDataEnd, kDone };

  enum class HeadKind { kFinal, kInterim, kBad };

  State Fail(std::string message);
  HeadKind ParseHead(std::string_view head);  // kBad: error_ set
  void StartBody(std::string_view leftover);
  size_t BodyFeed(std::string_view data);  // bytes consumed
  size_t ChunkedFeed(std::string_view data);
  void Truncate();
  size_t BodyRoom() const { return max_body_ - body_.size(); }

  const bool want_body_;
  const size_t max_head_;
  const size_t max_body_;
  const size_t max_chunked_raw_;  // framing budget for chunked bodies

  State state_ = State::kHead;
  std::string error_;
  size_t consumed_ = 0;

  // Head phase.
  std::string head_;          // current head, bytes so far
  size_t head_consumed_ = 0;  // all heads together (1xx interim ones included)
  size_t scan_pos_ = 0;       // start of the line not yet terminated
  bool saw_status_line_ = false;

  // Final head.
  int status_ = 0;
  int version_minor_ = 0;
  BodyMode mode_ = BodyMode::kNone;
  uint64_t remaining_ = 0;  // kLength: body bytes left; kChunked: bytes left in chunk

  // Chunked framing.
  ChunkState chunk_state_ = ChunkState::kSize;
  std::string chunk_line_;
  size_t chunked_raw_ = 0;

  std::string body_;
  bool body_truncated_ = false;
};

}  // namespace maglev
