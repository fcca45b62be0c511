// SPDX-License-Identifier: Apache-2.0
#include "vpp/lb_session.h"

#include "vpp/lb_client.h"

namespace maglev {

struct SocketLbConnector::ClientHolder {
  LbClient client;
};

// A view of the connector's LbClient for one connection.
class SocketLbConnector::Session : public LbSession {
 public:
  explicit Session(LbClient& client) : client_(client) {}
  ~Session() override {
    watch_.reset();
    client_.Close();
  }

  void WatchIdle(Dispatcher& loop, std::function<void(absl::Status)> on_lost) override {
    watch_ = loop.WatchReadable(client_.fd(), [this, on_lost = std::move(on_lost)] {
      absl::Status st = client_.ServiceIdle();
      if (st.ok()) return;
      auto lost = on_lost;  // the watch (and this lambda) ends here
      watch_.reset();
      lost(st);  // may destroy this session
    });
  }

  LbApiLevel api_level() const override { return client_.api_level(); }
  absl::StatusOr<uint32_t> ControlPing() override { return client_.ControlPing(); }
  absl::StatusOr<VppVersionInfo> ShowVersion() override { return client_.ShowVersion(); }
  absl::StatusOr<LbConf> ConfGet() override { return client_.ConfGet(); }
  absl::Status SetConf(const LbConf& conf) override { return client_.SetConf(conf); }
  absl::Status AddVip(const VipSpec& spec) override { return client_.AddVip(spec); }
  absl::Status DelVip(const VipKey& key) override { return client_.DelVip(key); }
  absl::Status AddAs(const LbAddAs& call) override { return client_.AddAs(call); }
  absl::Status DelAs(const LbDelAs& call) override { return client_.DelAs(call); }
  absl::Status SetAsWeight(const LbSetAsWeight& call) override { return client_.SetAsWeight(call); }
  absl::Status FlushVip(const VipKey& key) override { return client_.FlushVip(key); }
  absl::StatusOr<std::vector<VipInfo>> DumpVips() override { return client_.DumpVips(); }
  absl::StatusOr<std::vector<AsInfo>> DumpAllAses() override { return client_.DumpAllAses(); }
  absl::StatusOr<std::vector<AsInfo>> DumpAses(const VipKey& vip) override {
    return client_.DumpAses(vip);
  }
  std::vector<absl::Status> Execute(const std::vector<LbCall>& calls) override {
    return client_.Execute(calls);
  }

 private:
  LbClient& client_;
  std::unique_ptr<FdWatch> watch_;
};

SocketLbConnector::SocketLbConnector(std::string socket_path,
                                     std::chrono::milliseconds call_timeout)
    : socket_path_(std::move(socket_path)),
      call_timeout_(call_timeout),
      client_(std::make_unique<ClientHolder>()) {}

SocketLbConnector::~SocketLbConnector() = default;

absl::StatusOr<std::unique_ptr<LbSession>> SocketLbConnector::Connect() {
  absl::Status st = client_->client.Connect(socket_path_, call_timeout_);
  if (!st.ok()) return st;
  return std::unique_ptr<LbSession>(std::make_unique<Session>(client_->client));
}

const VppApiCounters* SocketLbConnector::counters() const { return &client_->client.counters(); }

}  // namespace maglev
