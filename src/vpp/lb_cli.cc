// SPDX-License-Identifier: Apache-2.0
#include "vpp/lb_cli.h"

#include <charconv>

namespace maglev {
namespace {

constexpr std::string_view kCounterNames[4] = {"packet from existing sessions",
                                               "first session packet", "untracked packet",
                                               "no server configured"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool Num(std::string_view s, T* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "key:value" fields of a line, separated by spaces.
std::optional<std::string_view> Field(std::string_view line, std::string_view key) {
  size_t pos = 0;
  while ((pos = line.find(key, pos)) != std::string_view::npos) {
    if ((pos == 0 || line[pos - 1] == ' ') && pos + key.size() < line.size() &&
        line[pos + key.size()] == ':') {
      std::string_view rest = line.substr(pos + key.size() + 1);
      return rest.substr(0, rest.find(' '));
    }
    pos += key.size();
  }
  return std::nullopt;
}

}  // namespace

std::vector<LbCliVip> ParseShowLbVipsVerbose(std::string_view text) {
  std::vector<LbCliVip> out;
  LbCliVip* vip = nullptr;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view line = Trim(raw);
    if (line.empty()) continue;
    // A VIP block: " <type> [<index>] <prefix>[ src_ip_sticky][ removed]".
    const size_t open = line.find(" [");
    const size_t close = line.find("] ");
    if (open != std::string_view::npos && close != std::string_view::npos && open < close &&
        line.find(' ') == open) {
      LbCliVip v;
      v.type = std::string(line.substr(0, open));
      std::string_view rest = line.substr(close + 2);
      const size_t sp = rest.find(' ');
      const std::string_view prefix = rest.substr(0, sp);
      const std::string_view flags = sp == std::string_view::npos ? "" : rest.substr(sp);
      const size_t slash = prefix.find('/');
      std::optional<IpAddress> addr = IpAddress::Parse(prefix.substr(0, slash));
      unsigned plen = 0;
      if (!Num(line.substr(open + 2, close - open - 2), &v.index) || !addr ||
          slash == std::string_view::npos || !Num(prefix.substr(slash + 1), &plen) || plen > 128) {
        vip = nullptr;
        continue;
      }
      v.prefix = *addr;
      v.plen = static_cast<uint8_t>(plen);
      v.src_ip_sticky = flags.find(" src_ip_sticky") != std::string_view::npos;
      v.removed = flags.find(" removed") != std::string_view::npos;
      out.push_back(std::move(v));
      vip = &out.back();
      continue;
    }
    if (vip == nullptr) continue;
    if (auto proto = Field(line, "protocol"); proto && line.rfind("protocol:", 0) == 0) {
      unsigned p = 0, port = 0;
      auto port_text = Field(line, "port");
      if (Num(*proto, &p) && port_text && Num(*port_text, &port) && p <= 255 && port <= 65535) {
        vip->protocol = static_cast<uint8_t>(p);
        vip->port = static_cast<uint16_t>(port);
      }
      continue;
    }
    bool counter = false;
    for (size_t c = 0; c < 4; ++c) {
      if (line.rfind(kCounterNames[c], 0) == 0 && line.size() > kCounterNames[c].size() + 1 &&
          line[kCounterNames[c].size()] == ':') {
        Num(Trim(line.substr(kCounterNames[c].size() + 1)), &vip->counters[c]);
        counter = true;
      }
    }
    if (counter) continue;
    // An AS: "<address> weight:W buckets:B flows:F dpo:D used|removed".
    if (auto weight = Field(line, "weight")) {
      LbCliAs as;
      std::optional<IpAddress> a = IpAddress::Parse(line.substr(0, line.find(' ')));
      if (!a) continue;
      as.address = *a;
      Num(*weight, &as.weight);
      if (auto b = Field(line, "buckets")) Num(*b, &as.buckets);
      if (auto f = Field(line, "flows")) Num(*f, &as.flows);
      if (auto d = Field(line, "dpo")) Num(*d, &as.dpo);
      as.used = line.size() >= 5 && line.substr(line.size() - 5) == " used";
      vip->ases.push_back(as);
    }
  }
  return out;
}

}  // namespace maglev
