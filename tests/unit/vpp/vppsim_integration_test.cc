// Integration: LbClient against the real maglev-vppsim process (an
// independent implementation of the same socket protocol), exercising every
// typed call. Skips when the simulator has not been built.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "vpp/lb_client.h"

extern char** environ;

namespace maglev {
namespace {

IpAddress Ip(const char* t) { return *IpAddress::Parse(t); }

const std::string kSimPath = std::string(MAGLEV_BIN_DIR) + "/maglev-vppsim";

class VppsimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kSimPath.c_str(), X_OK) != 0) {
      GTEST_SKIP() << "maglev-vppsim not built at " << kSimPath;
    }
    char tmpl[] = "/tmp/maglev-vppsim-it-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/api.sock";
  }

  void TearDown() override {
    client_.Close();
    StopSim();
    if (!dir_.empty()) {
      ::unlink(socket_.c_str());
      ::rmdir(dir_.c_str());
    }
  }

  // Starts the simulator and connects the client.
  void StartSim(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {kSimPath, "--socket",      socket_,   "--log-level",
                                     "warn",   "--vpp-version", "26.10-it"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&pid_, kSimPath.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    // Wait (bounded) until the simulator accepts connections.
    absl::Status s;
    for (int i = 0; i < 200; ++i) {
      s = client_.Connect(socket_, std::chrono::milliseconds(5000));
      if (s.ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "could not connect to maglev-vppsim: " << s;
  }

  void StopSim() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::map<IpAddress, AsInfo> AsesOf(const VipKey& vip) {
    std::map<IpAddress, AsInfo> out;
    auto ases = client_.DumpAses(vip);
    EXPECT_TRUE(ases.ok()) << ases.status();
    if (ases.ok()) {
      for (const auto& a : *ases) out[a.address] = a;
    }
    return out;
  }

  std::string dir_, socket_;
  pid_t pid_ = -1;
  LbClient client_;
};

VipSpec Spec(const VipKey& key, LbEncap encap = LbEncap::kGre4, uint32_t length = 1024) {
  VipSpec s;
  s.key = key;
  s.encap = encap;
  s.new_flows_table_length = length;
  return s;
}

TEST_F(VppsimTest, HandshakePingVersionCli) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  EXPECT_EQ(client_.api_level(), LbApiLevel::kWeights);
  auto pid = client_.ControlPing();
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(*pid, static_cast<uint32_t>(pid_));
  auto v = client_.ShowVersion();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->program, "vpe");
  EXPECT_EQ(v->version, "26.10-it");
  EXPECT_EQ(v->vpe_pid, static_cast<uint32_t>(pid_));
  auto cli = client_.CliInband("show version");
  ASSERT_TRUE(cli.ok()) << cli.status();
  EXPECT_NE(cli->find("26.10-it"), std::string::npos) << *cli;
}

TEST_F(VppsimTest, ConfGetAndSetConf) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  auto conf = client_.ConfGet();
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(conf->ip4_src_address, Ip("255.255.255.255"));
  EXPECT_EQ(conf->ip6_src_address, Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_EQ(conf->sticky_buckets_per_core, 1024u);
  EXPECT_EQ(conf->flow_timeout, 40u);
  LbConf want{Ip("192.0.2.1"), Ip("2001:db8::1"), 65536, 30};
  ASSERT_TRUE(client_.SetConf(want).ok());
  conf = client_.ConfGet();
  ASSERT_TRUE(conf.ok());
  EXPECT_EQ(*conf, want);
}

