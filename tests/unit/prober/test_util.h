// Helpers for the prober tests: loopback servers running as coroutines on the
// test's own io_context (so a misbehaving server and the prober share one
// thread, as in the daemon), certificates made with the OpenSSL API, and a
// pair of network namespaces joined by a veth, made and removed with ip(8).
// Single-threaded, test-only.
#pragma once

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sched.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prober/prober.h"

namespace maglev {
// Probe codes compare with and print as their names in these tests
// (EXPECT_EQ(r.code, "L7STS")); found by argument-dependent lookup.
inline bool operator==(ProbeCode code, std::string_view name) {
  return ProbeCodeName(code) == name;
}
inline void PrintTo(ProbeCode code, std::ostream* os) { *os << ProbeCodeName(code); }
}  // namespace maglev

namespace maglev::testing {

using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
inline constexpr auto kAwait = asio::use_awaitable;

// Runs the loop until `done()`; the wall-clock limit is only a guard against
// a hung test, never an assertion.
template <typename Pred>
void RunUntil(asio::io_context& io, Pred done) {
  const auto limit = std::chrono::steady_clock::now() + 20s;
  while (!done() && std::chrono::steady_clock::now() < limit) {
    if (io.stopped()) io.restart();  // ran out of work earlier
    io.run_one_for(50ms);
  }
}

inline ProbeResult RunProbe(asio::io_context& io, Prober& prober, const ProbeSpec& spec) {
  std::optional<ProbeResult> result;
  prober.Run(spec, [&](ProbeResult r) { result = std::move(r); });
  RunUntil(io, [&] { return result.has_value(); });
  if (!result) {
    ADD_FAILURE() << "probe never completed";
    return ProbeResult{ProbeCode::kL4Con, "never completed (no result)", {}};
  }
  return *result;
}

inline ProbeSpec Spec(CheckType type, const char* address, uint16_t port,
                      Duration timeout = 500ms) {
  ProbeSpec s;
  s.type = type;
  s.address = *IpAddress::Parse(address);
  s.port = port;
  s.timeout = timeout;
  return s;
}

// ---------------------------------------------------------------------------
// Certificates

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

struct TestCert {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  std::unique_ptr<X509, X509Free> cert;
  std::string cert_pem;
  std::string key_pem;
};

// A P-256 certificate for `cn` with subjectAltName `san` (e.g.
// "DNS:a.test,IP:127.0.0.1", may be empty), signed by `issuer` or
// self-signed when issuer is null.
inline TestCert MakeCert(const std::string& cn, const std::string& san, const TestCert* issuer,
                         bool is_ca) {
  TestCert c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, c.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, x, nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext) {
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
  };
  add_ext(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca) add_ext(NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!san.empty()) add_ext(NID_subject_alt_name, san);
  X509_sign(x, issuer ? issuer->key.get() : c.key.get(), EVP_sha256());

  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  c.cert_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, c.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  len = BIO_get_mem_data(bio, &data);
  c.key_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  return c;
}

inline std::unique_ptr<asio::ssl::context> ServerContext(const TestCert& cert) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->use_certificate(asio::buffer(cert.cert_pem), asio::ssl::context::pem);
  ctx->use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
  return ctx;
}

// ---------------------------------------------------------------------------
// Servers

class TestServer;
using Handler = asio::awaitable<void> (*)(tcp::socket, TestServer*);

