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
  ASSIGN_OR_RETURN(Rep rep, m::Decode<Rep>(payload));
  return rep.retval;
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
  RETURN_IF_ERROR(transport_.Connect(socket_path, kCoreMessages));

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
  ASSIGN_OR_RETURN(auto rep, CountedCall<m::ControlPingReply>(m::ControlPing{}));
  return rep.vpe_pid;
}

absl::StatusOr<VppVersionInfo> LbClient::ShowVersion() {
  if (!connected()) return NotConnected();
  ASSIGN_OR_RETURN(auto rep, CountedCall<m::ShowVersionReply>(m::ShowVersion{}));
  VppVersionInfo info;
  info.program = rep.program;
  info.version = rep.version;
  info.build_date = rep.build_date;
  info.build_directory = rep.build_directory;
  ASSIGN_OR_RETURN(info.vpe_pid, ControlPing());
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
  ASSIGN_OR_RETURN(auto rep, CountedCall<m::CliInbandReply>(req));
  return rep.reply;
}

absl::StatusOr<LbConf> LbClient::ConfGet() {
  if (!connected()) return NotConnected();
  if (level_ == LbApiLevel::kLegacy) {
    return absl::UnimplementedError("lb_conf_get needs lb API 1.2.0 (this VPP has the legacy API)");
  }
  ASSIGN_OR_RETURN(auto rep, CountedCall<m::LbConfGetReply>(m::LbConfGet{}));
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
  ASSIGN_OR_RETURN(auto details, CountedDump<m::LbVipDetails>(m::LbVipDump{}));
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
  std::vector<AsInfo> out;
  if (level_ == LbApiLevel::kWeights) {
    ASSIGN_OR_RETURN(auto details, CountedDump<m::LbAsV2Details>(m::LbAsV2Dump{}));
    out.reserve(details.size());
    for (const auto& d : details) {
      AsInfo a;
      a.vip = KeyFromWire(d.vip);
      a.address = d.app_srv;
      a.flags = d.flags;
      a.in_use_since = d.in_use_since;
      a.weight = d.weight;
      a.num_buckets = d.num_buckets;
      out.push_back(a);
    }
  } else {
    ASSIGN_OR_RETURN(auto details, CountedDump<m::LbAsDetails>(m::LbAsDump{}));
    out.reserve(details.size());
    for (const auto& d : details) {
      AsInfo a;
      a.vip = KeyFromWire(d.vip);
      a.address = d.app_srv;
      a.flags = d.flags;
      a.in_use_since = d.in_use_since;
      out.push_back(a);
    }
  }
  return out;
}

absl::StatusOr<std::vector<AsInfo>> LbClient::DumpAses(const VipKey& vip) {
  ASSIGN_OR_RETURN(auto all, DumpAllAses());
  VipKey want = vip.Normalized();
  std::vector<AsInfo> out;
  for (auto& a : all) {
    if (a.vip.Normalized() == want) out.push_back(std::move(a));
  }
  return out;
}

template <typename Req, typename Rep>
absl::StatusOr<LbClient::Prepared> LbClient::PrepareTyped(const Req& req) {
  ASSIGN_OR_RETURN(VppRawCall raw, transport_.PrepareCall<Rep>(req));
  return Prepared{std::move(raw), &ReadRetval<Rep>};
}