TEST_F(VppsimTest, WeightsAndBucketCountsMatchVpp) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  VipKey vip = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 80);
  ASSERT_TRUE(client_.AddVip(Spec(vip)).ok());
  for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    ASSERT_TRUE(client_.AddAs({vip, Ip(a), 100, false}).ok()) << a;
  }
  auto vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok()) << vips.status();
  ASSERT_EQ(vips->size(), 1u);
  EXPECT_EQ((*vips)[0].key, vip);
  EXPECT_EQ((*vips)[0].encap, LbEncap::kGre4);
  EXPECT_TRUE((*vips)[0].FlowTableLengthMatches(1024));

  // 3 ASes at weight 100, L = 1024 -> 342/341/341 (confirmed on a live VPP).
  auto ases = AsesOf(vip);
  ASSERT_EQ(ases.size(), 3u);
  EXPECT_EQ(ases[Ip("10.0.0.1")].num_buckets, std::optional<uint32_t>(342));
  EXPECT_EQ(ases[Ip("10.0.0.2")].num_buckets, std::optional<uint32_t>(341));
  EXPECT_EQ(ases[Ip("10.0.0.3")].num_buckets, std::optional<uint32_t>(341));
  EXPECT_TRUE(ases[Ip("10.0.0.1")].active());

  // Hard drain of .2 -> 512/0/512.
  ASSERT_TRUE(client_.SetAsWeight({vip, Ip("10.0.0.2"), 0, true}).ok());
  ases = AsesOf(vip);
  EXPECT_EQ(ases[Ip("10.0.0.1")].num_buckets, std::optional<uint32_t>(512));
  EXPECT_EQ(ases[Ip("10.0.0.2")].num_buckets, std::optional<uint32_t>(0));
  EXPECT_EQ(ases[Ip("10.0.0.2")].weight, std::optional<uint8_t>(0));
  EXPECT_EQ(ases[Ip("10.0.0.3")].num_buckets, std::optional<uint32_t>(512));

  // Removing an AS keeps it listed, inactive, until garbage collection.
  ASSERT_TRUE(client_.DelAs({vip, Ip("10.0.0.3"), true}).ok());
  ases = AsesOf(vip);
  ASSERT_EQ(ases.size(), 3u);
  EXPECT_FALSE(ases[Ip("10.0.0.3")].active());
  EXPECT_EQ(ases[Ip("10.0.0.1")].num_buckets, std::optional<uint32_t>(1024));
  // ...and re-adding it is an add, not an error.
  ASSERT_TRUE(client_.AddAs({vip, Ip("10.0.0.3"), 100, true}).ok());
  EXPECT_TRUE(AsesOf(vip)[Ip("10.0.0.3")].active());

  ASSERT_TRUE(client_.FlushVip(vip).ok());
  ASSERT_TRUE(client_.DelVip(vip).ok());
  vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok());
  EXPECT_TRUE(vips->empty());
}

TEST_F(VppsimTest, VppErrorsComeBackNamed) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  VipKey vip = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 80);
  absl::Status missing = client_.AddAs({vip, Ip("10.0.0.1"), 100, false});
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "lb_add_del_as_v2: VNET_API_ERROR_NO_SUCH_ENTRY (-6)");
  ASSERT_TRUE(client_.AddVip(Spec(vip)).ok());
  absl::Status dup = client_.AddVip(Spec(vip));
  EXPECT_EQ(dup.message(), "lb_add_del_vip_v2: VNET_API_ERROR_VALUE_EXIST (-81)");
  EXPECT_EQ(VppRetvalOf(dup), std::optional<int32_t>(-81));
  absl::Status family = client_.AddAs({vip, Ip("2001:db8::10"), 100, false});  // gre4 needs v4
  EXPECT_EQ(family.message(), "lb_add_del_as_v2: VNET_API_ERROR_INVALID_ADDRESS_FAMILY (-97)");
  ASSERT_TRUE(client_.AddAs({vip, Ip("10.0.0.1"), 100, false}).ok());
  EXPECT_EQ(client_.AddAs({vip, Ip("10.0.0.1"), 50, false}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client_.SetAsWeight({vip, Ip("10.0.0.9"), 50, false}).code(),
            absl::StatusCode::kNotFound);
  // All-port VIP on a prefix that already has a per-port VIP.
  VipKey all = VipKey::Host(Ip("192.0.2.80"), kLbProtoAny, 0);
  EXPECT_EQ(VppRetvalOf(client_.AddVip(Spec(all))), std::optional<int32_t>(-81));
  // Mixed encap on one prefix.
  VipKey other_port = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 443);
  EXPECT_EQ(VppRetvalOf(client_.AddVip(Spec(other_port, LbEncap::kGre6))),
            std::optional<int32_t>(-73));
  auto counters = client_.counters().Snapshot();
  EXPECT_GE(counters["lb_add_del_vip_v2"].errors, 3u);
}

