// SPDX-License-Identifier: Apache-2.0
// The replay ring of the Server-Sent-Events stream (/view/api/events).
//
// Every event the dashboard publishes gets the id `<epoch>-<seq>`: epoch is
// fixed for the life of the process (its start time in ms), seq counts from 1.
// The ring keeps the newest events, at most `max_events` and none older than
// `max_age`, as ready-to-send SSE frames, so a client that reconnects with
// Last-Event-ID gets exactly what it missed, or is told to resync when that
// is no longer held (or the id belongs to another process).
//
// Thread-safe: Append is called by the maglevd link threads, Collect and
// ResumeAfter by the HTTP thread. Time is passed in by the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace maglev::frontend {

using Frame = std::shared_ptr<const std::string>;

class EventRing {
 public:
  using Clock = std::chrono::steady_clock;

  EventRing(uint64_t epoch, size_t max_events, Clock::duration max_age);

  // Formats and stores one event (`type` is the SSE event name, `data` one
  // line of JSON); returns its seq.
  uint64_t Append(std::string_view type, std::string_view data, Clock::time_point now);

  // Where to start for a client that last saw `last_event_id`: the seq to
  // send after, or nullopt when the client must resync (other epoch, id not
  // parsable, from the future, or events after it already evicted).
  std::optional<uint64_t> ResumeAfter(std::string_view last_event_id, Clock::time_point now);

  struct Batch {
    std::vector<Frame> frames;
    uint64_t last_seq = 0;  // seq of the last frame (or `after` when none)
    bool gap = false;       // events after `after` were evicted: resync
  };
  // The frames with seq > after, up to about max_bytes (at least one).
  Batch Collect(uint64_t after, size_t max_bytes, Clock::time_point now);

  uint64_t epoch() const { return epoch_; }
  uint64_t last_seq() const;
  std::string IdOf(uint64_t seq) const;
  size_t size() const;

  // "id: ..\nevent: ..\ndata: ..\n\n"; data must not contain newlines.
  static std::string FormatFrame(std::string_view id, std::string_view type, std::string_view data);

 private:
  struct Entry {
    uint64_t seq;
    Clock::time_point at;
    Frame frame;
  };
  void ExpireLocked(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t epoch_;
  const size_t max_events_;
  const Clock::duration max_age_;
  mutable Mutex mu_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace maglev::frontend
