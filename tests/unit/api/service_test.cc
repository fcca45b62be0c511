// In-process gRPC tests of every RPC of maglev.Maglev and every error code:
// the real server on 127.0.0.1 (port 0), the generated client stub, a real
// pipeline (checker, lb stage) on a loop thread with a fake prober, and a
// fake dataplane.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <set>

#include "api/server.h"
#include "api_test_util.h"

namespace maglev {
namespace {

using testing::Ctx;
using testing::FakeDataplane;
using testing::WriteTempFile;

const char* kConfig = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    hc:
      type: http
      port: 8080
      interval: 50ms
      timeout: 20ms
      rise: 1
      fall: 1
      http:
        path: /healthz
        response-code: 200-299
    icmp-check:
      type: icmp
  backends:
    checked: { address: 127.0.0.10, healthcheck: hc }
    primary: { address: 127.0.0.11 }
    fallback: { address: 127.0.0.12 }
    other: { address: 127.0.0.13, enabled: false }
  frontends:
    web:
      description: "public web"
      address: 192.0.2.80
      protocol: tcp
      port: 80
      src-ip-sticky: true
      pools:
        - name: primary
          backends:
            primary: { weight: 60 }
            checked: {}
        - name: fallback
          backends:
            fallback: { weight: 40 }
    api:
      address: 192.0.2.81
      protocol: udp
      port: 53
      flush-on-down: false
      pools:
        - name: main
          backends:
            other: {}
)";

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*with_dataplane=*/true, /*reflection=*/true); }
  void TearDown() override { Stop(); }

  void Start(bool with_dataplane, bool reflection) {
    Logger::Get().SetOutput(nullptr);
    path_ = WriteTempFile(kConfig);
    ConfigResult r = LoadConfigFile(path_);
    ASSERT_TRUE(r.ok()) << r.error;
    loop_ = std::make_unique<testing::CoreLoop>();
    loop_->StartPipeline(r.config);
    ApiServerOptions opts;
    opts.address = "127.0.0.1:0";
    opts.reflection = reflection;
    opts.service.config_path = path_;
    auto s = StartGrpcServer(opts, loop_->io(), loop_->pipeline(),
                             with_dataplane ? &dataplane_ : nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    stub_ = testing::MakeStub(server_->port());
  }

  void Stop() {
    if (server_) server_->Shutdown();
    server_.reset();
    loop_.reset();
    std::remove(path_.c_str());
    Logger::Get().SetOutput(stderr);
  }

  FrontendInfo GetFrontendOk(const std::string& name) {
    GetFrontendRequest req;
    req.set_name(name);
    FrontendInfo info;
    auto st = stub_->GetFrontend(Ctx().get(), req, &info);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return info;
  }

  BackendInfo GetBackendOk(const std::string& name) {
    GetBackendRequest req;
    req.set_name(name);
    BackendInfo info;
    auto st = stub_->GetBackend(Ctx().get(), req, &info);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return info;
  }

  // Polls (bounded) until the backend reaches `state`.
  bool WaitBackendState(const std::string& name, const std::string& state) {
    for (int i = 0; i < 1000; ++i) {
      if (GetBackendOk(name).state() == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  grpc::Status Action(const std::string& action, const std::string& name, BackendInfo* out) {
    BackendRequest req;
    req.set_name(name);
    auto ctx = Ctx();
    if (action == "pause") return stub_->PauseBackend(ctx.get(), req, out);
    if (action == "resume") return stub_->ResumeBackend(ctx.get(), req, out);
    if (action == "enable") return stub_->EnableBackend(ctx.get(), req, out);
    return stub_->DisableBackend(ctx.get(), req, out);
  }

  // {backend -> {weight, effective}} of one pool.
  static std::map<std::string, std::pair<int, int>> Weights(const FrontendInfo& fe,
                                                            const std::string& pool) {
    std::map<std::string, std::pair<int, int>> out;
    for (const auto& p : fe.pools()) {
      if (p.name() != pool) continue;
      for (const auto& b : p.backends()) out[b.name()] = {b.weight(), b.effective_weight()};
    }
    return out;
  }

  std::string path_;
  FakeDataplane dataplane_;
  std::unique_ptr<testing::CoreLoop> loop_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<Maglev::Stub> stub_;
};

TEST_F(ServiceTest, ListFrontendsSorted) {
  ListFrontendsResponse resp;
  ASSERT_TRUE(stub_->ListFrontends(Ctx().get(), {}, &resp).ok());
  EXPECT_EQ(std::vector<std::string>(resp.frontend_names().begin(), resp.frontend_names().end()),
            (std::vector<std::string>{"api", "web"}));
}

TEST_F(ServiceTest, GetFrontendReportsConfiguredAndEffectiveWeights) {
  ASSERT_TRUE(WaitBackendState("checked", "up"));
  FrontendInfo fe = GetFrontendOk("web");
  EXPECT_EQ(fe.name(), "web");
  EXPECT_EQ(fe.address(), "192.0.2.80");
  EXPECT_EQ(fe.protocol(), "tcp");
  EXPECT_EQ(fe.port(), 80u);
  EXPECT_EQ(fe.description(), "public web");
  EXPECT_TRUE(fe.src_ip_sticky());
  EXPECT_TRUE(fe.flush_on_down());
  EXPECT_EQ(fe.state(), "up");
  EXPECT_EQ(fe.active_pool(), "primary");
  ASSERT_EQ(fe.pools_size(), 2);
  EXPECT_EQ(fe.pools(0).name(), "primary");
  ASSERT_EQ(fe.pools(0).backends_size(), 2);
  EXPECT_EQ(fe.pools(0).backends(0).name(), "primary");  // config order
  EXPECT_EQ(fe.pools(0).backends(0).state(), "up");
  EXPECT_TRUE(fe.pools(0).backends(0).enabled());
  EXPECT_EQ(Weights(fe, "primary")["primary"], std::make_pair(60, 60));
  EXPECT_EQ(Weights(fe, "primary")["checked"], std::make_pair(100, 100));
  EXPECT_EQ(Weights(fe, "fallback")["fallback"], std::make_pair(40, 0));  // standby

  FrontendInfo api = GetFrontendOk("api");
  EXPECT_EQ(api.protocol(), "udp");
  EXPECT_FALSE(api.flush_on_down());
  EXPECT_FALSE(api.src_ip_sticky());
  EXPECT_EQ(api.state(), "down");  // its only backend is disabled
  EXPECT_FALSE(api.pools(0).backends(0).enabled());
  EXPECT_EQ(api.pools(0).backends(0).state(), "disabled");
}

TEST_F(ServiceTest, GetFrontendShowsWhereTheDataplaneDisagrees) {
  // In sync: VPP holds exactly what we want.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.view.as_weights = {{*IpAddress::Parse("127.0.0.11"), 60},
                                  {*IpAddress::Parse("127.0.0.12"), 0}};
  }
  FrontendInfo fe = GetFrontendOk("web");
  EXPECT_EQ(fe.dataplane(), "in-sync");
  EXPECT_EQ(fe.dataplane_detail(), "");
  EXPECT_EQ(fe.dataplane_pending_size(), 0);
  EXPECT_EQ(fe.pools(0).backends(0).vpp_weight(), 60);  // primary
  EXPECT_EQ(fe.pools(0).backends(1).vpp_weight(), -1);  // checked: no AS in VPP
  EXPECT_EQ(fe.pools(1).backends(0).vpp_weight(), 0);   // fallback
  EXPECT_FALSE(fe.pools(0).backends(0).vpp_differs());
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    EXPECT_EQ(dataplane_.inspected.back(), "web");
  }

  // Out of sync: one backend differs; the pending calls come through.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.view.status = "out-of-sync";
    dataplane_.view.as_weights[*IpAddress::Parse("127.0.0.11")] = 0;
    dataplane_.view.differing = {*IpAddress::Parse("127.0.0.11")};
    dataplane_.view.pending = {"set-as-weight 192.0.2.80/32 tcp/80 127.0.0.11 weight 60"};
  }
  fe = GetFrontendOk("web");
  EXPECT_EQ(fe.dataplane(), "out-of-sync");
  ASSERT_EQ(fe.dataplane_pending_size(), 1);
  EXPECT_EQ(fe.dataplane_pending(0), "set-as-weight 192.0.2.80/32 tcp/80 127.0.0.11 weight 60");
  EXPECT_EQ(fe.pools(0).backends(0).vpp_weight(), 0);
  EXPECT_EQ(fe.pools(0).backends(0).effective_weight(), 60);
  EXPECT_TRUE(fe.pools(0).backends(0).vpp_differs());
  EXPECT_FALSE(fe.pools(1).backends(0).vpp_differs());

  // VIP missing altogether.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.view.vip_present = false;
  }
  EXPECT_EQ(GetFrontendOk("web").dataplane_detail(), "VIP not in VPP");

  // VPP unreachable: the frontend view still answers, dataplane unknown.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.error = absl::UnavailableError("not connected to VPP");
  }
  fe = GetFrontendOk("web");
  EXPECT_EQ(fe.dataplane(), "unknown");
  EXPECT_EQ(fe.dataplane_detail(), "not connected to VPP");
  EXPECT_EQ(fe.pools(0).backends(0).vpp_weight(), -1);
  EXPECT_EQ(fe.pools(0).backends(0).effective_weight(), 60);
}