TEST_F(VppsimTest, Ipv6AllPortVipWithGre6) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  VipKey vip = VipKey::Host(Ip("2001:db8::80"), kLbProtoAny, 0);
  VipSpec spec = Spec(vip, LbEncap::kGre6, 4096);
  spec.src_ip_sticky = true;
  ASSERT_TRUE(client_.AddVip(spec).ok());
  ASSERT_TRUE(client_.AddAs({vip, Ip("2001:db8:1::1"), 100, false}).ok());
  ASSERT_TRUE(client_.AddAs({vip, Ip("2001:db8:1::2"), 30, false}).ok());
  auto vips = client_.DumpVips();
  ASSERT_TRUE(vips.ok());
  ASSERT_EQ(vips->size(), 1u);
  EXPECT_EQ((*vips)[0].key, vip);
  EXPECT_EQ((*vips)[0].encap, LbEncap::kGre6);
  EXPECT_TRUE((*vips)[0].FlowTableLengthMatches(4096));
  auto ases = AsesOf(vip);
  ASSERT_EQ(ases.size(), 2u);
  // Bucket counts follow the weights: 4096 = 31 * 130 + 66, and the first 66
  // entries of the (replica, address)-sorted list are replicas 0..29 of both
  // ASes, then replicas 30..35 of ::1 alone.
  EXPECT_EQ(*ases[Ip("2001:db8:1::1")].num_buckets + *ases[Ip("2001:db8:1::2")].num_buckets, 4096u);
  EXPECT_EQ(ases[Ip("2001:db8:1::1")].num_buckets, std::optional<uint32_t>(100 * 31 + 36));
  EXPECT_EQ(ases[Ip("2001:db8:1::2")].num_buckets, std::optional<uint32_t>(30 * 31 + 30));
}

TEST_F(VppsimTest, PipelinedBatch) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  VipKey vip = VipKey::Host(Ip("192.0.2.90"), kLbProtoUdp, 53);
  std::vector<LbCall> calls = {LbAddVip{Spec(vip, LbEncap::kGre4, 8192)}};
  for (uint32_t i = 0; i < 300; ++i) {
    calls.push_back(
        LbAddAs{vip, IpAddress::V4(0x0a010000 + i), static_cast<uint8_t>(1 + i % 20), false});
  }
  calls.push_back(LbAddAs{vip, IpAddress::V4(0x0a010000), 5, false});  // duplicate
  auto results = client_.Execute(calls);
  ASSERT_EQ(results.size(), calls.size());
  for (size_t i = 0; i + 1 < results.size(); ++i) EXPECT_TRUE(results[i].ok()) << i << results[i];
  EXPECT_EQ(results.back().code(), absl::StatusCode::kAlreadyExists);
  auto ases = client_.DumpAses(vip);
  ASSERT_TRUE(ases.ok());
  ASSERT_EQ(ases->size(), 300u);
  uint64_t buckets = 0;
  for (const auto& a : *ases) buckets += a.num_buckets.value_or(0);
  EXPECT_EQ(buckets, 8192u);
}

TEST_F(VppsimTest, LegacyApiLevel) {
  ASSERT_NO_FATAL_FAILURE(StartSim({"--legacy-lb-api"}));
  EXPECT_EQ(client_.api_level(), LbApiLevel::kLegacy);
  EXPECT_EQ(client_.ConfGet().status().code(), absl::StatusCode::kUnimplemented);
  VipKey vip = VipKey::Host(Ip("192.0.2.80"), kLbProtoTcp, 80);
  ASSERT_TRUE(client_.AddVip(Spec(vip)).ok());
  ASSERT_TRUE(client_.AddAs({vip, Ip("10.0.0.1"), 100, false}).ok());
  ASSERT_TRUE(client_.AddAs({vip, Ip("10.0.0.2"), 100, false}).ok());
  EXPECT_EQ(client_.SetAsWeight({vip, Ip("10.0.0.1"), 0, false}).code(),
            absl::StatusCode::kUnimplemented);
  auto ases = AsesOf(vip);
  ASSERT_EQ(ases.size(), 2u);
  EXPECT_FALSE(ases[Ip("10.0.0.1")].weight.has_value());
  ASSERT_TRUE(client_.DelAs({vip, Ip("10.0.0.1"), true}).ok());
  EXPECT_FALSE(AsesOf(vip)[Ip("10.0.0.1")].active());
  auto counters = client_.counters().Snapshot();
  EXPECT_EQ(counters["lb_add_del_as"].calls, 3u);
  EXPECT_EQ(counters.count("lb_add_del_as_v2"), 0u);
}

TEST_F(VppsimTest, CloseUnregistersAndReconnects) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  client_.Close();
  EXPECT_FALSE(client_.connected());
  ASSERT_TRUE(client_.Connect(socket_, std::chrono::milliseconds(5000)).ok());
  EXPECT_TRUE(client_.ControlPing().ok());
}

TEST_F(VppsimTest, SimulatorGoingAwayIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  StopSim();
  absl::StatusOr<uint32_t> pid = client_.ControlPing();
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kUnavailable) << pid.status();
  EXPECT_EQ(client_.api_level(), LbApiLevel::kNone);
}

}  // namespace
}  // namespace maglev
