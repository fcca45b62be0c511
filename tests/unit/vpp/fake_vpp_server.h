// A scripted VPP API peer for transport and client tests: listens on a unix
// socket in a fresh temporary directory, answers sockclnt_create with a
// configurable message table, and hands every later request frame to a
// handler on its own thread. One connection is served at a time.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vpp/messages.h"

namespace maglev::testing {

// One accepted connection; used on the server thread only.
class FakeVppConn {
 public:
  FakeVppConn(int fd, const std::map<std::string, uint16_t>* ids, size_t write_chunk)
      : fd_(fd), ids_(ids), write_chunk_(write_chunk) {}

  // Id of a message in the published table (0 if absent).
  uint16_t IdOf(std::string_view name_crc) const;
  // Frames and sends a payload (in `write_chunk` pieces when set).
  void SendPayload(const std::vector<uint8_t>& payload);
  // Writes raw bytes (no framing).
  void SendRaw(const std::vector<uint8_t>& bytes);
  // Sends message M with the table's id for it and the given context.
  template <typename M>
  void Send(const M& m, uint32_t context, uint32_t client_index = 0) {
    SendPayload(vppmsg::Encode(m, vppmsg::Header{IdOf(M::kNameCrc), client_index, context}));
  }
  // Closes the connection after the current handler returns.
  void CloseAfterThis() { close_ = true; }
  bool close_requested() const { return close_; }

 private:
  int fd_;
  const std::map<std::string, uint16_t>* ids_;
  size_t write_chunk_;
  bool close_ = false;
};

class FakeVppServer {
 public:
  // (connection, message id, name_crc ("" if unknown), payload)
  using Handler =
      std::function<void(FakeVppConn&, uint16_t, const std::string&, const std::vector<uint8_t>&)>;

  // Publishes every message of vppmsg::AllMessages() except `omit` (memclnt
  // at their fixed ids, the others from 0x400 on, in table order).
  explicit FakeVppServer(const std::set<std::string>& omit = {});
  ~FakeVppServer();

  // Starts serving (call after configuring).
  void Start();

  const std::string& socket_path() const { return socket_path_; }
  // Must be called before the first connection. The default handler answers
  // control_ping (pid 4242), sockclnt_delete (response 1, then close) and
  // show_version; anything else is dropped like VPP drops unknown ids.
  void set_handler(Handler h) { handler_ = std::move(h); }
  // When non-zero, every frame is written in pieces of this many bytes.
  void set_write_chunk(size_t n) { write_chunk_ = n; }
  // When false, the handshake is read but never answered.
  void set_answer_handshake(bool v) { answer_handshake_ = v; }
  // Extra table entries (e.g. messages the codec does not know).
  void AddTableEntry(const std::string& name_crc, uint16_t id) { ids_[name_crc] = id; }

  // The default behaviour, for handlers that extend it. Returns true when it
  // handled the message.
  static bool DefaultHandle(FakeVppConn& conn, uint16_t id, const std::string& name,
                            const std::vector<uint8_t>& payload);

  // Observations (thread-safe).
  int connections() const { return connections_.load(); }
  std::vector<std::string> received() const;  // name_crc (or "id:<n>") of each request
  std::string client_name() const;            // from the last sockclnt_create
  uint32_t handle() const { return 0x80000001; }

 private:
  void Run();
  void Serve(int fd);

  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::map<std::string, uint16_t> ids_;
  std::map<uint16_t, std::string> names_;
  Handler handler_;
  size_t write_chunk_ = 0;
  bool answer_handshake_ = true;
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> received_;
  std::string client_name_;
  std::thread thread_;
  bool started_ = false;
};

}  // namespace maglev::testing
