// maglev-test-lbctl: an independent VPP lb API client for the dataplane
// integration tests. It changes VPP's (or maglev-vppsim's) state behind
// maglevd's back and reads it back as JSON, through LbClient on its own
// connection (client name "maglev-test-lbctl"). Single-threaded, one command
// per run.
//
//   maglev-test-lbctl SOCKET dump
//   maglev-test-lbctl SOCKET add-vip VIP [gre4|gre6] [table N] [sticky]
//   maglev-test-lbctl SOCKET del-vip VIP
//   maglev-test-lbctl SOCKET add-as VIP AS WEIGHT
//   maglev-test-lbctl SOCKET set-weight VIP AS WEIGHT [flush]
//   maglev-test-lbctl SOCKET del-as VIP AS [flush]
//   maglev-test-lbctl SOCKET set-conf IP4 IP6 STICKY_BUCKETS FLOW_TIMEOUT
//   maglev-test-lbctl SOCKET batch "CMD ARGS..." "CMD ARGS..." ...
//   maglev-test-lbctl SOCKET cli COMMAND...
//
// VIP is ADDR[/LEN],PROTO,PORT with PROTO tcp, udp, any or a number, e.g.
// "192.0.2.80,tcp,80" or "2001:db8::1/128,any,0". Every command prints one
// JSON object on stdout: {"ok":true,...} (exit 0) or {"ok":false,"error":...}
// (exit 1; exit 2 for bad usage). `batch` sends its mutating commands
// pipelined on one connection (VPP runs them in order, back to back) and
// answers {"ok":all ok,"results":[...]}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "vpp/lb_api.h"
#include "vpp/lb_client.h"

namespace maglev {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

int Fail(const std::string& error, int code = 1) {
  std::cout << "{\"ok\":false,\"error\":" << JsonString(error) << "}\n";
  return code;
}

int Usage(const std::string& why) { return Fail("usage: " + why, 2); }

std::optional<uint8_t> ParseProtocol(const std::string& s) {
  if (s == "tcp") return kLbProtoTcp;
  if (s == "udp") return kLbProtoUdp;
  if (s == "any") return kLbProtoAny;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || v < 0 || v > 255) return std::nullopt;
  return static_cast<uint8_t>(v);
}

std::optional<long> ParseNumber(const std::string& s, long lo, long hi) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || v < lo || v > hi) return std::nullopt;
  return v;
}

// "ADDR[/LEN],PROTO,PORT"
std::optional<VipKey> ParseVip(const std::string& text) {
  size_t c1 = text.find(',');
  if (c1 == std::string::npos) return std::nullopt;
  size_t c2 = text.find(',', c1 + 1);
  if (c2 == std::string::npos) return std::nullopt;
  std::string prefix = text.substr(0, c1);
  std::string proto = text.substr(c1 + 1, c2 - c1 - 1);
  std::string port = text.substr(c2 + 1);
  std::optional<long> len;
  if (size_t slash = prefix.find('/'); slash != std::string::npos) {
    len = ParseNumber(prefix.substr(slash + 1), 0, 128);
    if (!len) return std::nullopt;
    prefix = prefix.substr(0, slash);
  }
  auto addr = IpAddress::Parse(prefix);
  auto p = ParseProtocol(proto);
  auto n = ParseNumber(port, 0, 65535);
  if (!addr || !p || !n) return std::nullopt;
  VipKey key;
  key.address = *addr;
  key.prefix_len = static_cast<uint8_t>(len ? *len : (addr->is_v6() ? 128 : 32));
  key.protocol = *p;
  key.port = static_cast<uint16_t>(*n);
  if (!key.IsValid()) return std::nullopt;
  return key.Normalized();
}

std::string VipJsonFields(const VipKey& key) {
  return "\"vip\":" + JsonString(key.address.ToString() + "/" + std::to_string(key.prefix_len)) +
         ",\"protocol\":" + std::to_string(key.protocol) + ",\"port\":" + std::to_string(key.port);
}

std::string AsJson(const AsInfo& a) {
  std::string out = "{\"address\":" + JsonString(a.address.ToString()) +
                    ",\"flags\":" + std::to_string(a.flags) +
                    ",\"active\":" + (a.active() ? "true" : "false");
  if (a.weight) out += ",\"weight\":" + std::to_string(*a.weight);
  if (a.num_buckets) out += ",\"num_buckets\":" + std::to_string(*a.num_buckets);
  return out + "}";
}