TEST_F(ServiceTest, GetFrontendGivenUpWhileVppIsSlow) {
  // The client's deadline passes while the dataplane is still reading VPP;
  // the late answer must find the call over and touch nothing of it.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.hold = true;
  }
  GetFrontendRequest req;
  req.set_name("web");
  FrontendInfo info;
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  EXPECT_EQ(stub_->GetFrontend(ctx.get(), req, &info).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  std::vector<std::function<void(absl::StatusOr<FrontendDataplaneData>)>> late;
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    late.swap(dataplane_.held);
    dataplane_.hold = false;
  }
  ASSERT_EQ(late.size(), 1u);
  late[0](FrontendDataplaneData{"in-sync", true, {}, {}, {}});
  EXPECT_EQ(GetFrontendOk("web").dataplane(), "in-sync");
}

TEST_F(ServiceTest, GetFrontendErrors) {
  GetFrontendRequest req;
  FrontendInfo info;
  auto st = stub_->GetFrontend(Ctx().get(), req, &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_name("nope");
  st = stub_->GetFrontend(Ctx().get(), req, &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "frontend \"nope\" not found");
}

TEST_F(ServiceTest, ListAndGetBackends) {
  ListBackendsResponse resp;
  ASSERT_TRUE(stub_->ListBackends(Ctx().get(), {}, &resp).ok());
  EXPECT_EQ(std::vector<std::string>(resp.backend_names().begin(), resp.backend_names().end()),
            (std::vector<std::string>{"checked", "fallback", "other", "primary"}));

  ASSERT_TRUE(WaitBackendState("checked", "up"));
  BackendInfo b = GetBackendOk("checked");
  EXPECT_EQ(b.name(), "checked");
  EXPECT_EQ(b.address(), "127.0.0.10");
  EXPECT_EQ(b.healthcheck(), "hc");
  EXPECT_TRUE(b.enabled());
  EXPECT_EQ(b.rise(), 1);
  EXPECT_EQ(b.fall(), 1);
  EXPECT_EQ(b.last_code(), "L7OK");
  EXPECT_EQ(b.last_detail(), "HTTP 200");
  EXPECT_EQ(std::vector<std::string>(b.frontends().begin(), b.frontends().end()),
            (std::vector<std::string>{"web"}));
  ASSERT_GE(b.transitions_size(), 1);
  EXPECT_EQ(b.transitions(0).to(), "up");  // newest first
  EXPECT_EQ(b.transitions(0).from(), "unknown");
  EXPECT_EQ(b.transitions(0).code(), "L7OK");
  EXPECT_EQ(b.transitions(0).detail(), "HTTP 200");
  EXPECT_GT(b.transitions(0).at_unix_ns(), 0);

  BackendInfo o = GetBackendOk("other");
  EXPECT_EQ(o.state(), "disabled");
  EXPECT_FALSE(o.enabled());
  EXPECT_EQ(o.healthcheck(), "");

  GetBackendRequest req;
  BackendInfo info;
  EXPECT_EQ(stub_->GetBackend(Ctx().get(), req, &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_name("ghost");
  auto st = stub_->GetBackend(Ctx().get(), req, &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "backend \"ghost\" not found");
}

TEST_F(ServiceTest, OperatorActionsAndTheirErrors) {
  ASSERT_TRUE(WaitBackendState("checked", "up"));
  BackendInfo b;
  ASSERT_TRUE(Action("pause", "checked", &b).ok());
  EXPECT_EQ(b.state(), "paused");
  EXPECT_EQ(GetBackendOk("checked").state(), "paused");
  ASSERT_TRUE(Action("resume", "checked", &b).ok());
  EXPECT_EQ(b.transitions(0).from(), "paused");
  ASSERT_TRUE(WaitBackendState("checked", "up"));

  ASSERT_TRUE(Action("disable", "checked", &b).ok());
  EXPECT_EQ(b.state(), "disabled");
  EXPECT_FALSE(b.enabled());
  int transitions = b.transitions_size();
  int64_t newest = b.transitions(0).at_unix_ns();
  // Disable of a disabled backend: a no-op, no new transition.
  ASSERT_TRUE(Action("disable", "checked", &b).ok());
  EXPECT_EQ(b.transitions_size(), transitions);
  EXPECT_EQ(b.transitions(0).at_unix_ns(), newest);

  auto st = Action("pause", "checked", &b);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  st = Action("resume", "checked", &b);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();

  ASSERT_TRUE(Action("enable", "checked", &b).ok());
  EXPECT_TRUE(b.enabled());
  EXPECT_EQ(b.transitions(0).from(), "disabled");
  ASSERT_TRUE(WaitBackendState("checked", "up"));

  for (const char* action : {"pause", "resume", "enable", "disable"}) {
    EXPECT_EQ(Action(action, "ghost", &b).error_code(), grpc::StatusCode::NOT_FOUND) << action;
    EXPECT_EQ(Action(action, "", &b).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << action;
  }
}

TEST_F(ServiceTest, HealthChecks) {
  ListHealthChecksResponse resp;
  ASSERT_TRUE(stub_->ListHealthChecks(Ctx().get(), {}, &resp).ok());
  EXPECT_EQ(std::vector<std::string>(resp.names().begin(), resp.names().end()),
            (std::vector<std::string>{"hc", "icmp-check"}));

  GetHealthCheckRequest req;
  req.set_name("hc");
  HealthCheckInfo hc;
  ASSERT_TRUE(stub_->GetHealthCheck(Ctx().get(), req, &hc).ok());
  EXPECT_EQ(hc.type(), "http");
  EXPECT_EQ(hc.port(), 8080u);
  EXPECT_EQ(hc.interval_ns(), 50'000'000);
  EXPECT_EQ(hc.fast_interval_ns(), 50'000'000);  // defaults to interval
  EXPECT_EQ(hc.timeout_ns(), 20'000'000);
  EXPECT_EQ(hc.rise(), 1);
  EXPECT_EQ(hc.fall(), 1);
  ASSERT_TRUE(hc.has_http());
  EXPECT_EQ(hc.http().path(), "/healthz");
  EXPECT_EQ(hc.http().response_code_min(), 200);
  EXPECT_EQ(hc.http().response_code_max(), 299);
  EXPECT_FALSE(hc.has_tcp());

  req.set_name("icmp-check");
  ASSERT_TRUE(stub_->GetHealthCheck(Ctx().get(), req, &hc).ok());
  EXPECT_EQ(hc.type(), "icmp");

  req.set_name("nope");
  EXPECT_EQ(stub_->GetHealthCheck(Ctx().get(), req, &hc).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_name("");
  EXPECT_EQ(stub_->GetHealthCheck(Ctx().get(), req, &hc).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, SetWeight) {
  ASSERT_TRUE(WaitBackendState("checked", "up"));
  SetWeightRequest req;
  req.set_frontend("web");
  req.set_pool("primary");
  req.set_backend("primary");
  req.set_weight(25);
  FrontendInfo fe;
  ASSERT_TRUE(stub_->SetFrontendPoolBackendWeight(Ctx().get(), req, &fe).ok());
  EXPECT_EQ(Weights(fe, "primary")["primary"], std::make_pair(25, 25));
  EXPECT_EQ(Weights(GetFrontendOk("web"), "primary")["primary"], std::make_pair(25, 25));
  req.set_weight(0);
  ASSERT_TRUE(stub_->SetFrontendPoolBackendWeight(Ctx().get(), req, &fe).ok());
  EXPECT_EQ(Weights(fe, "primary")["primary"], std::make_pair(0, 0));

  for (int bad : {-1, 101, 1000}) {
    req.set_weight(bad);
    auto st = stub_->SetFrontendPoolBackendWeight(Ctx().get(), req, &fe);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  req.set_weight(50);
  auto with = [&](const char* f, const char* p, const char* b) {
    SetWeightRequest r = req;
    r.set_frontend(f);
    r.set_pool(p);
    r.set_backend(b);
    return stub_->SetFrontendPoolBackendWeight(Ctx().get(), r, &fe).error_code();
  };
  EXPECT_EQ(with("nope", "primary", "primary"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(with("web", "nope", "primary"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(with("web", "primary", "fallback"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(with("", "primary", "primary"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(with("web", "", "primary"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(with("web", "primary", ""), grpc::StatusCode::INVALID_ARGUMENT);
  // Nothing changed by the failed calls.
  EXPECT_EQ(Weights(GetFrontendOk("web"), "primary")["primary"], std::make_pair(0, 0));
}

TEST_F(ServiceTest, PoolFailoverOnDisableAndBack) {
  ASSERT_TRUE(WaitBackendState("checked", "up"));
  BackendInfo b;
  ASSERT_TRUE(Action("disable", "checked", &b).ok());
  ASSERT_TRUE(Action("disable", "primary", &b).ok());
  FrontendInfo fe = GetFrontendOk("web");
  EXPECT_EQ(fe.active_pool(), "fallback");
  EXPECT_EQ(Weights(fe, "fallback")["fallback"], std::make_pair(40, 40));
  EXPECT_EQ(Weights(fe, "primary")["primary"], std::make_pair(60, 0));
  EXPECT_EQ(Weights(fe, "primary")["checked"], std::make_pair(100, 0));

  ASSERT_TRUE(Action("enable", "primary", &b).ok());
  ASSERT_TRUE(WaitBackendState("primary", "up"));
  fe = GetFrontendOk("web");
  EXPECT_EQ(fe.active_pool(), "primary");
  EXPECT_EQ(Weights(fe, "primary")["primary"], std::make_pair(60, 60));
  EXPECT_EQ(Weights(fe, "fallback")["fallback"], std::make_pair(40, 0));
}

TEST_F(ServiceTest, CheckConfigReportsWithoutApplying) {
  CheckConfigResponse resp;
  ASSERT_TRUE(stub_->CheckConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_TRUE(resp.ok());
  EXPECT_EQ(resp.parse_error(), "");
  EXPECT_EQ(resp.semantic_error(), "");

  std::ofstream(path_) << "maglev:\n  frontends: [\n";  // broken YAML
  ASSERT_TRUE(stub_->CheckConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_FALSE(resp.ok());
  EXPECT_NE(resp.parse_error(), "");
  EXPECT_EQ(resp.semantic_error(), "");

  std::string semantic = std::string(kConfig);
  semantic.replace(semantic.find("fallback: { weight: 40 }"), 24, "ghost: {}");
  std::ofstream(path_) << semantic;
  ASSERT_TRUE(stub_->CheckConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_FALSE(resp.ok());
  EXPECT_EQ(resp.parse_error(), "");
  EXPECT_NE(resp.semantic_error().find("ghost"), std::string::npos) << resp.semantic_error();

  // The running configuration did not change.
  EXPECT_EQ(Weights(GetFrontendOk("web"), "fallback").count("fallback"), 1u);
}

TEST_F(ServiceTest, ReloadConfig) {
  std::string next = std::string(kConfig) + R"(
    extra:
      address: 192.0.2.82
      protocol: tcp
      port: 443
      pools:
        - name: p
          backends:
            fallback: {}
)";
  std::ofstream(path_) << next;
  ReloadConfigResponse resp;
  ASSERT_TRUE(stub_->ReloadConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_TRUE(resp.ok()) << resp.parse_error() << resp.semantic_error();
  EXPECT_EQ(GetFrontendOk("extra").port(), 443u);

  std::ofstream(path_) << "maglev: {unknown-key: 1}\n";
  ASSERT_TRUE(stub_->ReloadConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_FALSE(resp.ok());
  EXPECT_NE(resp.parse_error(), "");
  EXPECT_EQ(resp.reload_error(), "");

  std::string semantic = next;
  semantic.replace(semantic.find("fallback: {}"), 12, "ghost: {}");
  std::ofstream(path_) << semantic;
  ASSERT_TRUE(stub_->ReloadConfig(Ctx().get(), {}, &resp).ok());
  EXPECT_FALSE(resp.ok());
  EXPECT_EQ(resp.parse_error(), "");
  EXPECT_NE(resp.semantic_error(), "");
  // A bad file changes nothing.
  EXPECT_EQ(GetFrontendOk("extra").pools(0).backends(0).name(), "fallback");
}

TEST_F(ServiceTest, ConfigRpcsWithoutConfigFile) {
  ApiServerOptions opts;
  opts.address = "127.0.0.1:0";
  auto other = StartGrpcServer(opts, loop_->io(), loop_->pipeline(), nullptr);
  ASSERT_TRUE(other.ok()) << other.status();
  auto stub = testing::MakeStub((*other)->port());
  CheckConfigResponse check;
  EXPECT_EQ(stub->CheckConfig(Ctx().get(), {}, &check).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ReloadConfigResponse reload;
  EXPECT_EQ(stub->ReloadConfig(Ctx().get(), {}, &reload).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  (*other)->Shutdown();
}

TEST_F(ServiceTest, VppRpcsThroughTheDataplane) {
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.info = VppInfoData{true, "24.10", "2024-10-01", "/src/vpp", "lb 1.2.0 (weights)",
                                  1234, 1'000,   2'000};
    VppVipData vip{"192.0.2.80/32", 6, 80, "gre4", 1024, {}};
    vip.ases.push_back(VppAsData{*IpAddress::Parse("127.0.0.11"), 60, 1, 512, 3'000});
    dataplane_.state = VppLbStateData{"192.0.2.1", "", 65536, 40, {vip}};
  }
  VPPInfo info;
  ASSERT_TRUE(stub_->GetVPPInfo(Ctx().get(), {}, &info).ok());
  EXPECT_EQ(info.version(), "24.10");
  EXPECT_EQ(info.build_date(), "2024-10-01");
  EXPECT_EQ(info.build_directory(), "/src/vpp");
  EXPECT_EQ(info.pid(), 1234u);
  EXPECT_EQ(info.boottime_ns(), 1000);
  EXPECT_EQ(info.connecttime_ns(), 2000);
  EXPECT_EQ(info.lb_api(), "lb 1.2.0 (weights)");
  EXPECT_TRUE(info.connected());

  VPPLBState state;
  ASSERT_TRUE(stub_->GetVPPLBState(Ctx().get(), {}, &state).ok());
  EXPECT_EQ(state.conf().ip4_src_address(), "192.0.2.1");
  EXPECT_EQ(state.conf().sticky_buckets_per_core(), 65536u);
  EXPECT_EQ(state.conf().flow_timeout(), 40u);
  ASSERT_EQ(state.vips_size(), 1);
  EXPECT_EQ(state.vips(0).prefix(), "192.0.2.80/32");
  EXPECT_EQ(state.vips(0).encap(), "gre4");
  ASSERT_EQ(state.vips(0).application_servers_size(), 1);
  EXPECT_EQ(state.vips(0).application_servers(0).address(), "127.0.0.11");
  EXPECT_EQ(state.vips(0).application_servers(0).weight(), 60u);
  EXPECT_EQ(state.vips(0).application_servers(0).num_buckets(), 512u);
  EXPECT_EQ(state.vips(0).application_servers(0).in_use_since_ns(), 3000);

  SyncVPPLBStateRequest sync;
  SyncVPPLBStateResponse sresp;
  ASSERT_TRUE(stub_->SyncVPPLBState(Ctx().get(), sync, &sresp).ok());
  sync.set_frontend_name("web");
  ASSERT_TRUE(stub_->SyncVPPLBState(Ctx().get(), sync, &sresp).ok());
  EXPECT_EQ(dataplane_.Syncs(), (std::vector<std::string>{"<all>", "web"}));
  sync.set_frontend_name("nope");
  EXPECT_EQ(stub_->SyncVPPLBState(Ctx().get(), sync, &sresp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  sync.set_frontend_name("");
  EXPECT_EQ(stub_->SyncVPPLBState(Ctx().get(), sync, &sresp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(dataplane_.Syncs().size(), 2u);

  // Disconnected VPP: UNAVAILABLE, with the dataplane's own message.
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.info.connected = false;
  }
  EXPECT_EQ(stub_->GetVPPInfo(Ctx().get(), {}, &info).error_code(), grpc::StatusCode::UNAVAILABLE);
  {
    std::lock_guard<std::mutex> lock(dataplane_.mu_);
    dataplane_.error = absl::UnavailableError("not connected to VPP");
  }
  auto st = stub_->GetVPPLBState(Ctx().get(), {}, &state);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "not connected to VPP");
  sync.clear_frontend_name();
  EXPECT_EQ(stub_->SyncVPPLBState(Ctx().get(), sync, &sresp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, GetVersion) {
  VersionInfo v;
  ASSERT_TRUE(stub_->GetVersion(Ctx().get(), {}, &v).ok());
  EXPECT_EQ(v.version(), MAGLEV_VERSION);
  EXPECT_EQ(v.config_path(), path_);
  EXPECT_GT(v.start_time_unix_ns(), 0);
}

// Reads events until `pred` matches one (bounded by the context deadline).
template <typename Pred>
bool ReadUntil(grpc::ClientReader<Event>* reader, Pred pred, std::vector<Event>* seen = nullptr) {
  Event e;
  while (reader->Read(&e)) {
    if (seen) seen->push_back(e);
    if (pred(e)) return true;
  }
  return false;
}

TEST_F(ServiceTest, WatchEventsEverything) {
  ASSERT_TRUE(WaitBackendState("checked", "up"));
  auto ctx = Ctx();
  auto reader = stub_->WatchEvents(ctx.get(), WatchRequest{});
  reader->WaitForInitialMetadata();  // subscribed from here on
  BackendInfo b;
  ASSERT_TRUE(Action("disable", "primary", &b).ok());
  // Both the backend event and its log record arrive, in either order.
  bool got_event = false, got_log = false;
  ASSERT_TRUE(ReadUntil(reader.get(), [&](const Event& e) {
    if (e.has_backend() && e.backend().backend_name() == "primary" &&
        e.backend().transition().to() == "disabled") {
      EXPECT_EQ(e.backend().transition().from(), "up");
      got_event = true;
    }
    if (e.has_log() && e.log().msg() == "backend-transition") {
      EXPECT_EQ(e.log().level(), "info");
      got_log = true;
    }
    return got_event && got_log;
  }));
  // Disabling one of web's backends does not change web's state (still up):
  // the frontend event comes from a frontend that does change.
  ASSERT_TRUE(Action("disable", "checked", &b).ok());
  ASSERT_TRUE(Action("disable", "fallback", &b).ok());
  ASSERT_TRUE(ReadUntil(reader.get(), [](const Event& e) {
    return e.has_frontend() && e.frontend().frontend_name() == "web" &&
           e.frontend().to() == "down" && e.frontend().from() == "up";
  }));
  ctx->TryCancel();
  reader->Finish();
}

TEST_F(ServiceTest, WatchEventsFiltersAndLogLevelIndependentOfDaemon) {
  Logger::Get().SetLevel(LogLevel::kError);  // the daemon's own level
  {
    auto ctx = Ctx();
    WatchRequest req;
    req.set_backend(false);
    req.set_frontend(false);
    req.set_log_level("debug");
    auto reader = stub_->WatchEvents(ctx.get(), req);
    reader->WaitForInitialMetadata();
    LogDebug("watch-test-debug", {{"x", 1}});
    std::vector<Event> seen;
    ASSERT_TRUE(ReadUntil(
        reader.get(), [](const Event& e) { return e.log().msg() == "watch-test-debug"; }, &seen));
    for (const Event& e : seen) EXPECT_TRUE(e.has_log());
    EXPECT_EQ(seen.back().log().level(), "debug");
    ASSERT_EQ(seen.back().log().attrs_size(), 1);
    EXPECT_EQ(seen.back().log().attrs(0).key(), "x");
    ctx->TryCancel();
    reader->Finish();
  }
  {
    auto ctx = Ctx();
    WatchRequest req;
    req.set_log(false);
    auto reader = stub_->WatchEvents(ctx.get(), req);
    reader->WaitForInitialMetadata();
    LogError("watch-test-error");
    BackendInfo b;
    ASSERT_TRUE(Action("disable", "primary", &b).ok());
    std::vector<Event> seen;
    ASSERT_TRUE(ReadUntil(
        reader.get(), [](const Event& e) { return e.has_backend(); }, &seen));
    for (const Event& e : seen) EXPECT_FALSE(e.has_log());
    ctx->TryCancel();
    reader->Finish();
  }
  Logger::Get().SetLevel(LogLevel::kInfo);
}

// A burst queues behind the write in flight and goes out back to back
// (coalesced writes); every event arrives, in order, none is lost.
TEST_F(ServiceTest, WatchEventsBurstArrivesInOrder) {
  auto ctx = Ctx();
  WatchRequest req;
  req.set_log(false);
  auto reader = stub_->WatchEvents(ctx.get(), req);
  reader->WaitForInitialMetadata();
  const int kEvents = 500;  // below the queue capacity: nothing may be dropped
  Transition t;
  t.from = BackendState::kUp;
  t.to = BackendState::kDown;
  for (int i = 0; i < kEvents; ++i) {
    server_->hub().PublishBackendTransition("burst" + std::to_string(i), t);
  }
  Event e;
  int got = 0;
  while (got < kEvents && reader->Read(&e)) {
    if (!e.has_backend() || e.backend().backend_name().rfind("burst", 0) != 0) continue;
    EXPECT_EQ(e.backend().backend_name(), "burst" + std::to_string(got));
    ++got;
  }
  EXPECT_EQ(got, kEvents);
  EXPECT_EQ(server_->hub().dropped_total(), 0u);
  ctx->TryCancel();
  reader->Finish();
}

TEST_F(ServiceTest, WatchEventsBadLevel) {
  WatchRequest req;
  req.set_log_level("loud");
  auto ctx = Ctx();
  auto reader = stub_->WatchEvents(ctx.get(), req);
  Event e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, ShutdownClosesWatchStreams) {
  auto ctx = Ctx();
  auto reader = stub_->WatchEvents(ctx.get(), WatchRequest{});
  reader->WaitForInitialMetadata();
  EXPECT_EQ(server_->hub().subscriber_count(), 1u);
  std::thread stopper([this] { server_->Shutdown(); });
  Event e;
  while (reader->Read(&e)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
  stopper.join();
}

// The daemon's signal handler runs on the loop: ShutdownAsync from there
// drains the server while the loop keeps running.
TEST_F(ServiceTest, ShutdownAsyncFromTheLoop) {
  auto ctx = Ctx();
  auto reader = stub_->WatchEvents(ctx.get(), WatchRequest{});
  reader->WaitForInitialMetadata();
  std::promise<void> done;
  asio::post(loop_->io(), [&] { server_->ShutdownAsync([&] { done.set_value(); }); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  Event e;
  while (reader->Read(&e)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
  ListFrontendsResponse resp;
  EXPECT_FALSE(stub_->ListFrontends(Ctx(2).get(), {}, &resp).ok());  // no longer serving
}

// A call waiting for a stalled loop does not keep shutdown from finishing:
// after the grace period it is cancelled.
TEST_F(ServiceTest, ShutdownDoesNotHangOnAStalledLoop) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  asio::post(loop_->io(), [released] { released.wait(); });
  ListFrontendsResponse resp;
  grpc::Status status;
  std::thread caller([&] { status = stub_->ListFrontends(Ctx().get(), {}, &resp); });
  // Give the call time to reach the server (if it does not, it is refused
  // at shutdown instead: the assertions below hold either way).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Shutdown(std::chrono::milliseconds(100));
  caller.join();
  EXPECT_FALSE(status.ok());
  release.set_value();
}

TEST_F(ServiceTest, ReflectionListsTheService) {
  // ServerReflectionRequest{list_services: ""} as raw bytes (field 7).
  grpc::GenericStub generic(grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                                grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  auto ctx = Ctx();
  auto call = generic.PrepareCall(
      ctx.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  const char req_bytes[] = {0x3a, 0x00};
  grpc::Slice slice(req_bytes, sizeof req_bytes);
  grpc::ByteBuffer req(&slice, 1);
  call->WriteLast(req, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find("maglev.Maglev"), std::string::npos);
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

class NoDataplaneNoReflectionTest : public ServiceTest {
 protected:
  void SetUp() override { Start(/*with_dataplane=*/false, /*reflection=*/false); }
};

TEST_F(NoDataplaneNoReflectionTest, VppRpcsUnavailable) {
  VPPInfo info;
  auto st = stub_->GetVPPInfo(Ctx().get(), {}, &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "dataplane disabled");
  VPPLBState state;
  EXPECT_EQ(stub_->GetVPPLBState(Ctx().get(), {}, &state).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  SyncVPPLBStateResponse sresp;
  EXPECT_EQ(stub_->SyncVPPLBState(Ctx().get(), {}, &sresp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Everything else still works; the frontend view has no dataplane part.
  FrontendInfo fe = GetFrontendOk("web");
  EXPECT_EQ(fe.name(), "web");
  EXPECT_EQ(fe.dataplane(), "");
  EXPECT_EQ(fe.pools(0).backends(0).vpp_weight(), -1);
  EXPECT_FALSE(fe.pools(0).backends(0).vpp_differs());
}

TEST_F(NoDataplaneNoReflectionTest, ReflectionOff) {
  grpc::GenericStub generic(grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                                grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  auto ctx = Ctx();
  auto call = generic.PrepareCall(
      ctx.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(3));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(3)) {
  }
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace maglev
