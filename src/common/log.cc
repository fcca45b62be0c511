#include "common/log.h"

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <map>
#include <thread>

#include "common/mutex.h"

namespace maglev {

// One lock for the sinks, the output and the queue. The writer holds it only
// to take the queued records and to account for what it wrote; formatting
// and writing happen outside it.
struct Logger::State {
  Mutex mu;
  FILE* out ABSL_GUARDED_BY(mu) = stderr;
  int next_id ABSL_GUARDED_BY(mu) = 1;
  std::map<int, std::pair<LogLevel, Sink>> sinks ABSL_GUARDED_BY(mu);

  std::deque<LogRecord> queue ABSL_GUARDED_BY(mu);
  size_t capacity ABSL_GUARDED_BY(mu) = 8192;
  uint64_t enqueued ABSL_GUARDED_BY(mu) = 0;  // records ever queued
  uint64_t written ABSL_GUARDED_BY(mu) = 0;   // of those, written (or skipped: no output)
  uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
  uint64_t reported ABSL_GUARDED_BY(mu) = 0;  // drops the writer has reported
  bool writer_started ABSL_GUARDED_BY(mu) = false;
  CondVar wake;        // the writer: records queued or drops to report
  CondVar written_cv;  // Flush/SetOutput: the writer made progress

  void RecomputeMinSinkLevel(std::atomic<int>* min_sink_level) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    int min = 100;
    for (auto& [_, s] : sinks) min = std::min(min, static_cast<int>(s.first));
    min_sink_level->store(min);
  }
};

namespace {

// exit() waits for the writer, but not forever: an output that nobody reads
// (a full pipe) must not keep the process from exiting.
constexpr auto kExitFlushLimit = std::chrono::seconds(5);

void FlushAtExit();

}  // namespace

Logger::Logger() : state_(new State) {  // intentionally never freed (used until exit)
  std::atexit(FlushAtExit);
  // A forked child has no writer thread: it starts its own on its first
  // record, and leaves the parent's queued records to the parent.
  pthread_atfork(ForkPrepare, ForkParent, ForkChild);
}

void Logger::ForkPrepare() { Get().state_->mu.Lock(); }
void Logger::ForkParent() { Get().state_->mu.Unlock(); }
void Logger::ForkChild() {
  State* st = Get().state_;
  st->queue.clear();
  st->written = st->enqueued;
  st->reported = st->dropped;
  st->writer_started = false;
  st->mu.Unlock();
}

Logger& Logger::Get() {
  static Logger* logger = new Logger;
  return *logger;
}