int Dump(LbClient& client) {
  std::string out =
      "{\"ok\":true,\"lb_api\":" + JsonString(std::string(LbApiLevelName(client.api_level())));
  if (client.api_level() != LbApiLevel::kLegacy) {
    auto conf = client.ConfGet();
    if (!conf.ok()) return Fail(std::string(conf.status().message()));
    out += ",\"conf\":{\"ip4_src_address\":" + JsonString(conf->ip4_src_address.ToString()) +
           ",\"ip6_src_address\":" + JsonString(conf->ip6_src_address.ToString()) +
           ",\"sticky_buckets_per_core\":" + std::to_string(conf->sticky_buckets_per_core) +
           ",\"flow_timeout\":" + std::to_string(conf->flow_timeout) + "}";
  }
  auto vips = client.DumpVips();
  if (!vips.ok()) return Fail(std::string(vips.status().message()));
  auto ases = client.DumpAllAses();
  if (!ases.ok()) return Fail(std::string(ases.status().message()));
  std::map<VipKey, std::vector<const AsInfo*>> by_vip;
  for (const AsInfo& a : *ases) by_vip[a.vip.Normalized()].push_back(&a);
  out += ",\"vips\":[";
  bool first = true;
  for (const VipInfo& v : *vips) {
    VipKey key = v.key.Normalized();
    out += first ? "" : ",";
    first = false;
    out +=
        "{" + VipJsonFields(key) + ",\"encap\":" + JsonString(std::string(LbEncapName(v.encap))) +
        ",\"flow_table_length_low16\":" + std::to_string(v.flow_table_length_low16) + ",\"ases\":[";
    bool first_as = true;
    for (const AsInfo* a : by_vip[key]) {
      out += first_as ? "" : ",";
      first_as = false;
      out += AsJson(*a);
    }
    out += "]}";
    by_vip.erase(key);
  }
  // ASes still attached to VIPs that were deleted and await VPP's GC.
  out += "],\"orphan_ases\":[";
  first = true;
  for (const auto& [key, list] : by_vip) {
    for (const AsInfo* a : list) {
      out += first ? "" : ",";
      first = false;
      std::string as = AsJson(*a);
      out += "{" + VipJsonFields(key) + "," + as.substr(1);
    }
  }
  out += "]}\n";
  std::cout << out;
  return 0;
}

std::string StatusJson(const absl::Status& st) {
  if (st.ok()) return "{\"ok\":true}";
  std::string extra;
  if (auto rv = VppRetvalOf(st)) extra = ",\"retval\":" + std::to_string(*rv);
  return "{\"ok\":false,\"error\":" + JsonString(std::string(st.message())) + extra + "}";
}

