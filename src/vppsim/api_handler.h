// The simulator's binary-API endpoint without the socket: client
// registrations (handles 0x80000000 | pool index, index 0 reserved as VPP's
// listener takes it), message dispatch by id with VPP's drop rules (unknown
// id, payload shorter than the message), reply routing by client_index, the
// core messages (sockclnt_create/delete, control_ping, get_first_msg_id,
// api_versions, memclnt_keepalive, show_version, cli_inband) and every lb
// message, decoded and encoded byte by byte (PROTOCOL.md §1, §3, §7).
// Not thread-safe: used from the server's loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "vppsim/lb_model.h"
#include "vppsim/messages.h"

namespace maglev::vppsim {

inline constexpr uint32_t kClientHandleBit = 0x80000000u;

// A payload (one API message, no frame header) for a registration.
struct Outgoing {
  uint32_t registration = 0;
  std::vector<uint8_t> payload;
};

struct HandleResult {
  std::vector<Outgoing> replies;  // in order; send all before closing
  // Registrations that sockclnt_delete released: flush then close their socket.
  std::vector<uint32_t> close_after_flush;
  // Set when the message was dropped without being executed.
  std::optional<std::string> dropped;
};

class ApiHandler {
 public:
  struct Options {
    bool legacy_lb = false;  // lb 1.1.0 message set and builder
    uint16_t lb_first_msg_id = kDefaultLbFirstMsgId;
    uint32_t vpe_pid = 0;  // control_ping_reply.vpe_pid
    std::string version;   // show_version; default "26.10-maglev-vppsim" / "26.06-..."
    std::string build_date;
    uint32_t num_interfaces = 3;
    uint32_t num_workers = 0;  // VPP worker threads (the main thread is thread 0)
  };

  // `clock`: seconds since the simulated VPP started (see LbModel::Clock).
  static absl::StatusOr<std::unique_ptr<ApiHandler>> Create(Options options, LbModel::Clock clock);

  // A new connection: returns its registration pool index (handle =
  // kClientHandleBit | index). Freed indexes are reused, most recent first.
  uint32_t Connect();
  // The connection is gone (closed by the peer or after sockclnt_delete).
  // Idempotent.
  void Disconnect(uint32_t registration);
  bool IsLive(uint32_t registration) const;
  size_t num_clients() const;
  std::string ClientName(uint32_t registration) const;

  // Handles one payload received on `from`'s connection.
  HandleResult Handle(uint32_t from, const uint8_t* payload, size_t size);

  // Test hooks, also reachable through cli_inband ("vppsim gc",
  // "vppsim time advance <seconds>"): run the background GC step now, and
  // move the simulated clock forward.
  void RunGarbageCollection();
  void AdvanceClock(double seconds);
  double clock_offset() const { return clock_offset_; }

  LbModel& model() { return *model_; }
  const LbModel& model() const { return *model_; }
  const MessageTable& messages() const { return table_; }
  const Options& options() const { return options_; }
  // The CLI as cli_inband runs it: the reply text, and VPP's retval (0, or -1
  // when the command failed, e.g. unknown input) in *retval.
  std::string RunCli(const std::string& command, int32_t* retval = nullptr);

 private:
  struct Ctx;
  using Fn = void (ApiHandler::*)(Ctx&);
  struct Handler {
    Fn fn;
    size_t min_size;
    bool variable;  // cli_inband: + u32 length at offset 10
  };

  ApiHandler(Options options, MessageTable table, LbModel::Clock clock);
  std::optional<uint32_t> Resolve(uint32_t client_index) const;
  void Reply(Ctx& c, std::vector<uint8_t> payload);
  uint16_t Id(const char* name) const;

  void OnGetFirstMsgId(Ctx& c);
  void OnApiVersions(Ctx& c);
  void OnSockclntCreate(Ctx& c);
  void OnSockclntDelete(Ctx& c);
  void OnKeepalive(Ctx& c);
  void OnIpRouteLookup(Ctx& c);
  void OnControlPing(Ctx& c);
  void OnShowVersion(Ctx& c);
  void OnCliInband(Ctx& c);
  void OnLbConf(Ctx& c);
  void OnLbConfGet(Ctx& c);
  void OnLbAddDelVip(Ctx& c);
  void OnLbAddDelVipV2(Ctx& c);
  void OnLbAddDelAs(Ctx& c);
  void OnLbAddDelAsV2(Ctx& c);
  void OnLbAsSetWeight(Ctx& c);
  void OnLbFlushVip(Ctx& c);
  void OnLbVipDump(Ctx& c);
  void OnLbAsDump(Ctx& c);
  void OnLbAsV2Dump(Ctx& c);
  void OnLbIntfNat4(Ctx& c);
  void OnLbIntfNat6(Ctx& c);
  void AddDelVip(Ctx& c, bool v2);
  void AddDelAs(Ctx& c, bool v2);
  void AsDump(Ctx& c, bool v2);
  void IntfNat(Ctx& c, bool ip6);
  void AutoReply(Ctx& c, const char* reply_name, int32_t retval);
  std::string TestLbPacket(const std::vector<std::string>& args, int32_t* retval);

  Options options_;
  MessageTable table_;
  double clock_offset_ = 0;
  std::unique_ptr<LbModel> model_;
  std::unordered_map<uint16_t, Handler> handlers_;
  struct Registration {
    std::string name;
  };
  std::vector<std::optional<Registration>> registrations_;
  std::vector<uint32_t> free_registrations_;
};

}  // namespace maglev::vppsim