absl::StatusOr<LbClient::Prepared> LbClient::Prepare(const LbCall& call) {
  const bool weights = level_ == LbApiLevel::kWeights;
  return std::visit(
      Overloaded{
          [&](const LbAddVip& c) -> absl::StatusOr<Prepared> {
            const VipSpec& s = c.spec;
            RETURN_IF_ERROR(ValidateKey(s.key));
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
            VipKey k = s.key.Normalized();
            if (has_vip_v2_) {
              m::LbAddDelVipV2 req;
              req.pfx = WirePrefix(k);
              req.protocol = k.protocol;
              req.port = k.port;
              req.encap = static_cast<m::EncapType>(s.encap);
              req.dscp = s.dscp;
              req.new_flows_table_length = s.new_flows_table_length;
              req.src_ip_sticky = s.src_ip_sticky;
              return PrepareTyped<m::LbAddDelVipV2, m::LbAddDelVipV2Reply>(req);
            }
            if (s.src_ip_sticky) {
              return absl::UnimplementedError(
                  "src_ip_sticky needs lb_add_del_vip_v2, which this VPP does not offer");
            }
            m::LbAddDelVip req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            req.encap = static_cast<m::EncapType>(s.encap);
            req.dscp = s.dscp;
            req.new_flows_table_length = s.new_flows_table_length;
            return PrepareTyped<m::LbAddDelVip, m::LbAddDelVipReply>(req);
          },
          [&](const LbDelVip& c) -> absl::StatusOr<Prepared> {
            RETURN_IF_ERROR(ValidateKey(c.key));
            VipKey k = c.key.Normalized();
            // A delete ignores the table length, but 0 is never put on the
            // wire (PROTOCOL.md §8).
            constexpr uint32_t kHarmlessLength = 1024;
            if (has_vip_v2_) {
              m::LbAddDelVipV2 req;
              req.pfx = WirePrefix(k);
              req.protocol = k.protocol;
              req.port = k.port;
              req.new_flows_table_length = kHarmlessLength;
              req.is_del = true;
              return PrepareTyped<m::LbAddDelVipV2, m::LbAddDelVipV2Reply>(req);
            }
            m::LbAddDelVip req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            req.new_flows_table_length = kHarmlessLength;
            req.is_del = true;
            return PrepareTyped<m::LbAddDelVip, m::LbAddDelVipReply>(req);
          },
          [&](const LbAddAs& c) -> absl::StatusOr<Prepared> {
            RETURN_IF_ERROR(ValidateKey(c.vip));
            RETURN_IF_ERROR(ValidateWeight(c.weight));
            VipKey k = c.vip.Normalized();
            if (weights) {
              m::LbAddDelAsV2 req;
              req.pfx = WirePrefix(k);
              req.protocol = k.protocol;
              req.port = k.port;
              req.as_address = c.address;
              req.weight = c.weight;
              req.is_flush = c.flush;
              return PrepareTyped<m::LbAddDelAsV2, m::LbAddDelAsV2Reply>(req);
            }
            m::LbAddDelAs req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            req.as_address = c.address;
            req.is_flush = c.flush;
            return PrepareTyped<m::LbAddDelAs, m::LbAddDelAsReply>(req);
          },
          [&](const LbDelAs& c) -> absl::StatusOr<Prepared> {
            RETURN_IF_ERROR(ValidateKey(c.vip));
            VipKey k = c.vip.Normalized();
            if (weights) {
              m::LbAddDelAsV2 req;
              req.pfx = WirePrefix(k);
              req.protocol = k.protocol;
              req.port = k.port;
              req.as_address = c.address;
              req.is_del = true;
              req.is_flush = c.flush;
              return PrepareTyped<m::LbAddDelAsV2, m::LbAddDelAsV2Reply>(req);
            }
            m::LbAddDelAs req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            req.as_address = c.address;
            req.is_del = true;
            req.is_flush = c.flush;
            return PrepareTyped<m::LbAddDelAs, m::LbAddDelAsReply>(req);
          },
          [&](const LbSetAsWeight& c) -> absl::StatusOr<Prepared> {
            if (!weights) {
              return absl::UnimplementedError(
                  absl::StrCat("lb_as_set_weight needs lb API 1.2.0 with weights (this VPP: ",
                               m::Sv(LbApiLevelName(level_)), ")"));
            }
            RETURN_IF_ERROR(ValidateKey(c.vip));
            RETURN_IF_ERROR(ValidateWeight(c.weight));
            VipKey k = c.vip.Normalized();
            m::LbAsSetWeight req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            req.as_address = c.address;
            req.weight = c.weight;
            req.is_flush = c.flush;
            return PrepareTyped<m::LbAsSetWeight, m::LbAsSetWeightReply>(req);
          },
          [&](const LbFlushVip& c) -> absl::StatusOr<Prepared> {
            RETURN_IF_ERROR(ValidateKey(c.key));
            VipKey k = c.key.Normalized();
            m::LbFlushVip req;
            req.pfx = WirePrefix(k);
            req.protocol = k.protocol;
            req.port = k.port;
            return PrepareTyped<m::LbFlushVip, m::LbFlushVipReply>(req);
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
            return PrepareTyped<m::LbConf, m::LbConfReply>(req);
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
