// maglevc's commands: a gRPC client wrapper that turns failures into short
// messages (no gRPC boilerplate), the live-name source for completion, and
// the execution of one parsed command. Runs on the CLI's main thread;
// CancelActiveWatch may be called from another thread (Ctrl-C).
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "grammar.h"
#include "proto/maglev.grpc.pb.h"
#include "render.h"

namespace maglev::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:9090";

class Client {
 public:
  // A plaintext channel to `address`.
  explicit Client(std::string address);
  // A channel made by the caller (e.g. with TLS, api/tls.h).
  Client(std::string address, std::shared_ptr<grpc::Channel> channel);

  const std::string& address() const { return address_; }
  Maglev::Stub& stub() { return *stub_; }

  // One unary call with a deadline. Errors carry the server's message as
  // is, or a plain sentence when maglevd cannot be reached.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (Maglev::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                 Resp*),
                            const Req& req,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    Resp resp;
    grpc::Status st = ((*stub_).*method)(&ctx, req, &resp);
    if (!st.ok()) return Clean(st);
    return resp;
  }

  // Turns a failed call's status into the message a user should see.
  absl::Status Clean(const grpc::Status& st);

  // True once the channel is connected (false after `timeout`).
  bool WaitConnected(std::chrono::milliseconds timeout);

 private:
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Maglev::Stub> stub_;
};

// Frontend, backend, pool and health-check names fetched from maglevd (with
// a short timeout; none when it cannot be reached).
class LiveNames : public NameSource {
 public:
  explicit LiveNames(Client& client) : client_(client) {}
  std::vector<std::string> Names(ArgKind kind, const Parsed& so_far) override;

 private:
  Client& client_;
};

// Where a command writes, and how.
struct Output {
  std::ostream& out;
  std::ostream& err;
  bool color = false;
};

// Exit statuses of one command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitSemantic = 2;  // `config check|reload`: semantic errors
inline constexpr int kExitQuit = -1;     // `quit`: leave the shell

// Runs one parsed command and returns its exit status. Errors are printed
// to `err` as `error: <message>`.
int RunCommand(const Grammar& grammar, const Parsed& cmd, Client& client, const Output& io);

// Cancels the `watch events` in progress, if any (thread-safe). Returns
// whether there was one.
bool CancelActiveWatch();

}  // namespace maglev::cli
