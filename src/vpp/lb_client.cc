#include "vpp/lb_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace maglev {
namespace {

namespace m = vppmsg;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The messages each API level needs (request and reply/details).
constexpr std::string_view kCoreMessages[] = {
    m::ControlPing::kNameCrc,
    m::ControlPingReply::kNameCrc,
    m::ShowVersion::kNameCrc,
    m::ShowVersionReply::kNameCrc,
};
constexpr std::string_view kLegacyLbMessages[] = {
    m::LbConf::kNameCrc,           m::LbConfReply::kNameCrc,     m::LbAddDelVip::kNameCrc,
    m::LbAddDelVipReply::kNameCrc, m::LbAddDelAs::kNameCrc,      m::LbAddDelAsReply::kNameCrc,
    m::LbFlushVip::kNameCrc,       m::LbFlushVipReply::kNameCrc, m::LbVipDump::kNameCrc,
    m::LbVipDetails::kNameCrc,     m::LbAsDump::kNameCrc,        m::LbAsDetails::kNameCrc,
};
constexpr std::string_view kConfGetMessages[] = {
    m::LbConfGet::kNameCrc,
    m::LbConfGetReply::kNameCrc,
};
constexpr std::string_view kWeightMessages[] = {
    m::LbAddDelVipV2::kNameCrc, m::LbAddDelVipV2Reply::kNameCrc,
    m::LbAddDelAsV2::kNameCrc,  m::LbAddDelAsV2Reply::kNameCrc,
    m::LbAsSetWeight::kNameCrc, m::LbAsSetWeightReply::kNameCrc,
    m::LbAsV2Dump::kNameCrc,    m::LbAsV2Details::kNameCrc,
};

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

m::Prefix WirePrefix(const VipKey& k) { return m::Prefix{k.address, k.prefix_len}; }

absl::Status ValidateKey(const VipKey& key) {
  if (!key.IsValid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("VIP ", key.ToString(), ": prefix length ", key.prefix_len, " out of range"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWeight(uint8_t weight) {
  if (weight > 100) {
    return absl::InvalidArgumentError(absl::StrCat("AS weight ", weight, " out of range 0..100"));
  }
  return absl::OkStatus();
}

template <typename Rep>
absl::StatusOr<int32_t> ReadRetval(const std::vector<uint8_t>& payload) {
  MAGLEV_ASSIGN_OR_RETURN(Rep rep, m::Decode<Rep>(payload));
  return rep.retval;
}

// The VIP selector of a request, from a normalized key.
template <typename Req>
Req Selecting(const VipKey& k) {
  Req req;
  static_cast<m::LbVip&>(req) = m::LbVip{WirePrefix(k), k.protocol, k.port};
  return req;
}

VipKey KeyFromWire(const m::LbVip& v) {
  VipKey k;
  k.address = v.pfx.address;
  k.prefix_len = v.pfx.len;
  k.protocol = v.protocol;
  k.port = v.port;
  return k;
}

}  // namespace

void VppApiCounters::Record(std::string_view message, bool error) {
  total_calls_.fetch_add(1, std::memory_order_relaxed);
  if (error) total_errors_.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(mu_);
  auto it = by_message_.find(message);
  if (it == by_message_.end()) it = by_message_.emplace(std::string(message), Entry{}).first;
  ++it->second.calls;
  if (error) ++it->second.errors;
}

std::map<std::string, VppApiCounters::Entry> VppApiCounters::Snapshot() const {
  MutexLock lock(mu_);
  return {by_message_.begin(), by_message_.end()};
}

LbClient::LbClient(std::string client_name)
    : transport_(VppTransportOptions{.client_name = std::move(client_name)}) {}

LbClient::~LbClient() { Close(); }

absl::Status LbClient::Connect(const std::string& socket_path, std::chrono::milliseconds timeout) {
  Close();
  transport_.set_timeout(timeout);
  MAGLEV_RETURN_IF_ERROR(transport_.Connect(socket_path, kCoreMessages));

  auto has = [&](std::string_view n) { return transport_.HasMessage(n); };
  std::vector<std::string_view> needed(std::begin(kLegacyLbMessages), std::end(kLegacyLbMessages));
  LbApiLevel level;
  if (has(m::LbAsSetWeight::kNameCrc)) {
    level = LbApiLevel::kWeights;
    needed.insert(needed.end(), std::begin(kConfGetMessages), std::end(kConfGetMessages));
    needed.insert(needed.end(), std::begin(kWeightMessages), std::end(kWeightMessages));
  } else if (has(m::LbConfGet::kNameCrc)) {
    level = LbApiLevel::kNoWeights;
    needed.insert(needed.end(), std::begin(kConfGetMessages), std::end(kConfGetMessages));
  } else if (has(m::LbAddDelVip::kNameCrc)) {
    level = LbApiLevel::kLegacy;
  } else {
    transport_.Abort();
    return absl::FailedPreconditionError(absl::StrCat(
        "VPP at ", socket_path, " offers no lb plugin API (", m::Sv(m::LbAddDelVip::kNameCrc),
        " is not in its message table): is the lb plugin loaded?"));
  }
  std::vector<std::string_view> missing;
  for (std::string_view n : needed) {
    if (!has(n)) missing.push_back(n);
  }
  if (!missing.empty()) {
    transport_.Abort();
    return absl::FailedPreconditionError(
        absl::StrCat("VPP at ", socket_path, " (lb API level ", m::Sv(LbApiLevelName(level)),
                     ") lacks required message(s) ",
                     absl::StrJoin(missing, ", ", [](std::string* out, std::string_view s) {
                       out->append(s.data(), s.size());
                     })));
  }
  level_ = level;
  has_vip_v2_ = has(m::LbAddDelVipV2::kNameCrc) && has(m::LbAddDelVipV2Reply::kNameCrc);
  has_cli_ = has(m::CliInband::kNameCrc) && has(m::CliInbandReply::kNameCrc);
  has_route_lookup_ = has(m::IpRouteLookup::kNameCrc) && has(m::IpRouteLookupReply::kNameCrc);
  return absl::OkStatus();
}

void LbClient::Close() {
  if (transport_.connected()) (void)transport_.Close();
  level_ = LbApiLevel::kNone;
}

absl::Status LbClient::NotConnected() const {
  return absl::UnavailableError("not connected to VPP");
}

template <typename Rep, typename Req>
absl::StatusOr<Rep> LbClient::CountedCall(const Req& req) {
  auto rep = transport_.Call<Rep>(req);
  absl::Status s = rep.ok() ? VppRetvalStatus(Req::kName, rep->retval) : rep.status();
  counters_.Record(Req::kName, !s.ok());
  if (!s.ok()) return s;
  return rep;
}

template <typename Det, typename Req>
absl::StatusOr<std::vector<Det>> LbClient::CountedDump(const Req& req) {
  auto details = transport_.Dump<Det>(req);
  counters_.Record(Req::kName, !details.ok());
  return details;
}

absl::StatusOr<uint32_t> LbClient::ControlPing() {
  if (!connected()) return NotConnected();
  MAGLEV_ASSIGN_OR_RETURN(auto rep, CountedCall<m::ControlPingReply>(m::ControlPing{}));
  return rep.vpe_pid;
}

absl::StatusOr<VppVersionInfo> LbClient::ShowVersion() {
  if (!connected()) return NotConnected();
  MAGLEV_ASSIGN_OR_RETURN(auto rep, CountedCall<m::ShowVersionReply>(m::ShowVersion{}));
  VppVersionInfo info;
  info.program = rep.program;
  info.version = rep.version;
  info.build_date = rep.build_date;
  info.build_directory = rep.build_directory;
  MAGLEV_ASSIGN_OR_RETURN(info.vpe_pid, ControlPing());
  return info;
}

absl::StatusOr<std::string> LbClient::CliInband(const std::string& command) {
  if (!connected()) return NotConnected();
  if (!has_cli_) {
    return absl::UnimplementedError(
        absl::StrCat("VPP does not offer ", m::Sv(m::CliInband::kNameCrc)));
  }
  m::CliInband req;
  req.cmd = command;
  MAGLEV_ASSIGN_OR_RETURN(auto rep, CountedCall<m::CliInbandReply>(req));
  return rep.reply;
}

absl::StatusOr<uint32_t> LbClient::RouteStatsIndex(const IpAddress& address, uint8_t prefix_len) {
  if (!connected()) return NotConnected();
  if (!has_route_lookup_) {
    return absl::UnimplementedError(
        absl::StrCat("VPP does not offer ", m::Sv(m::IpRouteLookup::kNameCrc)));
  }
  m::IpRouteLookup req;
  req.prefix.address = address;
  req.prefix.len = prefix_len;
  auto rep = transport_.Call<m::IpRouteLookupReply>(req);
  // -6 (VNET_API_ERROR_NO_SUCH_ENTRY) is an answer, not a failure.
  const bool no_route = rep.ok() && rep->retval == -6;
  absl::Status st = !rep.ok()  ? rep.status()
                    : no_route ? absl::OkStatus()
                               : VppRetvalStatus(m::IpRouteLookup::kName, rep->retval);
  counters_.Record(m::IpRouteLookup::kName, !st.ok());
  if (!st.ok()) return st;
  if (no_route) {
    return absl::NotFoundError(
        absl::StrCat("VPP has no route ", address.ToString(), "/", prefix_len));
  }
  return rep->stats_index;
}

absl::StatusOr<LbConf> LbClient::ConfGet() {
  if (!connected()) return NotConnected();
  if (level_ == LbApiLevel::kLegacy) {
    return absl::UnimplementedError("lb_conf_get needs lb API 1.2.0 (this VPP has the legacy API)");
  }
  MAGLEV_ASSIGN_OR_RETURN(auto rep, CountedCall<m::LbConfGetReply>(m::LbConfGet{}));
  LbConf conf;
  conf.ip4_src_address = rep.ip4_src_address;
  conf.ip6_src_address = rep.ip6_src_address;
  conf.sticky_buckets_per_core = rep.sticky_buckets_per_core;
  conf.flow_timeout = rep.flow_timeout;
  return conf;
}

absl::Status LbClient::SetConf(const LbConf& conf) { return RunOne(LbSetConf{conf}); }
absl::Status LbClient::AddVip(const VipSpec& spec) { return RunOne(LbAddVip{spec}); }
absl::Status LbClient::DelVip(const VipKey& key) { return RunOne(LbDelVip{key}); }
absl::Status LbClient::AddAs(const LbAddAs& call) { return RunOne(call); }
absl::Status LbClient::DelAs(const LbDelAs& call) { return RunOne(call); }
absl::Status LbClient::SetAsWeight(const LbSetAsWeight& call) { return RunOne(call); }
absl::Status LbClient::FlushVip(const VipKey& key) { return RunOne(LbFlushVip{key}); }

absl::Status LbClient::RunOne(const LbCall& call) {
  std::vector<absl::Status> results = Execute({call});
  return results.front();
}

absl::StatusOr<std::vector<VipInfo>> LbClient::DumpVips() {
  if (!connected()) return NotConnected();
  // The request's filter fields are ignored by VPP (quirk 1).
  MAGLEV_ASSIGN_OR_RETURN(auto details, CountedDump<m::LbVipDetails>(m::LbVipDump{}));
  std::vector<VipInfo> out;
  out.reserve(details.size());
  for (const auto& d : details) {
    VipInfo v;
    v.key = KeyFromWire(d.vip);
    v.encap = static_cast<LbEncap>(d.encap);
    v.dscp = d.dscp;
    v.srv_type = static_cast<uint32_t>(d.srv_type);
    v.target_port = d.target_port;
    v.flow_table_length_low16 = d.flow_table_length;
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<AsInfo>> LbClient::DumpAllAses() {
  if (!connected()) return NotConnected();
  // An all-zero address in the filter means "every VIP" (quirk 2); the
  // filter itself is unusable for IPv4 VIPs, so it is never used.
  auto dump = [&]<typename Req>(const Req& req) -> absl::StatusOr<std::vector<AsInfo>> {
    MAGLEV_ASSIGN_OR_RETURN(auto details, CountedDump<typename Req::Details>(req));
    std::vector<AsInfo> out;
    out.reserve(details.size());
    for (const auto& d : details) {
      AsInfo a;
      a.vip = KeyFromWire(d.vip);
      a.address = d.app_srv;
      a.flags = d.flags;
      a.in_use_since = d.in_use_since;
      if constexpr (requires { d.weight; }) {
        a.weight = d.weight;
        a.num_buckets = d.num_buckets;
      }
      out.push_back(a);
    }
    return out;
  };
  if (level_ == LbApiLevel::kWeights) return dump(m::LbAsV2Dump{});
  return dump(m::LbAsDump{});
}

absl::StatusOr<std::vector<AsInfo>> LbClient::DumpAses(const VipKey& vip) {
  MAGLEV_ASSIGN_OR_RETURN(auto all, DumpAllAses());
  VipKey want = vip.Normalized();
  std::vector<AsInfo> out;
  for (auto& a : all) {
    if (a.vip.Normalized() == want) out.push_back(std::move(a));
  }
  return out;
}

template <typename Req>
absl::StatusOr<LbClient::Prepared> LbClient::PrepareTyped(const Req& req) {
  using Rep = typename Req::Reply;
  MAGLEV_ASSIGN_OR_RETURN(VppRawCall raw, transport_.PrepareCall<Rep>(req));
  return Prepared{std::move(raw), &ReadRetval<Rep>};
}

template <typename V1, typename V2, typename Fill>
absl::StatusOr<LbClient::Prepared> LbClient::PrepareEither(bool v2, const VipKey& key, Fill fill) {
  VipKey k = key.Normalized();
  auto run = [&](auto req) {
    fill(req);
    return PrepareTyped(req);
  };
  return v2 ? run(Selecting<V2>(k)) : run(Selecting<V1>(k));
}

absl::StatusOr<LbClient::Prepared> LbClient::Prepare(const LbCall& call) {
  const bool weights = level_ == LbApiLevel::kWeights;
  // Each call kind is filled once, into whichever of its v1/v2 messages this
  // VPP takes; `if constexpr` covers the fields only one of them has.
  return std::visit(
      Overloaded{
          [&](const LbAddVip& c) -> absl::StatusOr<Prepared> {
            const VipSpec& s = c.spec;
            MAGLEV_RETURN_IF_ERROR(ValidateKey(s.key));
            // 0 passes VPP's check and makes it allocate a 2^32-entry table.
            if (!IsPowerOfTwo(s.new_flows_table_length)) {
              return absl::InvalidArgumentError(
                  absl::StrCat("VIP ", s.key.ToString(), ": new_flows_table_length ",
                               s.new_flows_table_length, " is not a power of two"));
            }
            if (static_cast<uint32_t>(s.encap) > static_cast<uint32_t>(LbEncap::kNat6)) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "VIP ", s.key.ToString(), ": unknown encap ", static_cast<uint32_t>(s.encap)));
            }
            if (!has_vip_v2_ && s.src_ip_sticky) {
              return absl::UnimplementedError(
                  "src_ip_sticky needs lb_add_del_vip_v2, which this VPP does not offer");
            }
            return PrepareEither<m::LbAddDelVip, m::LbAddDelVipV2>(
                has_vip_v2_, s.key, [&](auto& req) {
                  req.encap = static_cast<m::EncapType>(s.encap);
                  req.dscp = s.dscp;
                  req.new_flows_table_length = s.new_flows_table_length;
                  if constexpr (requires { req.src_ip_sticky; }) {
                    req.src_ip_sticky = s.src_ip_sticky;
                  }
                });
          },
          [&](const LbDelVip& c) -> absl::StatusOr<Prepared> {
            MAGLEV_RETURN_IF_ERROR(ValidateKey(c.key));
            return PrepareEither<m::LbAddDelVip, m::LbAddDelVipV2>(
                has_vip_v2_, c.key, [&](auto& req) {
                  // A delete ignores the table length, but 0 is never put on
                  // the wire (PROTOCOL.md §8).
                  req.new_flows_table_length = 1024;
                  req.is_del = true;
                });
          },
          [&](const LbAddAs& c) -> absl::StatusOr<Prepared> {
            MAGLEV_RETURN_IF_ERROR(ValidateKey(c.vip));
            MAGLEV_RETURN_IF_ERROR(ValidateWeight(c.weight));
            return PrepareEither<m::LbAddDelAs, m::LbAddDelAsV2>(weights, c.vip, [&](auto& req) {
              req.as_address = c.address;
              if constexpr (requires { req.weight; }) req.weight = c.weight;
              req.is_flush = c.flush;
            });
          },
          [&](const LbDelAs& c) -> absl::StatusOr<Prepared> {
            MAGLEV_RETURN_IF_ERROR(ValidateKey(c.vip));
            return PrepareEither<m::LbAddDelAs, m::LbAddDelAsV2>(weights, c.vip, [&](auto& req) {
              req.as_address = c.address;
              req.is_del = true;
              req.is_flush = c.flush;
            });
          },
          [&](const LbSetAsWeight& c) -> absl::StatusOr<Prepared> {
            if (!weights) {
              return absl::UnimplementedError(
                  absl::StrCat("lb_as_set_weight needs lb API 1.2.0 with weights (this VPP: ",
                               m::Sv(LbApiLevelName(level_)), ")"));
            }
            MAGLEV_RETURN_IF_ERROR(ValidateKey(c.vip));
            MAGLEV_RETURN_IF_ERROR(ValidateWeight(c.weight));
            auto req = Selecting<m::LbAsSetWeight>(c.vip.Normalized());
            req.as_address = c.address;
            req.weight = c.weight;
            req.is_flush = c.flush;
            return PrepareTyped(req);
          },
          [&](const LbFlushVip& c) -> absl::StatusOr<Prepared> {
            MAGLEV_RETURN_IF_ERROR(ValidateKey(c.key));
            return PrepareTyped(Selecting<m::LbFlushVip>(c.key.Normalized()));
          },
          [&](const LbSetConf& c) -> absl::StatusOr<Prepared> {
            const LbConf& conf = c.conf;
            if (!conf.ip4_src_address.is_v4() || !conf.ip6_src_address.is_v6()) {
              return absl::InvalidArgumentError(
                  "lb_conf: ip4_src_address must be IPv4 and ip6_src_address IPv6");
            }
            if (conf.sticky_buckets_per_core != 0xffffffff &&
                !IsPowerOfTwo(conf.sticky_buckets_per_core)) {
              return absl::InvalidArgumentError(absl::StrCat("lb_conf: sticky_buckets_per_core ",
                                                             conf.sticky_buckets_per_core,
                                                             " is not a power of two"));
            }
            m::LbConf req;
            req.ip4_src_address = conf.ip4_src_address;
            req.ip6_src_address = conf.ip6_src_address;
            req.sticky_buckets_per_core = conf.sticky_buckets_per_core;
            req.flow_timeout = conf.flow_timeout;
            return PrepareTyped(req);
          },
      },
      call);
}

std::vector<absl::Status> LbClient::Execute(const std::vector<LbCall>& calls) {
  std::vector<absl::Status> results(calls.size());
  if (!connected()) {
    for (auto& r : results) r = NotConnected();
    return results;
  }
  std::vector<VppRawCall> raws;
  std::vector<absl::StatusOr<int32_t> (*)(const std::vector<uint8_t>&)> readers;
  std::vector<size_t> index;  // raws[i] answers calls[index[i]]
  raws.reserve(calls.size());
  readers.reserve(calls.size());
  index.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    auto p = Prepare(calls[i]);
    if (!p.ok()) {
      // Refused before reaching the wire: not an API call.
      results[i] = p.status();
      continue;
    }
    raws.push_back(std::move(p->raw));
    readers.push_back(p->retval);
    index.push_back(i);
  }
  if (raws.empty()) return results;
  // Per-call statuses carry every error, including a transport failure.
  (void)transport_.Execute(std::span<VppRawCall>(raws));
  for (size_t i = 0; i < raws.size(); ++i) {
    VppRawCall& raw = raws[i];
    absl::Status s = raw.status;
    if (s.ok()) {
      auto retval = readers[i](raw.responses.front());
      s = retval.ok() ? VppRetvalStatus(raw.name, *retval) : retval.status();
    }
    counters_.Record(raw.name, !s.ok());
    results[index[i]] = std::move(s);
  }
  return results;
}

}  // namespace maglev
