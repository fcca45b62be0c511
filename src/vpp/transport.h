// VPP binary-API socket transport (shared/vpp-api/PROTOCOL.md §1): a unix
// stream socket carrying frames of a 16-byte header (q, BE data_len,
// gc_mark) plus one API message; the sockclnt_create handshake with its
// name_crc -> id message table; client_index/context handling; request/reply
// matching by context; dumps terminated by a control_ping sent with the same
// context; sockclnt_delete on close.
//
// Pipelining: Execute() sends a whole batch of requests back to back while it
// reads the replies as they arrive (non-blocking socket + poll), and matches
// them to the calls by context. VPP handles one connection strictly in order,
// so a batch of N calls costs about one round trip instead of N.
//
// Timeouts: `timeout` bounds every wait for the peer. While a batch is in
// flight, the wait restarts whenever the peer makes progress (accepts bytes
// or sends a frame), so a large batch is not cut short on a slow but live
// VPP, while a peer that goes silent yields DeadlineExceeded. A peer that
// closes yields Unavailable. After DeadlineExceeded, Unavailable or a framing
// error (DataLoss) the transport is disconnected: call Connect() again.
//
// Unsolicited frames (a stale reply of an earlier call, an event, an unknown
// message id) are dropped and counted; a memclnt_keepalive is answered with a
// memclnt_keepalive_reply (§1.8).
//
// Threading: blocking and NOT thread-safe. One VppTransport is owned and used
// by a single dedicated thread (never the core event loop, since every call
// blocks for up to `timeout`). stats() may only be read on that thread too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status.h"
#include "vpp/messages.h"

namespace maglev {

inline constexpr size_t kVppFrameHeaderSize = 16;

// Appends one frame (16-byte header with q = 0, BE data_len, gc_mark = 0,
// then the payload) to `out`.
void AppendVppFrame(std::vector<uint8_t>* out, const uint8_t* payload, size_t size);
inline void AppendVppFrame(std::vector<uint8_t>* out, const std::vector<uint8_t>& payload) {
  AppendVppFrame(out, payload.data(), payload.size());
}

struct VppTransportOptions {
  std::string client_name = "vpp-maglev";  // shown by VPP's "show api clients"
  // Bound on every wait for the peer (connect, handshake, each reply).
  std::chrono::milliseconds timeout{5000};
  // Frames larger than this are treated as a corrupt stream (DataLoss).
  size_t max_frame_size = 64u << 20;
};

// One request of a batch. The caller encodes `payload` with `context` (from
// VppTransport::NextContext()) and the transport's client_index; Execute()
// fills the outcome.
struct VppRawCall {
  uint32_t context = 0;
  std::vector<uint8_t> payload;  // full API message (header included)
  uint16_t reply_msg_id = 0;     // the reply id, or the details id for a dump
  bool is_dump = false;          // true: send a control_ping after it, collect details
  std::string name;              // request name for error messages

  // Outcome: OK when the reply (or the control_ping_reply ending a dump)
  // arrived. `responses` holds the reply payload, or every details payload.
  absl::Status status;
  bool done = false;
  std::vector<std::vector<uint8_t>> responses;
};

struct VppTransportStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t unsolicited_frames = 0;  // no pending call with that context
  uint64_t malformed_frames = 0;    // payload too short to route
  uint64_t keepalives_answered = 0;
};

class VppTransport {
 public:
  explicit VppTransport(VppTransportOptions options = {});
  ~VppTransport();
  VppTransport(const VppTransport&) = delete;
  VppTransport& operator=(const VppTransport&) = delete;

  // Connects to the unix socket at `socket_path`, performs the sockclnt_create
  // handshake and loads the message table. Fails with FailedPrecondition naming
  // every message of `required` (name_crc strings) that the table lacks, so a
  // VPP with a different API is refused before any call is mis-encoded.
  // Unavailable when nothing listens there; DeadlineExceeded when the peer
  // does not answer the handshake within the timeout.
  absl::Status Connect(const std::string& socket_path,
                       std::span<const std::string_view> required = {});