// One mutating command (add-vip, del-vip, add-as, set-weight, del-as,
// set-conf) as an LbCall; the error string is the usage problem.
absl::StatusOr<LbCall> ParseCall(const std::string& cmd, const std::vector<std::string>& args) {
  auto bad = [](const std::string& why) { return absl::InvalidArgumentError(why); };
  if (cmd == "set-conf") {
    if (args.size() != 4) return bad("set-conf IP4 IP6 STICKY_BUCKETS FLOW_TIMEOUT");
    auto ip4 = IpAddress::Parse(args[0]);
    auto ip6 = IpAddress::Parse(args[1]);
    auto buckets = ParseNumber(args[2], 0, 0xffffffffL);
    auto timeout = ParseNumber(args[3], 0, 0xffffffffL);
    if (!ip4 || ip4->is_v6() || !ip6 || !ip6->is_v6() || !buckets || !timeout) {
      return bad("set-conf IP4 IP6 STICKY_BUCKETS FLOW_TIMEOUT");
    }
    LbConf conf;
    conf.ip4_src_address = *ip4;
    conf.ip6_src_address = *ip6;
    conf.sticky_buckets_per_core = static_cast<uint32_t>(*buckets);
    conf.flow_timeout = static_cast<uint32_t>(*timeout);
    return LbCall{LbSetConf{conf}};
  }
  if (cmd != "add-vip" && cmd != "del-vip" && cmd != "add-as" && cmd != "set-weight" &&
      cmd != "del-as") {
    return bad("unknown command " + cmd);
  }
  if (args.empty()) return bad(cmd + " VIP ...");
  auto vip = ParseVip(args[0]);
  if (!vip) return bad("bad VIP " + args[0] + " (want ADDR[/LEN],PROTO,PORT)");
  if (cmd == "add-vip") {
    VipSpec spec;
    spec.key = *vip;
    spec.encap = vip->address.is_v6() ? LbEncap::kGre6 : LbEncap::kGre4;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "gre4") {
        spec.encap = LbEncap::kGre4;
      } else if (args[i] == "gre6") {
        spec.encap = LbEncap::kGre6;
      } else if (args[i] == "sticky") {
        spec.src_ip_sticky = true;
      } else if (args[i] == "table" && i + 1 < args.size()) {
        auto n = ParseNumber(args[++i], 1, 1L << 30);
        if (!n) return bad("bad table length");
        spec.new_flows_table_length = static_cast<uint32_t>(*n);
      } else {
        return bad("add-vip VIP [gre4|gre6] [table N] [sticky]");
      }
    }
    return LbCall{LbAddVip{spec}};
  }
  if (cmd == "del-vip") return LbCall{LbDelVip{*vip}};
  if (args.size() < 2) return bad(cmd + " VIP AS ...");
  auto as = IpAddress::Parse(args[1]);
  if (!as) return bad("bad AS address " + args[1]);
  bool flush = args.size() >= 3 && args.back() == "flush";
  if (cmd == "del-as") return LbCall{LbDelAs{*vip, *as, flush}};
  if (args.size() < 3) return bad(cmd + " VIP AS WEIGHT");
  auto w = ParseNumber(args[2], 0, 100);
  if (!w) return bad("bad weight " + args[2]);
  if (cmd == "add-as") return LbCall{LbAddAs{*vip, *as, static_cast<uint8_t>(*w)}};
  return LbCall{LbSetAsWeight{*vip, *as, static_cast<uint8_t>(*w), flush}};
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string::npos) break;
    size_t end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    pos = end;
  }
  return out;
}

int Run(int argc, char** argv) {
  if (argc < 3) {
    return Usage(
        "maglev-test-lbctl SOCKET dump|add-vip|del-vip|add-as|set-weight|del-as|set-conf|batch|cli "
        "...");
  }
  const std::string socket = argv[1];
  const std::string cmd = argv[2];
  std::vector<std::string> args(argv + 3, argv + argc);

  // Parse everything before connecting: bad usage never reaches VPP.
  std::vector<LbCall> calls;
  if (cmd == "batch") {
    for (const std::string& line : args) {
      std::vector<std::string> words = Split(line);
      if (words.empty()) return Usage("batch: empty command");
      auto call = ParseCall(words[0], std::vector<std::string>(words.begin() + 1, words.end()));
      if (!call.ok()) return Usage(std::string(call.status().message()));
      calls.push_back(*call);
    }
  } else if (cmd != "dump" && cmd != "cli") {
    auto call = ParseCall(cmd, args);
    if (!call.ok()) return Usage(std::string(call.status().message()));
    calls.push_back(*call);
  }

  LbClient client("maglev-test-lbctl");
  absl::Status st = client.Connect(socket, std::chrono::seconds(5));
  if (!st.ok()) return Fail("connect: " + std::string(st.message()));

  if (cmd == "dump") return Dump(client);
  if (cmd == "cli") {
    std::string line;
    for (const std::string& a : args) line += (line.empty() ? "" : " ") + a;
    auto out = client.CliInband(line);
    if (!out.ok()) return Fail(std::string(out.status().message()));
    std::cout << "{\"ok\":true,\"output\":" << JsonString(*out) << "}\n";
    return 0;
  }
  // All calls pipelined on this one connection, executed by VPP in order.
  std::vector<absl::Status> results = client.Execute(calls);
  if (cmd != "batch") {
    std::cout << StatusJson(results.front()) << "\n";
    return results.front().ok() ? 0 : 1;
  }
  bool all_ok = true;
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    all_ok = all_ok && results[i].ok();
    out += (i ? "," : "") + StatusJson(results[i]);
  }
  std::cout << "{\"ok\":" << (all_ok ? "true" : "false") << "," << out.substr(1) << "]}\n";
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace maglev

int main(int argc, char** argv) { return maglev::Run(argc, argv); }
