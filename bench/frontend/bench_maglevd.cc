// SPDX-License-Identifier: Apache-2.0
// A bench-only stand-in for maglevd: the Maglev gRPC service over synthetic
// state, so that one real maglevd-frontend can be loaded with several
// routers of 1,000 frontends each and a controlled event rate without
// running thousands of real backends (docs/benchmarks.md).
//
//   bench_maglevd --ports 19101,19102,19103 --frontends 1000 --rate 1000
//
// Each port is one "router" with the same configuration: frontend fe0000..
// with a primary pool of two backends and a fallback pool of one, 2 backends
// per frontend; GetVPPLBState reports every VIP with its ASes and buckets.
// WatchEvents streams --rate events per second in all (split across the
// routers' streams), paced every 10 ms: probe-start / probe-done log records
// (debug), and every --transition-every-th event a backend transition that
// also changes the state the unary calls report.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proto/maglev.grpc.pb.h"

namespace {

using grpc::ServerContext;
using grpc::Status;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Name(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%04d", prefix, i);
  return buf;
}

std::string BackendAddress(int i) {
  return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
         std::to_string(i % 256);
}

class Router final : public maglev::Maglev::Service {
 public:
  Router(int frontends, double rate, int transition_every)
      : frontends_(frontends),
        backends_(frontends * 2),
        rate_(rate),
        transition_every_(transition_every),
        up_(backends_, true),
        start_ns_(NowNs()) {}

  Status ListFrontends(ServerContext*, const maglev::ListFrontendsRequest*,
                       maglev::ListFrontendsResponse* r) override {
    for (int i = 0; i < frontends_; ++i) r->add_frontend_names(Name("fe", i));
    return Status::OK;
  }

  Status GetFrontend(ServerContext*, const maglev::GetFrontendRequest* q,
                     maglev::FrontendInfo* r) override {
    int i = Index(q->name(), "fe", frontends_);
    if (i < 0) return Status(grpc::StatusCode::NOT_FOUND, "no frontend " + q->name());
    std::lock_guard lock(mu_);
    r->set_name(q->name());
    r->set_address("192.0." + std::to_string(2 + i / 256) + "." + std::to_string(i % 256));
    r->set_protocol("tcp");
    r->set_port(80);
    r->set_description("synthetic");
    r->set_flush_on_down(true);
    int b0 = 2 * i, b1 = 2 * i + 1, spare = (2 * i + 2) % backends_;
    bool primary = up_[b0] || up_[b1];
    r->set_state(primary || up_[spare] ? "up" : "down");
    r->set_active_pool(primary ? "primary" : "fallback");
    r->set_dataplane("in-sync");
    auto add = [&](maglev::PoolInfo* p, int b, bool active) {
      auto* pb = p->add_backends();
      pb->set_name(Name("be", b));
      pb->set_weight(100);
      int eff = active && up_[b] ? 100 : 0;
      pb->set_effective_weight(eff);
      pb->set_state(up_[b] ? "up" : "down");
      pb->set_enabled(true);
      pb->set_vpp_weight(eff);
    };
    auto* p = r->add_pools();
    p->set_name("primary");
    add(p, b0, true);
    add(p, b1, true);
    auto* f = r->add_pools();
    f->set_name("fallback");
    add(f, spare, !primary);
    return Status::OK;
  }

  Status ListBackends(ServerContext*, const maglev::ListBackendsRequest*,
                      maglev::ListBackendsResponse* r) override {
    for (int i = 0; i < backends_; ++i) r->add_backend_names(Name("be", i));
    return Status::OK;
  }

  Status GetBackend(ServerContext*, const maglev::GetBackendRequest* q,
                    maglev::BackendInfo* r) override {
    int i = Index(q->name(), "be", backends_);
    if (i < 0) return Status(grpc::StatusCode::NOT_FOUND, "no backend " + q->name());
    std::lock_guard lock(mu_);
    r->set_name(q->name());
    r->set_address(BackendAddress(i));
    r->set_state(up_[i] ? "up" : "down");
    r->set_enabled(true);
    r->set_healthcheck("http");
    r->set_counter(up_[i] ? 4 : 0);
    r->set_rise(2);
    r->set_fall(3);
    r->set_last_code(up_[i] ? "L7OK" : "L7STS");
    r->set_last_detail(up_[i] ? "HTTP 200" : "HTTP 503");
    r->add_frontends(Name("fe", i / 2));
    auto* t = r->add_transitions();
    t->set_from("unknown");
    t->set_to("up");
    t->set_at_unix_ns(start_ns_);
    t->set_code("L7OK");
    return Status::OK;
  }

  Status ListHealthChecks(ServerContext*, const maglev::ListHealthChecksRequest*,
                          maglev::ListHealthChecksResponse* r) override {
    r->add_names("http");
    return Status::OK;
  }