const char* LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool ParseLogLevel(std::string_view t, LogLevel* out) {
  if (t == "debug") {
    *out = LogLevel::kDebug;
  } else if (t == "info") {
    *out = LogLevel::kInfo;
  } else if (t == "warn" || t == "warning") {
    *out = LogLevel::kWarn;
  } else if (t == "error") {
    *out = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

LogField::LogField(std::string_view k, double v) : key(k), raw(true) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Logger::SetOutput(FILE* out) {
  MutexLock lock(state_->mu);
  while (state_->written < state_->enqueued) state_->written_cv.Wait(state_->mu);
  state_->out = out;
}

int Logger::AddSink(LogLevel min_level, Sink sink) {
  MutexLock lock(state_->mu);
  int id = state_->next_id++;
  state_->sinks[id] = {min_level, std::move(sink)};
  state_->RecomputeMinSinkLevel(&min_sink_level_);
  return id;
}

void Logger::RemoveSink(int id) {
  MutexLock lock(state_->mu);
  state_->sinks.erase(id);
  state_->RecomputeMinSinkLevel(&min_sink_level_);
}

bool Logger::SetSinkLevel(int id, LogLevel min_level) {
  MutexLock lock(state_->mu);
  auto it = state_->sinks.find(id);
  if (it == state_->sinks.end()) return false;
  it->second.first = min_level;
  state_->RecomputeMinSinkLevel(&min_sink_level_);
  return true;
}

void Logger::Flush() {
  MutexLock lock(state_->mu);
  const uint64_t target = state_->enqueued;
  while (state_->written < target) state_->written_cv.Wait(state_->mu);
}

uint64_t Logger::dropped() const {
  MutexLock lock(state_->mu);
  return state_->dropped;
}

void Logger::SetQueueCapacity(size_t records) {
  MutexLock lock(state_->mu);
  state_->capacity = records;
}

namespace {

void FlushAtExit() {
  // Logger::Flush with a time limit (see kExitFlushLimit).
  Logger::Get().FlushFor(kExitFlushLimit);
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

namespace {
std::string FormatTime(int64_t ns) {
  time_t secs = ns / 1'000'000'000;
  int millis = static_cast<int>((ns / 1'000'000) % 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}
}  // namespace

std::string Logger::FormatJson(const LogRecord& r) {
  std::string out = "{\"time\":\"" + FormatTime(r.at_unix_ns) + "\",\"level\":\"";
  out += LogLevelName(r.level);
  out += "\",\"msg\":";
  AppendJsonString(&out, r.msg);
  for (const auto& a : r.attrs) {
    out.push_back(',');
    AppendJsonString(&out, a.key);
    out.push_back(':');
    if (a.raw) {
      out += a.value;
    } else {
      AppendJsonString(&out, a.value);
    }
  }
  out += "}\n";
  return out;
}

std::string Logger::FormatText(const LogRecord& r) {
  std::string out = FormatTime(r.at_unix_ns) + " " + LogLevelName(r.level) + " " + r.msg;
  for (const auto& a : r.attrs) {
    out += " " + a.key + "=";
    bool quote = a.value.empty() || a.value.find_first_of(" \"=\n\t") != std::string::npos;
    if (quote) {
      AppendJsonString(&out, a.value);
    } else {
      out += a.value;
    }
  }
  out += "\n";
  return out;
}

void Logger::Log(LogLevel l, std::string_view msg, std::vector<LogField> attrs) {
  LogRecord r{UnixNowNs(), l, std::string(msg), std::move(attrs)};
  const bool output = l >= level_.load();
  bool wake = false;
  {
    MutexLock lock(state_->mu);
    for (auto& [_, s] : state_->sinks) {
      if (l >= s.first) s.second(r);
    }
    if (output && state_->out) {
      if (state_->queue.size() >= state_->capacity) {
        ++state_->dropped;
      } else {
        state_->queue.push_back(std::move(r));
        ++state_->enqueued;
        wake = true;
        if (!state_->writer_started) {
          state_->writer_started = true;
          std::thread([this] { WriterLoop(); }).detach();  // lives as long as the process
        }
      }
    }
  }
  if (wake) state_->wake.NotifyOne();
}

void Logger::WriterLoop() {
  std::deque<LogRecord> batch;
  std::string buf;
  for (;;) {
    FILE* out;
    uint64_t new_drops;
    uint64_t total_drops;
    {
      MutexLock lock(state_->mu);
      while (state_->queue.empty() && state_->dropped == state_->reported) {
        state_->wake.Wait(state_->mu);
      }
      batch.swap(state_->queue);
      out = state_->out;
      new_drops = state_->dropped - state_->reported;
      total_drops = state_->dropped;
      state_->reported = state_->dropped;
    }
    // Written in one go (one flush per batch): a burst of records costs the
    // output one write, not one per record.
    const bool json = format_.load() == LogFormat::kJson;
    buf.clear();
    for (const LogRecord& r : batch) buf += json ? FormatJson(r) : FormatText(r);
    if (new_drops > 0) {
      LogRecord warn{UnixNowNs(),
                     LogLevel::kWarn,
                     "log-records-dropped",
                     {{"dropped", new_drops}, {"dropped_total", total_drops}}};
      buf += json ? FormatJson(warn) : FormatText(warn);
    }
    if (out && !buf.empty()) {
      std::fwrite(buf.data(), 1, buf.size(), out);
      std::fflush(out);
    }
    {
      MutexLock lock(state_->mu);
      state_->written += batch.size();
    }
    state_->written_cv.NotifyAll();
    batch.clear();
  }
}

bool Logger::FlushFor(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  MutexLock lock(state_->mu);
  const uint64_t target = state_->enqueued;
  while (state_->written < target) {
    if (!state_->written_cv.WaitUntil(state_->mu, deadline) && state_->written < target) {
      return false;
    }
  }
  return true;
}

}  // namespace maglev