// Listens on `address` (port chosen by the kernel) and runs `handler` for
// every accepted connection. What the handlers see is recorded here.
class TestServer {
 public:
  TestServer(asio::io_context& io, Handler handler, const char* address = "127.0.0.1",
             std::string response = "")
      : response(std::move(response)), io_(io), acceptor_(io), handler_(handler) {
    tcp::endpoint ep(asio::ip::make_address(address), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
  }
  // A server on an already listening socket (e.g. made in another netns).
  TestServer(asio::io_context& io, Handler handler, int listening_fd, bool v6, std::string response)
      : response(std::move(response)), io_(io), acceptor_(io), handler_(handler) {
    acceptor_.assign(v6 ? tcp::v6() : tcp::v4(), listening_fd);
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
  }
  ~TestServer() {
    std::error_code ignored;
    acceptor_.close(ignored);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::string response;                   // what Respond-like handlers send
  asio::ssl::context* tls = nullptr;      // for TLS handlers
  std::vector<std::string> requests;      // complete request heads received
  std::vector<std::string> peers;         // peer address of every connection
  std::vector<std::string> server_names;  // SNI seen by TLS handlers ("" if none)
  bool chunked = false;                   // for Endless
  size_t bytes_written = 0;
  int handshakes = 0;

 private:
  asio::awaitable<void> AcceptLoop() {
    while (true) {
      std::error_code ec;
      tcp::socket sock(io_);
      tcp::endpoint peer;  // from accept() itself: the client may be gone already
      co_await acceptor_.async_accept(sock, peer, asio::redirect_error(kAwait, ec));
      if (ec) co_return;
      peers.push_back(peer.address().to_string());
      asio::co_spawn(io_, handler_(std::move(sock), this), asio::detached);
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  Handler handler_;
};

// Reads a request head (up to the blank line), or "" on error/close.
template <typename Stream>
asio::awaitable<std::string> ReadRequest(Stream& s) {
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
    std::error_code ec;
    size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(kAwait, ec));
    if (ec) co_return "";
    req.append(buf, n);
  }
  co_return req;
}

// Waits until the peer closes (or resets) the connection.
template <typename Stream>
asio::awaitable<void> WaitClose(Stream& s) {
  char buf[1024];
  while (true) {
    std::error_code ec;
    co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(kAwait, ec));
    if (ec) co_return;
  }
}

template <typename Stream>
asio::awaitable<bool> Send(Stream& s, TestServer* server, std::string_view data) {
  std::error_code ec;
  size_t n = co_await asio::async_write(s, asio::buffer(data.data(), data.size()),
                                        asio::redirect_error(kAwait, ec));
  server->bytes_written += n;
  co_return !ec;
}

// Answers server->response, then closes.
inline asio::awaitable<void> Respond(tcp::socket s, TestServer* server) {
  std::string req = co_await ReadRequest(s);
  if (req.empty()) co_return;
  server->requests.push_back(req);
  co_await Send(s, server, server->response);
  std::error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
  co_await WaitClose(s);
}

// Reads the request and closes without answering.
inline asio::awaitable<void> CloseSilently(tcp::socket s, TestServer* server) {
  server->requests.push_back(co_await ReadRequest(s));
}

// Reads the request and never answers.
inline asio::awaitable<void> Hang(tcp::socket s, TestServer* server) {
  server->requests.push_back(co_await ReadRequest(s));
  co_await WaitClose(s);
}

// Accepts and reads whatever comes, never answering (no TLS handshake).
inline asio::awaitable<void> Silent(tcp::socket s, TestServer*) { co_await WaitClose(s); }

// Sends server->response one byte every 100 ms.
inline asio::awaitable<void> Trickle(tcp::socket s, TestServer* server) {
  server->requests.push_back(co_await ReadRequest(s));
  asio::steady_timer timer(s.get_executor());
  for (char c : server->response) {
    if (!co_await Send(s, server, std::string_view(&c, 1))) co_return;
    timer.expires_after(100ms);
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(kAwait, ec));
  }
}

// Sends server->response as a head, then an endless body of numbered
// 1000-byte records ("rec00001....", "rec00002...."), chunked when
// server->chunked. Record k starts at body offset (k-1)*1000, so which
// records a client saw tells how much of the body it read.
inline asio::awaitable<void> Endless(tcp::socket s, TestServer* server) {
  server->requests.push_back(co_await ReadRequest(s));
  if (!co_await Send(s, server, server->response)) co_return;
  for (int k = 1;; ++k) {
    char marker[16];
    std::snprintf(marker, sizeof(marker), "rec%05d", k);
    std::string record = marker;
    record.resize(999, '.');
    record += '\n';
    if (server->chunked) record = "3e8\r\n" + record + "\r\n";
    if (!co_await Send(s, server, record)) co_return;
  }
}

