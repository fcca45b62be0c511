#include "prober/http_response.h"

#include <algorithm>
#include <utility>

namespace maglev {
namespace {

constexpr size_t kMaxChunkLine = 1024;
constexpr uint64_t kMaxContentLength = uint64_t{1} << 62;

bool IsTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// Field values: visible characters, obs-text, space and tab; no other controls.
bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT, no sign, no spaces; false on overflow.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > kMaxContentLength) return false;
  }
  *out = v;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strips the line terminator: LF, optionally preceded by CR.
std::string_view StripEol(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

HttpResponseReader::HttpResponseReader(bool want_body, size_t max_head, size_t max_body)
    : want_body_(want_body),
      max_head_(std::max<size_t>(max_head, 1)),
      max_body_(std::max<size_t>(max_body, 1)),
      max_chunked_raw_(2 * std::max<size_t>(max_body, 1) + kMaxChunkLine) {}

size_t HttpResponseReader::WantBytes() const {
  switch (state_) {
    case State::kHead:
      return max_head_ - head_consumed_;
    case State::kBody:
      switch (mode_) {
        case BodyMode::kLength:
          return static_cast<size_t>(std::min<uint64_t>(remaining_, BodyRoom()));
        case BodyMode::kClose:
          return BodyRoom();
        case BodyMode::kChunked:
          return max_chunked_raw_ - chunked_raw_;
        case BodyMode::kNone:
          return 0;
      }
      return 0;
    case State::kDone:
    case State::kError:
      return 0;
  }
  return 0;
}

HttpResponseReader::State HttpResponseReader::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  std::string().swap(head_);
  std::string().swap(chunk_line_);
  return state_;
}

HttpResponseReader::State HttpResponseReader::Feed(std::string_view data) {
  while (!data.empty()) {
    if (state_ == State::kHead) {
      const size_t take = std::min(max_head_ - head_consumed_, data.size());
      head_.append(data.data(), take);
      head_consumed_ += take;
      consumed_ += take;
      data.remove_prefix(take);
      while (state_ == State::kHead) {
        const size_t nl = head_.find('\n', scan_pos_);
        if (nl == std::string::npos) break;
        const bool empty_line =
            StripEol(std::string_view(head_).substr(scan_pos_, nl + 1 - scan_pos_)).empty();
        scan_pos_ = nl + 1;
        if (!saw_status_line_) {
          saw_status_line_ = true;
          if (empty_line) return Fail("malformed status line");
          continue;
        }
        if (!empty_line) continue;
        const HeadKind kind = ParseHead(std::string_view(head_).substr(0, scan_pos_));
        if (kind == HeadKind::kBad) return state_;
        std::string rest = head_.substr(scan_pos_);
        scan_pos_ = 0;
        saw_status_line_ = false;
        if (kind == HeadKind::kInterim) {
          head_ = std::move(rest);  // already counted in head_consumed_
          continue;
        }
        std::string().swap(head_);
        StartBody(rest);
      }
      if (state_ == State::kHead && head_consumed_ >= max_head_) {
        return Fail("response head exceeds " + std::to_string(max_head_) + " bytes");
      }
    } else if (state_ == State::kBody) {
      consumed_ += BodyFeed(data);
      break;  // whatever the body did not take is beyond the response or the bound
    } else {
      break;
    }
  }
  return state_;
}

HttpResponseReader::State HttpResponseReader::FeedEof() {
  switch (state_) {
    case State::kHead:
      return Fail(saw_status_line_ ? "connection closed in response head"
                                   : "connection closed before status line");
    case State::kBody:
      switch (mode_) {
        case BodyMode::kClose:
        case BodyMode::kNone:
          state_ = State::kDone;
          return state_;
        case BodyMode::kLength:
          return Fail("connection closed before end of body");
        case BodyMode::kChunked:
          return Fail("connection closed in chunked body");
      }
      return state_;
    case State::kDone:
    case State::kError:
      return state_;
  }
  return state_;
}

HttpResponseReader::HeadKind HttpResponseReader::ParseHead(std::string_view head) {
  // Status line: HTTP/1.x SP 3DIGIT [SP reason] EOL
  size_t eol = head.find('\n');
  std::string_view line = StripEol(head.substr(0, eol + 1));
  head.remove_prefix(eol + 1);
  auto bad_status = [&] {
    Fail("malformed status line");
    return HeadKind::kBad;
  };
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !IsDigit(line[7]) || line[8] != ' ' ||
      !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11])) {
    return bad_status();
  }
  if (line.size() > 12 && line[12] != ' ') return bad_status();
  for (size_t i = 13; i < line.size(); ++i) {
    if (!IsFieldValueChar(static_cast<unsigned char>(line[i]))) return bad_status();
  }
  const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100) return bad_status();
  const int minor = line[7] - '0';

  bool have_length = false;
  uint64_t length = 0;
  bool have_te = false;
  bool chunked = false;
  while (!head.empty()) {
    eol = head.find('\n');
    line = StripEol(head.substr(0, eol + 1));
    head.remove_prefix(eol + 1);
    if (line.empty()) break;  // the blank line ending the head
    if (line.front() == ' ' || line.front() == '\t') {
      Fail("obsolete header line folding");
      return HeadKind::kBad;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      Fail("malformed header line");
      return HeadKind::kBad;
    }
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTchar(static_cast<unsigned char>(c))) {
        Fail("malformed header name");
        return HeadKind::kBad;
      }
    }
    const std::string_view value = TrimOws(line.substr(colon + 1));
    for (char c : value) {
      if (!IsFieldValueChar(static_cast<unsigned char>(c))) {
        Fail("invalid character in header value");
        return HeadKind::kBad;
      }
    }
    if (EqualsIgnoreCase(name, "content-length")) {
      // A list of identical values ("5, 5") is what some proxies send.
      std::string_view rest = value;
      while (true) {
        const size_t comma = rest.find(',');
        uint64_t v = 0;
        if (!ParseDecimal(TrimOws(rest.substr(0, comma)), &v) || (have_length && v != length)) {
          Fail("invalid Content-Length");
          return HeadKind::kBad;
        }
        have_length = true;
        length = v;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      // Only the last coding matters: chunked or read until close.
      have_te = true;
      const size_t comma = value.rfind(',');
      const std::string_view last =
          TrimOws(comma == std::string_view::npos ? value : value.substr(comma + 1));
      chunked = EqualsIgnoreCase(last, "chunked");
    }
  }

  if (status < 200 && status != 101) return HeadKind::kInterim;
  status_ = status;
  version_minor_ = minor;
  if (status == 101 || status == 204 || status == 304) {
    mode_ = BodyMode::kNone;
  } else if (have_te) {
    mode_ = chunked ? BodyMode::kChunked : BodyMode::kClose;
  } else if (have_length) {
    mode_ = BodyMode::kLength;
    remaining_ = length;
  } else {
    mode_ = BodyMode::kClose;
  }
  return HeadKind::kFinal;
}