  // Politely disconnects (sockclnt_delete, waiting for its reply at most the
  // timeout) and closes the socket. Returns the outcome of the goodbye; the
  // transport is closed in every case. No-op when not connected.
  absl::Status Close();
  // Closes the socket at once, without sockclnt_delete.
  void Abort();
  bool connected() const { return fd_ >= 0; }
  // The socket, so that its owner can watch it between calls (-1 when not
  // connected). Only ServiceIdle() may read from it.
  int fd() const { return fd_; }
  // Handles what VPP sent while no call was in flight, without blocking:
  // answers keepalives, drops (and counts) unsolicited frames. Unavailable
  // once VPP has closed the connection, which is then closed here too: the
  // owner learns of a VPP restart at once instead of at its next call.
  absl::Status ServiceIdle();

  // The handle from sockclnt_create_reply (use it as client_index).
  uint32_t client_index() const { return client_index_; }
  // Message table look-ups (valid after Connect).
  std::optional<uint16_t> FindMsgId(std::string_view name_crc) const;
  bool HasMessage(std::string_view name_crc) const { return FindMsgId(name_crc).has_value(); }
  // "name_crc" of an id, or "" if the table does not list it.
  std::string_view MsgName(uint16_t id) const;
  size_t message_table_size() const { return ids_by_name_.size(); }
  // Id of message type M: from the table, else its fixed memclnt id, else
  // FailedPrecondition naming M.
  template <typename M>
  absl::StatusOr<uint16_t> MsgIdOf() const;

  uint32_t NextContext();
  const VppTransportStats& stats() const { return stats_; }
  const VppTransportOptions& options() const { return options_; }
  void set_timeout(std::chrono::milliseconds t) { options_.timeout = t; }

  // Sends every call (dumps followed by a control_ping with the same context)
  // and collects all replies. Returns OK when every call completed (each
  // call's own `status` may still report a protocol error for that call, e.g.
  // an unexpected reply type), or the transport error that ended the
  // exchange; calls that did not complete then carry that error too.
  absl::Status Execute(std::span<VppRawCall> calls);

  // Builds a call for request `req` expecting reply type Rep (or, with
  // is_dump, details of type Rep).
  template <typename Rep, typename Req>
  absl::StatusOr<VppRawCall> PrepareCall(const Req& req, bool is_dump = false);

  // One request, one typed reply (retval is not interpreted here).
  template <typename Rep, typename Req>
  absl::StatusOr<Rep> Call(const Req& req);

  // One dump: every details message until the control_ping_reply.
  template <typename Det, typename Req>
  absl::StatusOr<std::vector<Det>> Dump(const Req& req);

  // Pipelined batch of requests of one type; one result per request, in order.
  template <typename Rep, typename Req>
  std::vector<absl::StatusOr<Rep>> CallBatch(std::span<const Req> reqs);

 private:
  using Clock = std::chrono::steady_clock;

  absl::Status Handshake(uint32_t context);
  // Writes `out_` and reads frames, passing each payload to `on_frame`, until
  // `done()` holds. Handles partial writes/reads and the progress timeout.
  template <typename OnFrame, typename Done>
  absl::Status Pump(OnFrame&& on_frame, Done&& done);
  absl::Status WriteSome();
  // Reads what is available; appends complete payloads to `frames`.
  absl::Status ReadSome(std::vector<std::vector<uint8_t>>* frames);
  absl::Status WaitIo(bool want_write, Clock::time_point deadline);
  // Handles a keepalive; returns true if the frame was one.
  bool MaybeAnswerKeepalive(const std::vector<uint8_t>& payload);
  absl::Status Fatal(absl::Status s);  // closes the socket, returns s