// TLS: handshake with server->tls, record SNI; answer server->response to a
// request if set, else wait for the client to close.
inline asio::awaitable<void> TlsRespond(tcp::socket s, TestServer* server) {
  asio::ssl::stream<tcp::socket&> tls(s, *server->tls);
  std::error_code ec;
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(kAwait, ec));
  if (ec) co_return;
  ++server->handshakes;
  const char* sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
  server->server_names.push_back(sni ? sni : "");
  if (server->response.empty()) {
    co_await WaitClose(tls);
    co_return;
  }
  std::string req = co_await ReadRequest(tls);
  if (req.empty()) co_return;
  server->requests.push_back(req);
  co_await Send(tls, server, server->response);
  co_await tls.async_shutdown(asio::redirect_error(kAwait, ec));
}

// Reads the ClientHello and answers with something that is not TLS.
inline asio::awaitable<void> TlsGarbage(tcp::socket s, TestServer* server) {
  char buf[512];
  std::error_code ec;
  co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(kAwait, ec));
  if (ec) co_return;
  co_await Send(s, server, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  co_await WaitClose(s);
}

// A port on 127.0.0.1 with nothing listening (bound then released).
inline uint16_t UnusedPort(asio::io_context& io) {
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// ---------------------------------------------------------------------------
// Network namespaces

inline bool Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// Two fresh namespaces joined by a veth pair: a has 192.0.2.1/24, b has
// 192.0.2.2/24. Both are deleted by the destructor, whatever happened.
class NetnsPair {
 public:
  NetnsPair() {
    const std::string id = std::to_string(::getpid());
    a = "mglv-test-" + id + "-a";
    b = "mglv-test-" + id + "-b";
    veth_a = "mgv" + id + "a";
    veth_b = "mgv" + id + "b";
  }
  ~NetnsPair() { Remove(); }

  // Returns false (with what failed) when namespaces cannot be made here.
  bool Create(std::string* error) {
    Remove();
    const std::vector<std::string> cmds = {
        "ip netns add " + a,
        "ip netns add " + b,
        "ip -n " + a + " link set lo up",
        "ip -n " + b + " link set lo up",
        "ip -n " + a + " link add " + veth_a + " type veth peer name " + veth_b + " netns " + b,
        "ip -n " + a + " addr add 192.0.2.1/24 dev " + veth_a,
        "ip -n " + b + " addr add 192.0.2.2/24 dev " + veth_b,
        "ip -n " + a + " link set " + veth_a + " up",
        "ip -n " + b + " link set " + veth_b + " up",
    };
    for (const auto& c : cmds) {
      if (!Sh(c)) {
        *error = c;
        Remove();
        return false;
      }
      created_ = true;
    }
    // A veth drops packets until the kernel's link watcher has marked both
    // ends up (up to a second later); wait for that, bounded.
    for (int i = 0; i < 100; ++i) {
      if (Sh("ip -n " + a + " -o link show " + veth_a + " | grep -q 'state UP'") &&
          Sh("ip -n " + b + " -o link show " + veth_b + " | grep -q 'state UP'")) {
        return true;
      }
      ::usleep(50 * 1000);
    }
    *error = "veth pair never came up";
    Remove();
    return false;
  }

  void Remove() {
    if (!created_) return;
    Sh("ip netns del " + a);
    Sh("ip netns del " + b);
    created_ = false;
  }

  std::string a, b, veth_a, veth_b;

 private:
  bool created_ = false;
};

// A listening TCP socket on `address`:0 created inside namespace `netns`.
inline int ListenInNetns(const std::string& netns, const char* address, uint16_t* port) {
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::setns(self, CLONE_NEWNET);
  ::close(self);
  ::close(target);
  sockaddr_storage ss;
  socklen_t len = IpAddress::Parse(address)->ToSockaddr(0, &ss);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0) {
    return -1;
  }
  len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

}  // namespace maglev::testing
