// Structured logging: one record = level + stable `msg` key + attributes.
// Written as JSON lines (default) or text to stderr, and offered to sinks
// (the WatchEvents hub) independently of the daemon's own level.
//
// Log() never waits for the output: a record at or above the daemon's level
// goes into a bounded queue that a writer thread formats and writes. When
// the queue is full (the output is stuck or far slower than the logging),
// the record is dropped and counted (dropped()); the writer reports drops
// with one warn line ("log-records-dropped") when it catches up. Flush()
// waits until every record logged before it is written; it runs at exit()
// too, so a record logged before the process exits is not lost.
//
// Thread-safe: Log() may be called from any thread; sinks are called on the
// logging thread, under the logger's lock, and must not block or log.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace maglev {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
const char* LogLevelName(LogLevel l);  // "debug", "info", "warn", "error"
bool ParseLogLevel(std::string_view text, LogLevel* out);

// One attribute; numbers and booleans are kept unquoted in JSON output.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), raw(true) {}
  template <typename T>
  requires std::is_integral_v<T> LogField(std::string_view k, T v)
      : key(k), value(std::to_string(v)), raw(true) {}
  LogField(std::string_view k, double v);
  std::string key;
  std::string value;
  bool raw = false;  // true: emit value unquoted in JSON
};

struct LogRecord {
  int64_t at_unix_ns = 0;
  LogLevel level = LogLevel::kInfo;
  std::string msg;
  std::vector<LogField> attrs;
};

enum class LogFormat { kJson, kText };

class Logger {
 public:
  using Sink = std::function<void(const LogRecord&)>;

  static Logger& Get();

  void SetLevel(LogLevel l) { level_.store(l); }
  LogLevel level() const { return level_.load(); }
  void SetFormat(LogFormat f) { format_.store(f); }
  // Default stderr; nullptr silences output. Records queued before the call
  // are written to the previous output first (so it may be closed after).
  void SetOutput(FILE* out);

  // Sinks receive records at or above `min_level`, whatever the daemon level.
  int AddSink(LogLevel min_level, Sink sink);
  void RemoveSink(int id);
  // Changes one sink's level: every record goes to the sink at the old
  // level or at the new one, never both, never neither. False for an
  // unknown id.
  bool SetSinkLevel(int id, LogLevel min_level);

  // Blocks until every record logged before the call is written out.
  void Flush();
  // The same, giving up after `limit`; false if records are still waiting.
  bool FlushFor(std::chrono::milliseconds limit);
  // Records not written because the queue was full (since start).
  uint64_t dropped() const;
  // Records that may wait for the writer (default 8192); for tests.
  void SetQueueCapacity(size_t records);

  // True when a record at `l` would go anywhere (output or a sink).
  bool Enabled(LogLevel l) const {
    return l >= level_.load(std::memory_order_relaxed) ||
           static_cast<int>(l) >= min_sink_level_.load(std::memory_order_relaxed);
  }
  void Log(LogLevel l, std::string_view msg, std::vector<LogField> attrs);

  // Formats one record (exposed for tests).
  static std::string FormatJson(const LogRecord& r);
  static std::string FormatText(const LogRecord& r);

 private:
  Logger();
  void WriterLoop();
  // pthread_atfork handlers: the lock is held across fork(); the child
  // drops the parent's queue and writer.
  static void ForkPrepare() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  static void ForkParent() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  static void ForkChild() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::atomic<LogFormat> format_{LogFormat::kJson};
  std::atomic<int> min_sink_level_{100};
  struct State;
  State* state_;
};

inline void Log(LogLevel l, std::string_view msg, std::initializer_list<LogField> attrs = {}) {
  Logger& lg = Logger::Get();
  if (lg.Enabled(l)) lg.Log(l, msg, std::vector<LogField>(attrs));
}
inline void LogDebug(std::string_view m, std::initializer_list<LogField> a = {}) {
  Log(LogLevel::kDebug, m, a);
}
inline void LogInfo(std::string_view m, std::initializer_list<LogField> a = {}) {
  Log(LogLevel::kInfo, m, a);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> a = {}) {
  Log(LogLevel::kWarn, m, a);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> a = {}) {
  Log(LogLevel::kError, m, a);
}

// JSON string escaping (RFC 8259), exposed for other writers.
void AppendJsonString(std::string* out, std::string_view s);

int64_t UnixNowNs();

}  // namespace maglev
