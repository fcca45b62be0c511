#include "vppsim/api_handler.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/ip_address.h"
#include "common/log.h"
#include "maglev/flow_hash.h"
#include "vppsim/wire.h"

namespace maglev::vppsim {
namespace {

constexpr size_t kMessageTableEntrySize = 66;
constexpr uint16_t kSockclntCreateId = 15;  // fixed in every VPP

ApiAddress ReadAddress(const uint8_t* p) {
  ApiAddress a;
  a.af = p[0];
  std::memcpy(a.un.data(), p + 1, 16);
  return a;
}

uint8_t U8At(const uint8_t* p, const WireField& f) { return p[f.offset]; }
bool BoolAt(const uint8_t* p, const WireField& f) { return p[f.offset] != 0; }
uint16_t Be16At(const uint8_t* p, const WireField& f) { return LoadBe16(p + f.offset); }
uint32_t Be32At(const uint8_t* p, const WireField& f) { return LoadBe32(p + f.offset); }

// The VIP selector shared by every lb request that names a VIP except
// lb_vip_dump: a prefix (address then u8 len), protocol and port.
ApiVipKey ReadVipKey(const uint8_t* p) {
  ApiVipKey k;
  k.address = ReadAddress(p + wire::kVipPfx.offset);
  k.len = p[wire::kVipPfx.offset + kAddressSize];
  k.protocol = U8At(p, wire::kVipProtocol);
  k.port = Be16At(p, wire::kVipPort);
  return k;
}

std::string FormatApiAddress(const ApiAddress& a) {
  if (a.af == 0) return IpAddress::FromV4Bytes(a.un.data()).ToString();
  return IpAddress::FromV6Bytes(a.un.data()).ToString();
}

std::string FormatApiPrefix(const ApiVipKey& k) {
  return FormatApiAddress(k.address) + "/" + std::to_string(k.len);
}

// vl_api_lb_vip_t as VPP writes it back: af from the "first 12 bytes zero"
// rule, IPv4 length = plen - 96, protocol 255 for all-port VIPs.
void WriteVip(WireWriter& w, const LbVip& vip) {
  if (Ip46IsIp4(vip.prefix)) {
    w.U8(0).Bytes(vip.prefix.data() + 12, 4).Zeros(12).U8(static_cast<uint8_t>(vip.plen - 96));
  } else {
    w.U8(1).Bytes(vip.prefix.data(), 16).U8(vip.plen);
  }
  w.U8(vip.protocol).Be16(vip.port);
}

void WriteAddress(WireWriter& w, const Ip46& a) {
  if (Ip46IsIp4(a)) {
    w.U8(0).Bytes(a.data() + 12, 4).Zeros(12);
  } else {
    w.U8(1).Bytes(a.data(), 16);
  }
}

std::vector<std::string> Tokens(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

}  // namespace

struct ApiHandler::Ctx {
  uint32_t from = 0;
  const uint8_t* p = nullptr;
  size_t n = 0;
  uint32_t client_index = 0;  // requests only
  uint32_t context = 0;
  HandleResult* result = nullptr;
};

absl::StatusOr<std::unique_ptr<ApiHandler>> ApiHandler::Create(Options options,
                                                               LbModel::Clock clock) {
  MessageTable::Options table_options;
  table_options.legacy_lb = options.legacy_lb;
  table_options.lb_first_msg_id = options.lb_first_msg_id;
  absl::StatusOr<MessageTable> table = MessageTable::Create(table_options);
  if (!table.ok()) return table.status();
  if (options.version.empty()) {
    options.version = options.legacy_lb ? "26.06-maglev-vppsim" : "26.10-maglev-vppsim";
  }
  return std::unique_ptr<ApiHandler>(
      new ApiHandler(std::move(options), *std::move(table), std::move(clock)));
}

ApiHandler::ApiHandler(Options options, MessageTable table, LbModel::Clock clock)
    : options_(std::move(options)), table_(std::move(table)) {
  LbModel::Options model_options;
  model_options.legacy = options_.legacy_lb;
  model_options.num_interfaces = options_.num_interfaces;
  model_options.num_threads = 1 + options_.num_workers;
  model_ = std::make_unique<LbModel>(model_options, [this, clock = std::move(clock)] {
    return (clock ? clock() : 0.0) + clock_offset_;
  });

  // Registration 0 is VPP's listening socket: clients start at 1.
  registrations_.emplace_back(Registration{"<listener>"});

  struct Entry {
    const char* name;
    Fn fn;
    bool variable;  // + the u32 length of a trailing string[]
  };
  const Entry entries[] = {
      {"get_first_msg_id", &ApiHandler::OnGetFirstMsgId, false},
      {"api_versions", &ApiHandler::OnApiVersions, false},
      {"sockclnt_create", &ApiHandler::OnSockclntCreate, false},
      {"sockclnt_delete", &ApiHandler::OnSockclntDelete, false},
      {"memclnt_keepalive", &ApiHandler::OnKeepalive, false},
      {"control_ping", &ApiHandler::OnControlPing, false},
      {"show_version", &ApiHandler::OnShowVersion, false},
      {"cli_inband", &ApiHandler::OnCliInband, true},
      {"ip_route_lookup", &ApiHandler::OnIpRouteLookup, false},
      {"lb_conf", &ApiHandler::OnLbConf, false},
      {"lb_conf_get", &ApiHandler::OnLbConfGet, false},
      {"lb_add_del_vip", &ApiHandler::OnLbAddDelVip, false},
      {"lb_add_del_vip_v2", &ApiHandler::OnLbAddDelVipV2, false},
      {"lb_add_del_as", &ApiHandler::OnLbAddDelAs, false},
      {"lb_add_del_as_v2", &ApiHandler::OnLbAddDelAsV2, false},
      {"lb_as_set_weight", &ApiHandler::OnLbAsSetWeight, false},
      {"lb_flush_vip", &ApiHandler::OnLbFlushVip, false},
      {"lb_vip_dump", &ApiHandler::OnLbVipDump, false},
      {"lb_as_dump", &ApiHandler::OnLbAsDump, false},
      {"lb_as_v2_dump", &ApiHandler::OnLbAsV2Dump, false},
      {"lb_add_del_intf_nat4", &ApiHandler::OnLbIntfNat4, false},
      {"lb_add_del_intf_nat6", &ApiHandler::OnLbIntfNat6, false},
  };
  for (const Entry& e : entries) {
    // Messages absent from the table (lb 1.2.0 ones in legacy mode) have no
    // id, hence no handler: VPP <= 26.06 drops them as unknown.
    std::optional<uint16_t> id = table_.IdOf(e.name);
    const RequestLayout* layout = FindRequestLayout(e.name);
    if (id && layout) handlers_[*id] = Handler{e.fn, layout->fixed_size, e.variable};
  }
}

uint16_t ApiHandler::Id(const char* name) const { return table_.IdOf(name).value_or(0); }

uint32_t ApiHandler::Connect() {
  uint32_t index;
  if (!free_registrations_.empty()) {
    index = free_registrations_.back();
    free_registrations_.pop_back();
    registrations_[index].emplace();
  } else {
    registrations_.emplace_back(Registration{});
    index = static_cast<uint32_t>(registrations_.size() - 1);
  }
  LogInfo("vppsim-client-connect", {{"handle", static_cast<uint64_t>(kClientHandleBit | index)}});
  return index;
}

void ApiHandler::Disconnect(uint32_t registration) {
  if (!IsLive(registration)) return;
  LogInfo("vppsim-client-disconnect",
          {{"handle", static_cast<uint64_t>(kClientHandleBit | registration)},
           {"name", registrations_[registration]->name}});
  registrations_[registration].reset();
  free_registrations_.push_back(registration);
}

bool ApiHandler::IsLive(uint32_t registration) const {
  return registration != 0 && registration < registrations_.size() &&
         registrations_[registration].has_value();
}

size_t ApiHandler::num_clients() const {
  return static_cast<size_t>(std::count_if(registrations_.begin(), registrations_.end(),
                                           [](const auto& r) { return r.has_value(); })) -
         1;
}

std::string ApiHandler::ClientName(uint32_t registration) const {
  return IsLive(registration) ? registrations_[registration]->name : std::string();
}

std::optional<uint32_t> ApiHandler::Resolve(uint32_t client_index) const {
  // Socket clients' handles carry the top bit; anything else would be a
  // shared-memory client index, which no socket client can have.
  if ((client_index & kClientHandleBit) == 0) return std::nullopt;
  uint32_t index = client_index & ~kClientHandleBit;
  if (!IsLive(index)) return std::nullopt;
  return index;
}

void ApiHandler::Reply(Ctx& c, std::vector<uint8_t> payload) {
  // Executed already; the reply goes wherever client_index points, or nowhere.
  std::optional<uint32_t> to = Resolve(c.client_index);
  if (!to) {
    LogDebug("vppsim-reply-dropped", {{"client_index", static_cast<uint64_t>(c.client_index)}});
    return;
  }
  c.result->replies.push_back(Outgoing{*to, std::move(payload)});
}

void ApiHandler::AutoReply(Ctx& c, const char* reply_name, int32_t retval) {
  Reply(
      c,
      WireWriter().Be16(Id(reply_name)).Be32(c.context).Be32(static_cast<uint32_t>(retval)).Take());
}

HandleResult ApiHandler::Handle(uint32_t from, const uint8_t* payload, size_t size) {
  HandleResult result;
  if (size < 2) {
    result.dropped = "message shorter than its id";
  } else {
    const uint16_t id = LoadBe16(payload);
    auto it = handlers_.find(id);
    if (it == handlers_.end()) {
      result.dropped = "no handler for message id " + std::to_string(id);
    } else {
      size_t need = it->second.min_size;
      if (it->second.variable && size >= need) need += Be32At(payload, wire::kCliCmd);
      if (size < need) {
        result.dropped = "message " + table_.ById(id)->name +
                         " truncated: " + std::to_string(size) + " < " + std::to_string(need) +
                         " bytes";
      } else {
        Ctx c;
        c.from = from;
        c.p = payload;
        c.n = size;
        c.result = &result;
        if (id == kSockclntCreateId) {  // the one request without client_index
          c.context = Be32At(payload, wire::kCreateContext);
        } else {
          c.client_index = Be32At(payload, wire::kClientIndex);
          c.context = Be32At(payload, wire::kContext);
        }
        (this->*(it->second.fn))(c);
      }
    }
  }
  if (result.dropped) LogDebug("vppsim-message-dropped", {{"reason", *result.dropped}});
  return result;
}

void ApiHandler::RunGarbageCollection() { model_->BackgroundGc(); }

void ApiHandler::AdvanceClock(double seconds) {
  if (seconds > 0) clock_offset_ += seconds;
}

// --- core messages -----------------------------------------------------------

void ApiHandler::OnGetFirstMsgId(Ctx& c) {
  std::optional<uint16_t> first = table_.FirstMsgId(
      LoadFixedString(c.p + wire::kGetFirstMsgIdName.offset, wire::kGetFirstMsgIdName.size));
  Reply(c, WireWriter()
               .Be16(Id("get_first_msg_id_reply"))
               .Be32(c.context)
               .Be32(static_cast<uint32_t>(first ? kRetOk : kRetInvalidValue))
               .Be16(first.value_or(0xffff))
               .Take());
}

void ApiHandler::OnApiVersions(Ctx& c) {
  // A running VPP of this generation registers no versions: count 0.
  Reply(c, WireWriter().Be16(Id("api_versions_reply")).Be32(c.context).Be32(0).Be32(0).Take());
}

void ApiHandler::OnSockclntCreate(Ctx& c) {
  if (!IsLive(c.from)) return;
  std::string name = LoadFixedString(c.p + wire::kCreateName.offset, wire::kCreateName.size);
  registrations_[c.from]->name = name;
  LogInfo("vppsim-client-register",
          {{"handle", static_cast<uint64_t>(kClientHandleBit | c.from)}, {"name", name}});
  WireWriter w;
  w.Be16(Id("sockclnt_create_reply"))
      .Be32(0)  // client_index: always 0 here
      .Be32(c.context)
      .Be32(0)  // response
      .Be32(kClientHandleBit | c.from)
      .Be16(static_cast<uint16_t>(table_.messages().size()));
  for (const MessageInfo& m : table_.messages()) w.Be16(m.id).FixedString(m.NameCrc(), 64);
  static_assert(kMessageTableEntrySize == 2 + 64);
  c.result->replies.push_back(Outgoing{c.from, w.Take()});
}

void ApiHandler::OnSockclntDelete(Ctx& c) {
  const uint32_t index = Be32At(c.p, wire::kDeleteIndex) & ~kClientHandleBit;
  if (IsLive(index)) {
    c.result->replies.push_back(Outgoing{
        index, WireWriter().Be16(Id("sockclnt_delete_reply")).Be32(c.context).Be32(1).Take()});
    c.result->close_after_flush.push_back(index);
    Disconnect(index);
    return;
  }
  Reply(c, WireWriter()
               .Be16(Id("sockclnt_delete_reply"))
               .Be32(c.context)
               .Be32(static_cast<uint32_t>(-1))
               .Take());
}

void ApiHandler::OnKeepalive(Ctx& c) {
  // VPP answers memclnt_keepalive over shared memory only: a socket client
  // never sees a reply (PROTOCOL.md §1.8).
  LogDebug("vppsim-keepalive-ignored", {{"client_index", static_cast<uint64_t>(c.client_index)}});
}

void ApiHandler::OnControlPing(Ctx& c) {
  Reply(c, WireWriter()
               .Be16(Id("control_ping_reply"))
               .Be32(c.context)
               .Be32(0)
               .Be32(c.client_index)
               .Be32(options_.vpe_pid)
               .Take());
}

void ApiHandler::OnShowVersion(Ctx& c) {
  Reply(c, WireWriter()
               .Be16(Id("show_version_reply"))
               .Be32(c.context)
               .Be32(0)
               .FixedString("vpe", 32)
               .FixedString(options_.version, 32)
               .FixedString(options_.build_date, 32)
               .FixedString("/usr/src/maglev-vppsim", 256)
               .Take());
}

void ApiHandler::OnCliInband(Ctx& c) {
  const uint32_t len = Be32At(c.p, wire::kCliCmd);
  std::string cmd(reinterpret_cast<const char*>(c.p + wire::kCliCmd.offset + wire::kCliCmd.size),
                  len);
  int32_t rv = 0;
  std::string out = RunCli(cmd, &rv);
  Reply(c, WireWriter()
               .Be16(Id("cli_inband_reply"))
               .Be32(c.context)
               .Be32(static_cast<uint32_t>(rv))
               .VarString(out)
               .Take());
}

void ApiHandler::OnIpRouteLookup(Ctx& c) {
  // Only table 0 exists here, and a longest-prefix lookup (exact = 0) is
  // answered like an exact one (lb's VIP routes are all the simulator has).
  const uint32_t table_id = Be32At(c.p, wire::kRouteTableId);
  const ApiAddress addr = ReadAddress(c.p + wire::kRoutePrefix.offset);
  const uint8_t len = c.p[wire::kRoutePrefix.offset + kAddressSize];
  std::optional<uint32_t> index;
  if (table_id == 0 && addr.af <= 1 && len <= (addr.af == 0 ? 32 : 128)) {
    index = model_->RouteStatsIndex(addr.af == 1, DecodeApiAddress(addr), len);
  }
  WireWriter w;
  w.Be16(Id("ip_route_lookup_reply"))
      .Be32(c.context)
      .Be32(static_cast<uint32_t>(index ? 0 : -6))  // VNET_API_ERROR_NO_SUCH_ENTRY
      .Be32(table_id)
      .Be32(index.value_or(0));
  w.U8(addr.af);
  for (uint8_t b : addr.un) w.U8(b);
  w.U8(len).U8(0);  // n_paths: the simulator keeps no path lists
  Reply(c, w.Take());
}

std::string ApiHandler::RunCli(const std::string& command, int32_t* retval) {
  int32_t ignored_rv = 0;
  int32_t& rv = retval ? *retval : ignored_rv;
  rv = 0;
  std::vector<std::string> t = Tokens(command);
  // VPP's CLI accepts any unambiguous prefix of each command word ("sh lb
  // vip"); what follows the command's path is the command's own input, which
  // it parses with exact keywords ("verbose", not "ver").
  auto is = [&](size_t i, const char* word) {
    return i < t.size() && !t[i].empty() && std::string_view(word).substr(0, t[i].size()) == t[i];
  };
  // The rest of the command text from token i on ("unknown input `...'").
  auto rest = [&](size_t i) {
    size_t pos = 0;
    for (size_t k = 0; k < i; ++k) {
      pos = command.find_first_not_of(" \t\r\n", pos);
      pos = command.find_first_of(" \t\r\n", pos);
    }
    pos = command.find_first_not_of(" \t\r\n", pos == std::string::npos ? command.size() : pos);
    std::string r = pos == std::string::npos ? std::string() : command.substr(pos);
    while (!r.empty() && (r.back() == '\n' || r.back() == ' ')) r.pop_back();
    return r;
  };
  auto unknown = [&](const std::string& path, size_t i) {
    rv = -1;
    return (path.empty() ? std::string() : path + ": ") + "unknown input `" + rest(i) + "'\n";
  };
  if (is(0, "show") && t.size() >= 2) {
    if (is(1, "lb")) {
      if (t.size() >= 3 && is(2, "vips")) {
        return model_->ShowVips(t.size() >= 4 && t[3].rfind("verbose", 0) == 0);
      }
      return model_->ShowLb();
    }
    if (is(1, "version")) {
      return "vpp v" + options_.version + " built by maglev-vppsim on localhost at " +
             options_.build_date + "\n";
    }
    return unknown("show", 1);
  }
  if (is(0, "test") && t.size() >= 2 && is(1, "lb")) {
    if (t.size() >= 3 && is(2, "packet")) {
      return TestLbPacket(std::vector<std::string>(t.begin() + 3, t.end()), &rv);
    }
    if (t.size() >= 4 && is(2, "flowtable") && is(3, "flush")) {
      model_->FlushAllFlowTables();
      return "";
    }
    return unknown("test lb", 2);
  }
  // Simulator-only hooks for deterministic tests of GC timing.
  if (t.size() == 2 && t[0] == "vppsim" && t[1] == "gc") {
    RunGarbageCollection();
    return "gc done\n";
  }
  if (t.size() == 4 && t[0] == "vppsim" && t[1] == "time" && t[2] == "advance") {
    char* end = nullptr;
    double s = std::strtod(t[3].c_str(), &end);
    if (end && *end == '\0' && s >= 0 && s < 1e9) {
      AdvanceClock(s);
      return "time " + std::to_string(model_->NowSeconds()) + "\n";
    }
  }
  // The new-flow table of every VIP, bucket by bucket (for tests that
  // compare a preview with the table VPP really built): per VIP a header,
  // its AS pool indices with addresses, then one AS index per bucket (0 =
  // no server).
  if (t.size() == 3 && t[0] == "vppsim" && t[1] == "lb" && t[2] == "table") {
    std::string out;
    for (uint32_t index : model_->VipDump()) {
      const LbVip& vip = model_->vip(index);
      const bool v4 = Ip46IsIp4(vip.prefix);
      out += "vip " + std::to_string(index) + " " + FormatIp46(vip.prefix) + "/" +
             std::to_string(v4 ? vip.plen - 96 : vip.plen) + " protocol " +
             std::to_string(vip.protocol) + " port " + std::to_string(vip.port) + " length " +
             std::to_string(vip.table_length) + "\n";
      for (const auto& slot : vip.as_slots) {
        if (slot)
          out += "as " + std::to_string(*slot) + " " + FormatIp46(model_->as(*slot).address) + "\n";
      }
      out += "buckets";
      for (uint32_t as : vip.new_flow_table) out += " " + std::to_string(as);
      out += "\n";
    }
    return out;
  }
  if (t.size() == 2 && t[0] == "vppsim" && t[1] == "time") {
    return "time " + std::to_string(model_->NowSeconds()) + "\n";
  }
  return unknown("", 0);
}

std::string ApiHandler::TestLbPacket(const std::vector<std::string>& a, int32_t* retval) {
  auto fail = [&](const std::string& why) {
    *retval = -1;
    return "test lb packet: " + why + "\n";
  };
  const char* usage =
      "usage: test lb packet <vip> <src-address> <src-port> <dst-port> tcp|udp [count <n>] "
      "[thread <n>] [length <bytes>]";
  if (a.size() < 5) return fail(usage);
  std::optional<IpAddress> dst = IpAddress::Parse(a[0]);
  std::optional<IpAddress> src = IpAddress::Parse(a[1]);
  auto number = [](const std::string& s, uint64_t max) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    uint64_t v = std::stoull(s);
    if (v > max) return std::nullopt;
    return v;
  };
  std::optional<uint64_t> sport = number(a[2], 65535);
  std::optional<uint64_t> dport = number(a[3], 65535);
  if (!dst || !src || dst->family() != src->family())
    return fail(std::string("bad addresses: ") + usage);
  if (!sport || !dport) return fail(std::string("bad port: ") + usage);
  LbFlow flow;
  flow.ip6 = dst->is_v6();
  if (flow.ip6) {
    flow.dst = dst->ip46();
    flow.src = src->ip46();
  } else {
    std::copy(dst->v4_bytes(), dst->v4_bytes() + 4, flow.dst.begin());
    std::copy(src->v4_bytes(), src->v4_bytes() + 4, flow.src.begin());
  }
  if (a[4] == "tcp") {
    flow.protocol = kIpProtocolTcp;
  } else if (a[4] == "udp") {
    flow.protocol = kIpProtocolUdp;
  } else {
    return fail(usage);
  }
  flow.src_port = static_cast<uint16_t>(*sport);
  flow.dst_port = static_cast<uint16_t>(*dport);
  uint64_t count = 1;
  // No workers: the main thread forwards. Otherwise the flow stays on one
  // worker, chosen from its 5-tuple (a stand-in for the NIC's RSS).
  const uint32_t workers = model_->num_threads() - 1;
  uint32_t thread = workers == 0 ? 0 : 1 + LbFlowHash(flow, false) % workers;
  uint32_t length = (flow.ip6 ? 40 : 20) + (flow.protocol == kIpProtocolTcp ? 20 : 8);
  for (size_t i = 5; i < a.size(); i += 2) {
    std::optional<uint64_t> v = i + 1 < a.size() ? number(a[i + 1], 10000000) : std::nullopt;
    if (!v) return fail(usage);
    if (a[i] == "count" && *v >= 1) {
      count = *v;
    } else if (a[i] == "thread" && *v < model_->num_threads()) {
      thread = static_cast<uint32_t>(*v);
    } else if (a[i] == "length" && *v >= length && *v <= 65535) {
      length = static_cast<uint32_t>(*v);
    } else {
      return fail(usage);
    }
  }
  uint64_t by_counter[kNumVipCounters] = {};
  std::optional<LbPacketResult> last;
  for (uint64_t n = 0; n < count; ++n) {
    last = model_->InjectPacket(flow, thread, length);
    if (!last) return fail("no VIP route covers " + dst->ToString());
    ++by_counter[last->counter];
  }
  const LbVip& vip = model_->vip(last->vip_index);
  char buf[256];
  std::string out;
  const std::string as =
      last->as_index == 0 ? std::string("none") : FormatIp46(model_->as(last->as_index).address);
  std::snprintf(buf, sizeof buf, "vip [%u] hash 0x%08x bucket %u thread %u as %s\n",
                last->vip_index, last->hash, LbNewFlowBucket(last->hash, vip.table_length),
                last->thread, as.c_str());
  out += buf;
  for (uint32_t c = 0; c < kNumVipCounters; ++c) {
    std::snprintf(buf, sizeof buf, "  %s: %llu\n", kLbVipCounterNames[c],
                  static_cast<unsigned long long>(by_counter[c]));
    out += buf;
  }
  return out;
}

// --- lb messages -----------------------------------------------------------

void ApiHandler::OnLbConf(Ctx& c) {
  LbConf conf;
  std::memcpy(conf.ip4_src.data(), c.p + wire::kConfIp4Src.offset, wire::kConfIp4Src.size);
  std::memcpy(conf.ip6_src.data(), c.p + wire::kConfIp6Src.offset, wire::kConfIp6Src.size);
  conf.sticky_buckets_per_core = Be32At(c.p, wire::kConfStickyBuckets);
  conf.flow_timeout = Be32At(c.p, wire::kConfFlowTimeout);
  int32_t rv = model_->Conf(conf);
  LogDebug("vppsim-lb-conf", {{"ip4_src", IpAddress::FromV4Bytes(conf.ip4_src.data()).ToString()},
                              {"ip6_src", IpAddress::FromV6Bytes(conf.ip6_src.data()).ToString()},
                              {"sticky_buckets_per_core", conf.sticky_buckets_per_core},
                              {"flow_timeout", conf.flow_timeout},
                              {"retval", rv}});
  AutoReply(c, "lb_conf_reply", rv);
}

void ApiHandler::OnLbConfGet(Ctx& c) {
  const LbConf& conf = model_->conf();
  Reply(c, WireWriter()
               .Be16(Id("lb_conf_get_reply"))
               .Be32(c.context)
               .Be32(0)
               .Bytes(conf.ip4_src.data(), 4)
               .Bytes(conf.ip6_src.data(), 16)
               .Be32(conf.sticky_buckets_per_core)
               .Be32(conf.flow_timeout)
               .Take());
}

void ApiHandler::OnLbAddDelVip(Ctx& c) { AddDelVip(c, false); }
void ApiHandler::OnLbAddDelVipV2(Ctx& c) { AddDelVip(c, true); }

void ApiHandler::AddDelVip(Ctx& c, bool v2) {
  VipAddDelRequest r;
  r.key = ReadVipKey(c.p);
  r.encap = Be32At(c.p, wire::kVipEncap);
  r.dscp = U8At(c.p, wire::kVipDscp);
  r.srv_type = U8At(c.p, wire::kVipType);  // only the first byte of the u32 (quirk 4)
  r.target_port = Be16At(c.p, wire::kVipTargetPort);
  r.node_port = Be16At(c.p, wire::kVipNodePort);
  r.new_flows_table_length = Be32At(c.p, wire::kVipNewFlowsTableLength);
  if (v2) {
    r.src_ip_sticky = BoolAt(c.p, wire::kVipV2SrcIpSticky);
    r.is_del = BoolAt(c.p, wire::kVipV2IsDel);
  } else {
    r.is_del = BoolAt(c.p, wire::kVipIsDel);
  }
  int32_t rv = model_->AddDelVip(r);
  LogDebug(v2 ? "vppsim-lb-add-del-vip-v2" : "vppsim-lb-add-del-vip",
           {{"vip", FormatApiPrefix(r.key)},
            {"protocol", r.key.protocol},
            {"port", r.key.port},
            {"encap", r.encap},
            {"new_flows_table_length", r.new_flows_table_length},
            {"src_ip_sticky", r.src_ip_sticky},
            {"is_del", r.is_del},
            {"retval", rv}});
  AutoReply(c, v2 ? "lb_add_del_vip_v2_reply" : "lb_add_del_vip_reply", rv);
}

void ApiHandler::OnLbAddDelAs(Ctx& c) { AddDelAs(c, false); }
void ApiHandler::OnLbAddDelAsV2(Ctx& c) { AddDelAs(c, true); }

void ApiHandler::AddDelAs(Ctx& c, bool v2) {
  AsAddDelRequest r;
  r.vip = ReadVipKey(c.p);
  r.as = ReadAddress(c.p + wire::kAsAddress.offset);
  r.v2 = v2;
  if (v2) {
    r.weight = U8At(c.p, wire::kAsV2Weight);
    r.is_del = BoolAt(c.p, wire::kAsV2IsDel);
    r.is_flush = BoolAt(c.p, wire::kAsV2IsFlush);
  } else {
    r.is_del = BoolAt(c.p, wire::kAsIsDel);
    r.is_flush = BoolAt(c.p, wire::kAsIsFlush);
  }
  int32_t rv = model_->AddDelAs(r);
  LogDebug(v2 ? "vppsim-lb-add-del-as-v2" : "vppsim-lb-add-del-as",
           {{"vip", FormatApiPrefix(r.vip)},
            {"protocol", r.vip.protocol},
            {"port", r.vip.port},
            {"as", FormatApiAddress(r.as)},
            {"weight", r.weight},
            {"is_del", r.is_del},
            {"is_flush", r.is_flush},
            {"retval", rv}});
  AutoReply(c, v2 ? "lb_add_del_as_v2_reply" : "lb_add_del_as_reply", rv);
}

void ApiHandler::OnLbAsSetWeight(Ctx& c) {
  AsSetWeightRequest r;
  r.vip = ReadVipKey(c.p);
  r.as = ReadAddress(c.p + wire::kAsAddress.offset);
  r.weight = U8At(c.p, wire::kSetWeightWeight);
  r.is_flush = BoolAt(c.p, wire::kSetWeightIsFlush);
  int32_t rv = model_->SetWeight(r);
  LogDebug("vppsim-lb-as-set-weight", {{"vip", FormatApiPrefix(r.vip)},
                                       {"protocol", r.vip.protocol},
                                       {"port", r.vip.port},
                                       {"as", FormatApiAddress(r.as)},
                                       {"weight", r.weight},
                                       {"is_flush", r.is_flush},
                                       {"retval", rv}});
  AutoReply(c, "lb_as_set_weight_reply", rv);
}

void ApiHandler::OnLbFlushVip(Ctx& c) {
  ApiVipKey key = ReadVipKey(c.p);
  int32_t rv = model_->FlushVip(key);
  LogDebug("vppsim-lb-flush-vip", {{"vip", FormatApiPrefix(key)},
                                   {"protocol", key.protocol},
                                   {"port", key.port},
                                   {"retval", rv}});
  AutoReply(c, "lb_flush_vip_reply", rv);
}

void ApiHandler::OnLbVipDump(Ctx& c) {
  // Dumps check client_index first and do nothing at all for a stranger.
  std::optional<uint32_t> to = Resolve(c.client_index);
  if (!to) return;
  // Every filter field is ignored (quirk 1).
  const uint16_t id = Id("lb_vip_details");
  for (uint32_t index : model_->VipDump()) {
    const LbVip& vip = model_->vip(index);
    const bool l3dsr = vip.type == LbVipType::kIp4L3dsr;
    const bool nat = vip.type == LbVipType::kIp4Nat4 || vip.type == LbVipType::kIp6Nat6;
    // dscp and srv_type share one byte inside VPP; srv_type goes out in host
    // (little-endian) order and target_port swapped once too often (quirk 3).
    const uint8_t shared = (l3dsr || nat) ? vip.encap_arg : 0;
    WireWriter w;
    w.Be16(id).Be32(c.context);
    WriteVip(w, vip);
    w.Be32(LbVipTypeEncap(vip.type))
        .U8(shared)
        .Le32(shared)
        .Le16(nat ? vip.target_port : 0)
        .Be16(static_cast<uint16_t>(vip.table_length));
    c.result->replies.push_back(Outgoing{*to, w.Take()});
  }
}

void ApiHandler::OnLbAsDump(Ctx& c) { AsDump(c, false); }
void ApiHandler::OnLbAsV2Dump(Ctx& c) { AsDump(c, true); }

void ApiHandler::AsDump(Ctx& c, bool v2) {
  std::optional<uint32_t> to = Resolve(c.client_index);
  if (!to) return;
  const uint16_t id = Id(v2 ? "lb_as_v2_details" : "lb_as_details");
  for (const LbModel::AsRef& ref : model_->AsDump(ReadVipKey(c.p))) {
    const LbVip& vip = model_->vip(ref.vip_index);
    const LbAs& as = model_->as(ref.as_index);
    WireWriter w;
    w.Be16(id).Be32(c.context);
    WriteVip(w, vip);
    WriteAddress(w, as.address);
    w.U8(as.active ? 1 : 0).Be32(as.last_used);
    if (v2) w.U8(as.weight).Be32(as.num_buckets);
    c.result->replies.push_back(Outgoing{*to, w.Take()});
  }
}

void ApiHandler::OnLbIntfNat4(Ctx& c) { IntfNat(c, false); }
void ApiHandler::OnLbIntfNat6(Ctx& c) { IntfNat(c, true); }

void ApiHandler::IntfNat(Ctx& c, bool ip6) {
  const bool is_add = BoolAt(c.p, wire::kIntfNatIsAdd);
  const uint32_t sw_if_index = Be32At(c.p, wire::kIntfNatSwIfIndex);
  int32_t rv = model_->AddDelIntfNat(ip6, is_add, sw_if_index);
  LogDebug(ip6 ? "vppsim-lb-add-del-intf-nat6" : "vppsim-lb-add-del-intf-nat4",
           {{"is_add", is_add}, {"sw_if_index", sw_if_index}, {"retval", rv}});
  AutoReply(c, ip6 ? "lb_add_del_intf_nat6_reply" : "lb_add_del_intf_nat4_reply", rv);
}

}  // namespace maglev::vppsim