  VppTransportOptions options_;
  int fd_ = -1;
  std::string socket_path_;
  uint32_t client_index_ = 0;
  uint32_t next_context_ = 1;
  std::unordered_map<std::string, uint16_t> ids_by_name_;
  std::unordered_map<uint16_t, std::string> names_by_id_;
  std::vector<uint8_t> out_;  // bytes not yet written
  size_t out_pos_ = 0;
  std::vector<uint8_t> in_;  // bytes read, not yet parsed
  size_t in_pos_ = 0;
  bool eof_ = false;  // the peer closed; set by ReadSome, checked by Pump
  VppTransportStats stats_;
};

// ---------------------------------------------------------------------------
// Template implementations.

template <typename M>
absl::StatusOr<uint16_t> VppTransport::MsgIdOf() const {
  if (auto id = FindMsgId(M::kNameCrc)) return *id;
  // GoVPP and VPP's Python client hard-code the memclnt ids as well.
  if (M::kFixedId != 0) return M::kFixedId;
  return absl::FailedPreconditionError(absl::StrCat(
      "VPP does not offer message ", vppmsg::Sv(M::kNameCrc), " (different API version?)"));
}

template <typename Rep, typename Req>
absl::StatusOr<VppRawCall> VppTransport::PrepareCall(const Req& req, bool is_dump) {
  if (!connected()) return absl::UnavailableError("not connected to VPP");
  MAGLEV_ASSIGN_OR_RETURN(uint16_t req_id, MsgIdOf<Req>());
  MAGLEV_ASSIGN_OR_RETURN(uint16_t rep_id, MsgIdOf<Rep>());
  VppRawCall call;
  call.context = NextContext();
  call.payload = vppmsg::Encode(req, {req_id, client_index_, call.context});
  call.reply_msg_id = rep_id;
  call.is_dump = is_dump;
  call.name = std::string(Req::kName);
  return call;
}

template <typename Rep, typename Req>
absl::StatusOr<Rep> VppTransport::Call(const Req& req) {
  MAGLEV_ASSIGN_OR_RETURN(VppRawCall call, PrepareCall<Rep>(req));
  MAGLEV_RETURN_IF_ERROR(Execute(std::span<VppRawCall>(&call, 1)));
  MAGLEV_RETURN_IF_ERROR(call.status);
  return vppmsg::Decode<Rep>(call.responses.front());
}

template <typename Det, typename Req>
absl::StatusOr<std::vector<Det>> VppTransport::Dump(const Req& req) {
  MAGLEV_ASSIGN_OR_RETURN(VppRawCall call, PrepareCall<Det>(req, /*is_dump=*/true));
  MAGLEV_RETURN_IF_ERROR(Execute(std::span<VppRawCall>(&call, 1)));
  MAGLEV_RETURN_IF_ERROR(call.status);
  std::vector<Det> out;
  out.reserve(call.responses.size());
  for (const auto& payload : call.responses) {
    MAGLEV_ASSIGN_OR_RETURN(Det d, vppmsg::Decode<Det>(payload));
    out.push_back(std::move(d));
  }
  return out;
}

template <typename Rep, typename Req>
std::vector<absl::StatusOr<Rep>> VppTransport::CallBatch(std::span<const Req> reqs) {
  std::vector<absl::StatusOr<Rep>> results(reqs.size(), absl::UnknownError("not sent"));
  std::vector<VppRawCall> calls;
  std::vector<size_t> index;  // calls[i] answers reqs[index[i]]
  calls.reserve(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto call = PrepareCall<Rep>(reqs[i]);
    if (!call.ok()) {
      results[i] = call.status();
      continue;
    }
    calls.push_back(std::move(*call));
    index.push_back(i);
  }
  (void)Execute(std::span<VppRawCall>(calls));  // per-call status carries every error
  for (size_t i = 0; i < calls.size(); ++i) {
    if (!calls[i].status.ok()) {
      results[index[i]] = calls[i].status;
    } else {
      results[index[i]] = vppmsg::Decode<Rep>(calls[i].responses.front());
    }
  }
  return results;
}

}  // namespace maglev