  Status GetHealthCheck(ServerContext*, const maglev::GetHealthCheckRequest*,
                        maglev::HealthCheckInfo* r) override {
    r->set_name("http");
    r->set_type("http");
    r->set_port(80);
    r->set_interval_ns(2'000'000'000);
    r->set_rise(2);
    r->set_fall(3);
    return Status::OK;
  }

  Status GetVPPInfo(ServerContext*, const maglev::GetVPPInfoRequest*, maglev::VPPInfo* r) override {
    r->set_version("bench");
    r->set_connected(true);
    r->set_lb_api("lb 1.2.0 (weights)");
    r->set_boottime_ns(start_ns_);
    r->set_connecttime_ns(start_ns_);
    return Status::OK;
  }

  Status GetVPPLBState(ServerContext*, const maglev::GetVPPLBStateRequest*,
                       maglev::VPPLBState* r) override {
    std::lock_guard lock(mu_);
    for (int i = 0; i < frontends_; ++i) {
      auto* vip = r->add_vips();
      vip->set_prefix("192.0." + std::to_string(2 + i / 256) + "." + std::to_string(i % 256) +
                      "/32");
      vip->set_protocol(6);
      vip->set_port(80);
      vip->set_encap("gre4");
      vip->set_flow_table_length(1024);
      int b0 = 2 * i, b1 = 2 * i + 1;
      int live = up_[b0] + up_[b1];
      for (int b : {b0, b1}) {
        auto* as = vip->add_application_servers();
        as->set_address(BackendAddress(b));
        as->set_weight(up_[b] ? 100 : 0);
        as->set_num_buckets(up_[b] ? 1024 / std::max(1, live) : 0);
      }
    }
    return Status::OK;
  }

  Status GetVersion(ServerContext*, const maglev::GetVersionRequest*,
                    maglev::VersionInfo* r) override {
    r->set_version("bench");
    r->set_start_time_unix_ns(start_ns_);
    return Status::OK;
  }

  Status WatchEvents(ServerContext* ctx, const maglev::WatchRequest*,
                     grpc::ServerWriter<maglev::Event>* w) override {
    std::mt19937 rng(std::random_device{}());
    auto tick = std::chrono::milliseconds(10);
    auto next = std::chrono::steady_clock::now();
    double carry = 0;
    uint64_t n = 0;
    while (!ctx->IsCancelled() && !stop_.load()) {
      next += tick;
      std::this_thread::sleep_until(next);
      carry += rate_ * 0.01;
      int count = static_cast<int>(carry);
      carry -= count;
      for (int k = 0; k < count; ++k) {
        maglev::Event ev;
        int b = static_cast<int>(rng() % backends_);
        if (transition_every_ > 0 && ++n % transition_every_ == 0) {
          bool to_up;
          {
            std::lock_guard lock(mu_);
            up_[b] = !up_[b];
            to_up = up_[b];
          }
          auto* be = ev.mutable_backend();
          be->set_backend_name(Name("be", b));
          be->mutable_transition()->set_from(to_up ? "down" : "up");
          be->mutable_transition()->set_to(to_up ? "up" : "down");
          be->mutable_transition()->set_at_unix_ns(NowNs());
          be->mutable_transition()->set_code(to_up ? "L7OK" : "L7STS");
        } else {
          bool start = n++ % 2 == 0;
          auto* l = ev.mutable_log();
          l->set_at_unix_ns(NowNs());
          l->set_level("debug");
          l->set_msg(start ? "probe-start" : "probe-done");
          auto attr = [l](const char* key, std::string v) {
            auto* a = l->add_attrs();
            a->set_key(key);
            a->set_value(std::move(v));
          };
          attr("backend", Name("be", b));
          attr("type", "http");
          if (!start) {
            attr("ok", "true");
            attr("code", "L7OK");
            attr("detail", "HTTP 200");
            attr("elapsed", "1.234ms");
          }
        }
        if (!w->Write(ev)) return Status::OK;
        sent_.fetch_add(1);
      }
    }
    return Status::OK;
  }

  void Stop() { stop_ = true; }
  uint64_t sent() const { return sent_.load(); }

 private:
  static int Index(const std::string& name, const char* prefix, int limit) {
    size_t n = std::strlen(prefix);
    if (name.compare(0, n, prefix) != 0) return -1;
    int i = std::atoi(name.c_str() + n);
    return i >= 0 && i < limit && Name(prefix, i) == name ? i : -1;
  }

  const int frontends_, backends_;
  const double rate_;
  const int transition_every_;
  std::mutex mu_;
  std::vector<bool> up_;
  const int64_t start_ns_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
};

std::atomic<bool> g_stop{false};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> ports;
  int frontends = 1000;
  double rate = 1000;
  int transition_every = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_maglevd: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--ports") {
      std::stringstream ss(next());
      std::string p;
      while (std::getline(ss, p, ',')) ports.push_back(std::atoi(p.c_str()));
    } else if (a == "--frontends") {
      frontends = std::atoi(next().c_str());
    } else if (a == "--rate") {
      rate = std::atof(next().c_str());
    } else if (a == "--transition-every") {
      transition_every = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr,
                   "usage: bench_maglevd --ports P,P,... [--frontends N] [--rate EVENTS_PER_S] "
                   "[--transition-every N]\n");
      return 2;
    }
  }
  if (ports.empty()) ports = {19101, 19102, 19103};
  std::vector<std::unique_ptr<Router>> routers;
  std::vector<std::unique_ptr<grpc::Server>> servers;
  for (int port : ports) {
    routers.push_back(std::make_unique<Router>(frontends, rate / ports.size(), transition_every));
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
    b.RegisterService(routers.back().get());
    b.SetMaxSendMessageSize(64 << 20);
    servers.push_back(b.BuildAndStart());
    if (!servers.back()) {
      std::fprintf(stderr, "bench_maglevd: cannot listen on 127.0.0.1:%d\n", port);
      return 3;
    }
  }
  std::printf("bench_maglevd: %zu routers x %d frontends, %.0f events/s in all\n", ports.size(),
              frontends, rate);
  std::fflush(stdout);
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  uint64_t sent = 0;
  for (auto& r : routers) {
    r->Stop();
    sent += r->sent();
  }
  for (auto& s : servers) s->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  std::printf("bench_maglevd: %llu events sent\n", static_cast<unsigned long long>(sent));
  return 0;
}
