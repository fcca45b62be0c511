// Test fixture pieces for in-process gRPC tests: a core loop on its own
// thread with a real pipeline (checker with a fake prober, lb stage), a fake dataplane, the real
// server on 127.0.0.1 port 0 and a generated client stub.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "api/server.h"
#include "common/dispatcher.h"
#include "config/loader.h"
#include "core/pipeline.h"
#include "proto/maglev.grpc.pb.h"

namespace maglev::testing {

// Probe results by address (pass unless told otherwise), delivered
// asynchronously on the loop like real probes.
class FakeRunner : public ProbeRunner {
 public:
  explicit FakeRunner(asio::io_context& io) : io_(io) {}
  void Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) override {
    bool ok;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = ok_.find(spec.address.ToString());
      ok = it == ok_.end() || it->second;
    }
    ProbeResult r{ok ? ProbeCode::kL7Ok : ProbeCode::kL7Sts, ok ? "HTTP 200" : "HTTP 503",
                  std::chrono::milliseconds(1)};
    asio::post(io_, [done = std::move(done), r] { done(r); });
  }
  void Set(const std::string& address, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ok_[address] = ok;
  }

 private:
  asio::io_context& io_;
  std::mutex mu_;
  std::map<std::string, bool> ok_;
};

class FakeDataplane : public Dataplane {
 public:
  void GetInfo(std::function<void(absl::StatusOr<VppInfoData>)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error.ok()) return done(error);
    done(info);
  }
  void GetLbState(std::function<void(absl::StatusOr<VppLbStateData>)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error.ok()) return done(error);
    // Answer from another thread, as a real dataplane may.
    std::thread([done, s = state] { done(s); }).detach();
  }
  void Sync(std::optional<std::string> frontend, std::function<void(absl::Status)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    syncs.push_back(frontend ? *frontend : "<all>");
    done(error);
  }
  void InspectFrontend(const std::string& frontend,
                       std::function<void(absl::StatusOr<FrontendDataplaneData>)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    inspected.push_back(frontend);
    if (hold) {  // answered later by the test, as a slow VPP would
      held.push_back(std::move(done));
      return;
    }
    if (!error.ok()) return done(error);
    std::thread([done, v = view] { done(v); }).detach();
  }
  std::vector<std::string> Syncs() {
    std::lock_guard<std::mutex> lock(mu_);
    return syncs;
  }

  std::mutex mu_;
  absl::Status error;
  VppInfoData info;
  VppLbStateData state;
  std::vector<std::string> syncs;
  FrontendDataplaneData view{"in-sync", true, {}, {}, {}};
  std::vector<std::string> inspected;
  bool hold = false;
  std::vector<std::function<void(absl::StatusOr<FrontendDataplaneData>)>> held;
};

inline std::string WriteTempFile(const std::string& text) {
  char path[] = "/tmp/maglev-api-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

// The loop thread and everything that lives on it.
class CoreLoop {
 public:
  CoreLoop() : guard_(asio::make_work_guard(io_)), dispatcher_(io_), runner_(io_) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CoreLoop() {
    Run([this] {
      if (pipeline_) pipeline_->Stop();
      pipeline_.reset();
    });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  // Runs fn on the loop and waits for it.
  template <typename F>
  auto Run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }
  void StartPipeline(std::shared_ptr<const Config> cfg) {
    Run([this, cfg] {
      pipeline_ = std::make_unique<Pipeline>(dispatcher_, runner_, CheckerOptions{.seed = 1});
      pipeline_->Start(cfg);
    });
  }
  asio::io_context& io() { return io_; }
  Pipeline& pipeline() { return *pipeline_; }
  Checker& checker() { return pipeline_->checker(); }
  FakeRunner& runner() { return runner_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  AsioDispatcher dispatcher_;
  FakeRunner runner_;
  std::unique_ptr<Pipeline> pipeline_;
  std::thread thread_;
};

inline std::unique_ptr<Maglev::Stub> MakeStub(int port) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  return Maglev::NewStub(channel);
}

// A context with a generous deadline, so that a bug fails the test instead
// of hanging it.
inline std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 20) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

}  // namespace maglev::testing
