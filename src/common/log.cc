#include "common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

namespace maglev {

struct Logger::State {
  std::mutex mu;
  FILE* out = stderr;
  int next_id = 1;
  std::map<int, std::pair<LogLevel, Sink>> sinks;
};

Logger::Logger() : state_(new State) {}  // intentionally never freed (used until exit)

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
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->out = out;
}

int Logger::AddSink(LogLevel min_level, Sink sink) {
  std::lock_guard<std::mutex> lock(state_->mu);
  int id = state_->next_id++;
  state_->sinks[id] = {min_level, std::move(sink)};
  int min = 100;
  for (auto& [_, s] : state_->sinks) min = std::min(min, static_cast<int>(s.first));
  min_sink_level_.store(min);
  return id;
}

void Logger::RemoveSink(int id) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->sinks.erase(id);
  int min = 100;
  for (auto& [_, s] : state_->sinks) min = std::min(min, static_cast<int>(s.first));
  min_sink_level_.store(min);
}

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
  std::string line;
  if (l >= level_.load()) {
    line = format_.load() == LogFormat::kJson ? FormatJson(r) : FormatText(r);
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!line.empty() && state_->out) {
    std::fwrite(line.data(), 1, line.size(), state_->out);
    std::fflush(state_->out);
  }
  for (auto& [_, s] : state_->sinks) {
    if (l >= s.first) s.second(r);
  }
}

}  // namespace maglev