void HttpResponseReader::StartBody(std::string_view leftover) {
  if (!want_body_ || mode_ == BodyMode::kNone || (mode_ == BodyMode::kLength && remaining_ == 0)) {
    state_ = State::kDone;
    return;
  }
  state_ = State::kBody;
  if (!leftover.empty()) BodyFeed(leftover);
}

void HttpResponseReader::Truncate() {
  body_truncated_ = true;
  state_ = State::kDone;
  std::string().swap(chunk_line_);
}

size_t HttpResponseReader::BodyFeed(std::string_view data) {
  switch (mode_) {
    case BodyMode::kLength: {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
      const size_t keep = std::min(take, BodyRoom());
      body_.append(data.data(), keep);
      remaining_ -= keep;
      if (remaining_ == 0) {
        state_ = State::kDone;
      } else if (BodyRoom() == 0) {
        Truncate();
      }
      return keep;
    }
    case BodyMode::kClose: {
      const size_t keep = std::min(data.size(), BodyRoom());
      body_.append(data.data(), keep);
      if (BodyRoom() == 0) Truncate();
      return keep;
    }
    case BodyMode::kChunked:
      return ChunkedFeed(data);
    case BodyMode::kNone:
      state_ = State::kDone;
      return 0;
  }
  return 0;
}

size_t HttpResponseReader::ChunkedFeed(std::string_view data) {
  const size_t budget = max_chunked_raw_ - chunked_raw_;
  if (data.size() > budget) data = data.substr(0, budget);
  size_t used = 0;
  while (used < data.size() && state_ == State::kBody) {
    std::string_view in = data.substr(used);
    switch (chunk_state_) {
      case ChunkState::kSize:
      case ChunkState::kDataEnd: {
        const size_t nl = in.find('\n');
        const size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
        if (chunk_line_.size() + take > kMaxChunkLine) {
          Fail("chunk size line too long");
          return used;
        }
        chunk_line_.append(in.data(), take);
        used += take;
        if (nl == std::string_view::npos) break;
        const std::string_view line = StripEol(chunk_line_);
        if (chunk_state_ == ChunkState::kDataEnd) {
          if (!line.empty()) {
            Fail("malformed chunk: data longer than its size");
            return used;
          }
          chunk_state_ = ChunkState::kSize;
          chunk_line_.clear();
          break;
        }
        // chunk-size [ BWS ";" chunk-ext ]
        uint64_t size = 0;
        size_t i = 0;
        for (; i < line.size(); ++i) {
          const int h = HexValue(line[i]);
          if (h < 0) break;
          if (size > (kMaxContentLength >> 4)) {
            Fail("invalid chunk size");
            return used;
          }
          size = size * 16 + static_cast<uint64_t>(h);
        }
        std::string_view ext = TrimOws(line.substr(i));
        if (i == 0 || (!ext.empty() && ext.front() != ';')) {
          Fail("invalid chunk size");
          return used;
        }
        for (char c : ext) {
          if (!IsFieldValueChar(static_cast<unsigned char>(c))) {
            Fail("invalid chunk extension");
            return used;
          }
        }
        chunk_line_.clear();
        if (size == 0) {
          // Trailers are of no interest: the body is complete.
          chunk_state_ = ChunkState::kDone;
          state_ = State::kDone;
          break;
        }
        remaining_ = size;
        chunk_state_ = ChunkState::kData;
        break;
      }
      case ChunkState::kData: {
        if (BodyRoom() == 0) {
          Truncate();
          break;
        }
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        const size_t keep = std::min(take, BodyRoom());
        body_.append(in.data(), keep);
        used += keep;
        remaining_ -= keep;
        if (remaining_ == 0) {
          chunk_state_ = ChunkState::kDataEnd;
        } else if (BodyRoom() == 0) {
          Truncate();
        }
        break;
      }
      case ChunkState::kDone:
        state_ = State::kDone;
        break;
    }
  }
  chunked_raw_ += used;
  if (state_ == State::kBody && chunked_raw_ >= max_chunked_raw_) Truncate();
  return used;
}

}  // namespace maglev
