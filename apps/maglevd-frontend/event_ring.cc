// SPDX-License-Identifier: Apache-2.0
#include "event_ring.h"

#include <charconv>

namespace maglev::frontend {

EventRing::EventRing(uint64_t epoch, size_t max_events, Clock::duration max_age)
    : epoch_(epoch), max_events_(max_events == 0 ? 1 : max_events), max_age_(max_age) {}

std::string EventRing::FormatFrame(std::string_view id, std::string_view type,
                                   std::string_view data) {
  std::string f;
  f.reserve(id.size() + type.size() + data.size() + 24);
  f.append("id: ").append(id).append("\nevent: ").append(type).append("\ndata: ");
  f.append(data).append("\n\n");
  return f;
}

std::string EventRing::IdOf(uint64_t seq) const {
  return std::to_string(epoch_) + "-" + std::to_string(seq);
}

uint64_t EventRing::Append(std::string_view type, std::string_view data, Clock::time_point now) {
  MutexLock lock(mu_);
  uint64_t seq = ++last_seq_;
  entries_.push_back(
      {seq, now, std::make_shared<const std::string>(FormatFrame(IdOf(seq), type, data))});
  while (entries_.size() > max_events_) entries_.pop_front();
  ExpireLocked(now);
  return seq;
}

void EventRing::ExpireLocked(Clock::time_point now) {
  while (!entries_.empty() && now - entries_.front().at > max_age_) entries_.pop_front();
}

std::optional<uint64_t> EventRing::ResumeAfter(std::string_view id, Clock::time_point now) {
  size_t dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  uint64_t epoch = 0, seq = 0;
  auto parse = [](std::string_view s, uint64_t* out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  if (!parse(id.substr(0, dash), &epoch) || !parse(id.substr(dash + 1), &seq)) return std::nullopt;
  MutexLock lock(mu_);
  ExpireLocked(now);
  if (epoch != epoch_ || seq > last_seq_) return std::nullopt;
  if (seq == last_seq_) return seq;
  // Events seq+1 .. last_seq_ must all still be held.
  if (entries_.empty() || entries_.front().seq > seq + 1) return std::nullopt;
  return seq;
}

EventRing::Batch EventRing::Collect(uint64_t after, size_t max_bytes, Clock::time_point now) {
  Batch b;
  b.last_seq = after;
  MutexLock lock(mu_);
  ExpireLocked(now);
  if (after >= last_seq_) return b;
  if (entries_.empty() || entries_.front().seq > after + 1) {
    b.gap = true;
    return b;
  }
  size_t index = static_cast<size_t>(after + 1 - entries_.front().seq);
  size_t bytes = 0;
  for (; index < entries_.size(); ++index) {
    const Entry& e = entries_[index];
    if (!b.frames.empty() && bytes + e.frame->size() > max_bytes) break;
    bytes += e.frame->size();
    b.frames.push_back(e.frame);
    b.last_seq = e.seq;
  }
  return b;
}

uint64_t EventRing::last_seq() const {
  MutexLock lock(mu_);
  return last_seq_;
}

size_t EventRing::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

}  // namespace maglev::frontend
