// SPDX-License-Identifier: Apache-2.0
//
// An in-memory VPP for the reconciler's single-threaded tests: LbConnector
// and LbSession over the simulator's LbModel, without a socket. The test
// scripts VPP's availability (down, back, restarted empty) and reads every
// mutating call in the order VPP executed it. Everything runs on the test's
// thread (the SimDispatcher's).
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/dispatcher.h"
#include "vpp/lb_api.h"
#include "vpp/lb_session.h"
#include "vppsim/lb_model.h"

namespace maglev::testing {

class FakeVpp {
 public:
  explicit FakeVpp(Dispatcher& loop, bool legacy = false) : loop_(loop), legacy_(legacy) {
    Restart();
  }

  vppsim::LbModel& model() { return *model_; }
  LbApiLevel level() const { return legacy_ ? LbApiLevel::kLegacy : LbApiLevel::kWeights; }

  // VPP goes away: the live session notices (as a closed socket would tell
  // it) and connecting fails with `why` until Up().
  void Down(std::string why = "connect /fake/api.sock: No such file or directory") {
    up_ = false;
    down_reason_ = std::move(why);
    ++generation_;
    if (on_lost_) {
      auto lost = std::move(on_lost_);
      on_lost_ = nullptr;
      loop_.Post([lost] { lost(absl::UnavailableError("VPP closed the API connection")); });
    }
  }
  void Up() { up_ = true; }
  // A VPP restart: down, then up again with an empty lb plugin (conf at
  // VPP's defaults).
  void Restart() {
    if (model_) Down();
    model_ = std::make_unique<vppsim::LbModel>(vppsim::LbModel::Options{.legacy = legacy_},
                                               [] { return 100.0; });
    Up();
  }

  bool up() const { return up_; }
  uint64_t generation() const { return generation_; }
  const std::string& down_reason() const { return down_reason_; }
  void set_on_lost(std::function<void(absl::Status)> cb) { on_lost_ = std::move(cb); }

  // Every mutating call VPP executed, as DescribeLbCall prints it.
  std::vector<std::string> calls;
  int connects = 0;
  int dumps = 0;

 private:
  Dispatcher& loop_;
  bool legacy_;
  bool up_ = false;
  uint64_t generation_ = 0;
  std::string down_reason_;
  std::unique_ptr<vppsim::LbModel> model_;
  std::function<void(absl::Status)> on_lost_;
};

class FakeLbSession : public LbSession {
 public:
  explicit FakeLbSession(FakeVpp& vpp) : vpp_(vpp), generation_(vpp.generation()) {}

  void WatchIdle(Dispatcher&, std::function<void(absl::Status)> on_lost) override {
    vpp_.set_on_lost(std::move(on_lost));
  }
  LbApiLevel api_level() const override { return alive() ? vpp_.level() : LbApiLevel::kNone; }
  absl::StatusOr<uint32_t> ControlPing() override {
    if (!alive()) return Lost();
    return 4242u;
  }
  absl::StatusOr<VppVersionInfo> ShowVersion() override {
    if (!alive()) return Lost();
    VppVersionInfo v;
    v.program = "vpe";
    v.version = "fake";
    return v;
  }
  absl::StatusOr<LbConf> ConfGet() override {
    if (!alive()) return Lost();
    const vppsim::LbConf& c = vpp_.model().conf();
    LbConf out;
    out.ip4_src_address = IpAddress::FromV4Bytes(c.ip4_src.data());
    out.ip6_src_address = IpAddress::FromV6Bytes(c.ip6_src.data());
    out.sticky_buckets_per_core = c.sticky_buckets_per_core;
    out.flow_timeout = c.flow_timeout;
    return out;
  }
  absl::Status SetConf(const LbConf& conf) override { return One(LbSetConf{conf}); }
  absl::Status AddVip(const VipSpec& spec) override { return One(LbAddVip{spec}); }
  absl::Status DelVip(const VipKey& key) override { return One(LbDelVip{key}); }
  absl::Status AddAs(const LbAddAs& call) override { return One(call); }
  absl::Status DelAs(const LbDelAs& call) override { return One(call); }
  absl::Status SetAsWeight(const LbSetAsWeight& call) override { return One(call); }
  absl::Status FlushVip(const VipKey& key) override { return One(LbFlushVip{key}); }

  absl::StatusOr<std::vector<VipInfo>> DumpVips() override {
    if (!alive()) return Lost();
    ++vpp_.dumps;
    std::vector<VipInfo> out;
    for (uint32_t index : vpp_.model().VipDump()) out.push_back(Info(vpp_.model().vip(index)));
    return out;
  }
  absl::StatusOr<std::vector<AsInfo>> DumpAllAses() override {
    if (!alive()) return Lost();
    std::vector<AsInfo> out;
    for (const auto& ref : vpp_.model().AsDump(vppsim::ApiVipKey{})) {
      const vppsim::LbAs& as = vpp_.model().as(ref.as_index);
      AsInfo a;
      a.vip = Info(vpp_.model().vip(ref.vip_index)).key;
      a.address = Address(as.address);
      a.flags = as.active ? 1 : 0;
      a.in_use_since = as.last_used;
      if (api_level() == LbApiLevel::kWeights) {
        a.weight = as.weight;
        a.num_buckets = as.num_buckets;
      }
      out.push_back(a);
    }
    return out;
  }
  absl::StatusOr<std::vector<AsInfo>> DumpAses(const VipKey& vip) override {
    auto all = DumpAllAses();
    if (!all.ok()) return all.status();
    std::vector<AsInfo> out;
    for (const AsInfo& a : *all)
      if (a.vip.Normalized() == vip.Normalized()) out.push_back(a);
    return out;
  }
  std::vector<absl::Status> Execute(const std::vector<LbCall>& calls) override {
    std::vector<absl::Status> out;
    for (const LbCall& c : calls) out.push_back(One(c));
    return out;
  }

 private:
  bool alive() const { return vpp_.up() && vpp_.generation() == generation_; }
  static absl::Status Lost() { return absl::UnavailableError("VPP closed the API connection"); }

  static vppsim::ApiAddress Api(const IpAddress& a) {
    vppsim::ApiAddress out;
    out.af = a.is_v4() ? 0 : 1;
    if (a.is_v4()) {
      std::memcpy(out.un.data(), a.v4_bytes(), 4);
    } else {
      std::memcpy(out.un.data(), a.ip46().data(), 16);
    }
    return out;
  }
  static vppsim::ApiVipKey Api(const VipKey& k) {
    vppsim::ApiVipKey out;
    out.address = Api(k.address);
    out.len = k.prefix_len;
    out.protocol = k.protocol;
    out.port = k.port;
    return out;
  }
  static IpAddress Address(const vppsim::Ip46& a) {
    return vppsim::Ip46IsIp4(a) ? IpAddress::FromV4Bytes(a.data() + 12)
                                : IpAddress::FromV6Bytes(a.data());
  }
  static VipInfo Info(const vppsim::LbVip& vip) {
    VipInfo v;
    bool v4 = vppsim::Ip46IsIp4(vip.prefix);
    v.key.address = Address(vip.prefix);
    v.key.prefix_len = static_cast<uint8_t>(v4 ? vip.plen - 96 : vip.plen);
    v.key.protocol = vip.protocol;
    v.key.port = vip.port;
    v.encap = static_cast<LbEncap>(vppsim::LbVipTypeEncap(vip.type));
    v.flow_table_length_low16 = static_cast<uint16_t>(vip.table_length);
    return v;
  }

  absl::Status One(const LbCall& call) {
    if (!alive()) return Lost();
    vppsim::LbModel& m = vpp_.model();
    const bool weights = vpp_.level() == LbApiLevel::kWeights;
    int32_t rv = 0;
    std::string name;
    if (auto* c = std::get_if<LbSetConf>(&call)) {
      vppsim::LbConf conf;
      std::memcpy(conf.ip4_src.data(), c->conf.ip4_src_address.v4_bytes(), 4);
      std::memcpy(conf.ip6_src.data(), c->conf.ip6_src_address.ip46().data(), 16);
      conf.sticky_buckets_per_core = c->conf.sticky_buckets_per_core;
      conf.flow_timeout = c->conf.flow_timeout;
      rv = m.Conf(conf);
      name = "lb_conf";
    } else if (auto* c = std::get_if<LbAddVip>(&call)) {
      vppsim::VipAddDelRequest r;
      r.key = Api(c->spec.key);
      r.encap = static_cast<uint32_t>(c->spec.encap);
      r.dscp = c->spec.dscp;
      r.new_flows_table_length = c->spec.new_flows_table_length;
      r.src_ip_sticky = c->spec.src_ip_sticky;
      rv = m.AddDelVip(r);
      name = "lb_add_del_vip_v2";
    } else if (auto* c = std::get_if<LbDelVip>(&call)) {
      vppsim::VipAddDelRequest r;
      r.key = Api(c->key);
      r.is_del = true;
      rv = m.AddDelVip(r);
      name = "lb_add_del_vip_v2";
    } else if (auto* c = std::get_if<LbAddAs>(&call)) {
      vppsim::AsAddDelRequest r;
      r.vip = Api(c->vip);
      r.as = Api(c->address);
      r.v2 = weights;
      r.weight = weights ? c->weight : 100;
      r.is_flush = c->flush;
      rv = m.AddDelAs(r);
      name = "lb_add_del_as_v2";
    } else if (auto* c = std::get_if<LbDelAs>(&call)) {
      vppsim::AsAddDelRequest r;
      r.vip = Api(c->vip);
      r.as = Api(c->address);
      r.v2 = weights;
      r.is_del = true;
      r.is_flush = c->flush;
      rv = m.AddDelAs(r);
      name = "lb_add_del_as_v2";
    } else if (auto* c = std::get_if<LbSetAsWeight>(&call)) {
      vppsim::AsSetWeightRequest r;
      r.vip = Api(c->vip);
      r.as = Api(c->address);
      r.weight = c->weight;
      r.is_flush = c->flush;
      rv = m.SetWeight(r);
      name = "lb_as_set_weight";
    } else if (auto* c = std::get_if<LbFlushVip>(&call)) {
      rv = m.FlushVip(Api(c->key));
      name = "lb_flush_vip";
    }
    if (rv == 0) vpp_.calls.push_back(DescribeLbCall(call));
    return VppRetvalStatus(name, rv);
  }

  FakeVpp& vpp_;
  uint64_t generation_;
};

class FakeLbConnector : public LbConnector {
 public:
  explicit FakeLbConnector(FakeVpp& vpp) : vpp_(vpp) {}
  absl::StatusOr<std::unique_ptr<LbSession>> Connect() override {
    if (!vpp_.up()) return absl::UnavailableError(vpp_.down_reason());
    ++vpp_.connects;
    return std::unique_ptr<LbSession>(std::make_unique<FakeLbSession>(vpp_));
  }
  std::string target() const override { return "/fake/api.sock"; }
  const VppApiCounters* counters() const override { return nullptr; }

 private:
  FakeVpp& vpp_;
};

}  // namespace maglev::testing
