#include "prober/prober.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re2/re2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <unordered_map>
#include <utility>

#include "prober/fast_probe.h"
#include "prober/http_response.h"
#include "prober/icmp_pinger.h"
#include "prober/netns.h"
#include "prober/probe_util.h"

namespace maglev {

std::string UserAgent() { return "maglevd/" MAGLEV_VERSION; }

namespace prober_internal {

std::optional<ProbeResult> HttpVerdict(const HttpResponseReader& reader, int code_min, int code_max,
                                       const RE2* re) {
  if (reader.head_done()) {
    const int status = reader.status();
    if (status < code_min || status > code_max) {
      return Result(ProbeCode::kL7Sts, "HTTP " + std::to_string(status));
    }
  }
  if (reader.state() == HttpResponseReader::State::kError) {
    return Result(ProbeCode::kL7Rsp, reader.error());
  }
  if (reader.state() != HttpResponseReader::State::kDone) return std::nullopt;
  if (re != nullptr && !RE2::PartialMatch(reader.body(), *re)) {
    return Result(ProbeCode::kL7Rsp, "body does not match \"" + re->pattern() + "\"");
  }
  return Result(ProbeCode::kL7Ok, "HTTP " + std::to_string(reader.status()));
}

}  // namespace prober_internal

namespace {

using prober_internal::ErrnoText;
using prober_internal::HttpVerdict;
using prober_internal::Result;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = asio::ssl::stream<tcp::socket&>;

constexpr size_t kReadChunk = 4096;
constexpr size_t kMaxCachedRegexps = 256;

std::string TimeoutText(const ProbeSpec& spec) {
  return prober_internal::TimeoutText(spec.timeout);
}

std::string ErrorText(const std::error_code& ec) { return LowerFirst(ec.message()); }

asio::ip::address ToAsio(const IpAddress& a) {
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), a.v4_bytes(), 4);
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.ip46().data(), 16);
  return asio::ip::address_v6(b);
}

// Health-check connections are closed with a reset: a prober making
// thousands of short connections per second must not pile up TIME_WAIT
// sockets (HAProxy does the same).
void AbortiveClose(tcp::socket& sock) {
  if (!sock.is_open()) return;
  std::error_code ignored;
  sock.set_option(asio::socket_base::linger(true, 0), ignored);
  sock.close(ignored);
}

// One probe's connection and the deadline that ends it: when the timer fires
// it closes the socket, which aborts whatever operation (connect, handshake,
// write, read) the probe is waiting on. Shared with the timer's handler by a
// weak reference, so an expiry racing the probe's completion is harmless.
struct Conn {
  explicit Conn(asio::io_context& io) : sock(io), timer(io) {}
  ~Conn() {
    if (graceful) {
      std::error_code ignored;
      sock.close(ignored);
    } else {
      AbortiveClose(sock);
    }
  }
  tcp::socket sock;
  asio::steady_timer timer;
  bool expired = false;
  // A plain close (FIN) instead of a reset: after a successful TLS-only
  // check, so that the server's side of the handshake (TLS 1.3 session
  // tickets are written after the client's Finished) completes cleanly and
  // the backend does not log a failed handshake for every probe.
  bool graceful = false;

  static void Arm(const std::shared_ptr<Conn>& conn, Clock::time_point deadline) {
    conn->timer.expires_at(deadline);
    conn->timer.async_wait([weak = std::weak_ptr<Conn>(conn)](const std::error_code& ec) {
      if (ec) return;  // cancelled: the probe ended first
      if (auto c = weak.lock()) {
        c->expired = true;
        AbortiveClose(c->sock);
      }
    });
  }
};

// "host:port" / "[v6]:port" / "[v6]" -> the bare host, for SNI and
// certificate name checks.
std::string HostWithoutPort(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) {
    return host.substr(0, colon);
  }
  return host;
}

bool IsIpLiteral(const std::string& s) { return IpAddress::Parse(s).has_value(); }

bool HasControlOrSpace(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// What the TLS layer of one probe does: SNI, and which name (or IP address)
// the certificate must carry when verifying.
struct TlsTarget {
  bool verify = true;
  std::string sni;          // empty: no SNI
  std::string verify_name;  // empty: chain only
};

}  // namespace

// State shared by every probe of one Prober and kept alive by the probes in
// flight (a probe may outlive the Prober object that started it).
class ProberCore {
 public:
  explicit ProberCore(asio::io_context& io) : io_(io), icmp_(io, netns_) {}

  asio::io_context& io() { return io_; }
  NetnsSockets& netns() { return netns_; }
  IcmpPinger& icmp() { return icmp_; }

  // The shared TLS client contexts, made on first use: loading the system
  // CA store costs tens of milliseconds and about a megabyte, which a
  // configuration without TLS checks should not pay. Null with `error` set
  // when the verifying context cannot load the CA store.
  asio::ssl::context* TlsContext(bool verify, std::string* error) {
    std::unique_ptr<asio::ssl::context>& ctx = verify ? verify_ctx_ : insecure_ctx_;
    if (!ctx) {
      auto c = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      std::error_code ec;
      if (verify) {
        c->set_default_verify_paths(ec);
        if (ec) {
          *error = "cannot load the system CA store: " + ErrorText(ec);
          return nullptr;
        }
      }
      c->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none, ec);
      // Probe connections are short; give buffers back as soon as idle.
      SSL_CTX_set_mode(c->native_handle(), SSL_MODE_RELEASE_BUFFERS);
      SSL_CTX_set_session_cache_mode(c->native_handle(), SSL_SESS_CACHE_OFF);
      ctx = std::move(c);
    }
    return ctx.get();
  }

  // Compiled response-regexps, shared by the probes that use them.
  std::shared_ptr<const RE2> Regexp(const std::string& pattern, std::string* error) {
    auto it = regexps_.find(pattern);
    if (it != regexps_.end()) return it->second;
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(pattern, options);
    if (!re->ok()) {
      *error = re->error();
      return nullptr;
    }
    // Bounded: patterns only change with the configuration.
    if (regexps_.size() >= kMaxCachedRegexps) regexps_.clear();
    regexps_.emplace(pattern, re);
    return re;
  }

  // The raw-socket engine for plain tcp and http probes, made on first use;
  // null if it cannot be made (those probes then take the asio path).
  FastProbes* Fast() {
    if (!fast_ && !fast_failed_) {
      fast_ = FastProbes::Create(io_);
      fast_failed_ = fast_ == nullptr;
    }
    return fast_.get();
  }

  size_t FastInFlight() const { return fast_ ? fast_->InFlight() : 0; }

  void Shutdown() {
    icmp_.Shutdown();
    if (fast_) fast_->Shutdown();
  }

 private:
  asio::io_context& io_;
  NetnsSockets netns_;
  IcmpPinger icmp_;
  // Shared with its pending handlers: probes in flight outlive the Prober.
  std::shared_ptr<FastProbes> fast_;
  bool fast_failed_ = false;
  std::unique_ptr<asio::ssl::context> verify_ctx_;
  std::unique_ptr<asio::ssl::context> insecure_ctx_;
  std::unordered_map<std::string, std::shared_ptr<const RE2>> regexps_;
};

namespace {

// A non-blocking TCP socket for a probe of `spec`, created in spec.netns and
// bound to spec.source; -1 with the L4CON detail in *error on failure.
int OpenProbeSocket(ProberCore& core, const ProbeSpec& spec, std::string* error) {
  const bool v6 = spec.address.is_v6();
  auto fd = core.netns().Socket(spec.netns, v6 ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (!fd.ok()) {
    *error = std::string(fd.status().message());
    return -1;
  }
  if (spec.source) {
    // Let connect() pick the port per destination, so that many probes from
    // one source address do not exhaust the ephemeral ports.
    int one = 1;
    ::setsockopt(*fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_storage ss;
    const socklen_t len = spec.source->ToSockaddr(0, &ss);
    if (::bind(*fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      *error = "bind " + spec.source->ToString() + ": " + ErrnoText(errno);
      ::close(*fd);
      return -1;
    }
  }
  return *fd;
}

// The TLS handshake of one probe; nullopt on success, else the L6 result.
asio::awaitable<std::optional<ProbeResult>> Handshake(TlsStream& stream, Conn& conn,
                                                      const TlsTarget& target,
                                                      const ProbeSpec& spec) {
  SSL* ssl = stream.native_handle();
  if (!target.sni.empty()) SSL_set_tlsext_host_name(ssl, target.sni.c_str());
  if (target.verify && !target.verify_name.empty()) {
    if (IsIpLiteral(target.verify_name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target.verify_name.c_str());
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, target.verify_name.c_str());
    }
  }
  std::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (conn.expired) co_return Result(ProbeCode::kL6Tout, TimeoutText(spec));
  if (!ec) co_return std::nullopt;
  const long verify_result = SSL_get_verify_result(ssl);
  if (target.verify && verify_result != X509_V_OK) {
    co_return Result(ProbeCode::kL6Rsp, std::string("certificate verify failed: ") +
                                            X509_verify_cert_error_string(verify_result));
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    co_return Result(ProbeCode::kL6Rsp, "connection closed during TLS handshake");
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    co_return Result(ProbeCode::kL6Rsp,
                     std::string("TLS handshake failed: ") + (reason ? reason : ec.message()));
  }
  co_return Result(ProbeCode::kL6Rsp, "TLS handshake failed: " + ErrorText(ec));
}

bool IsEof(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Request, then the response read with HttpResponseReader in chunks of at
// most kReadChunk bytes and never more than the reader wants, so that an
// endless head or body costs a bounded read.
template <typename Stream>
asio::awaitable<ProbeResult> HttpExchange(Stream& stream, Conn& conn, const ProbeSpec& spec,
                                          const std::string& request, const RE2* re) {
  std::error_code ec;
  co_await asio::async_write(stream, asio::buffer(request),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (conn.expired) co_return Result(ProbeCode::kL7Tout, TimeoutText(spec));
  if (ec) co_return Result(ProbeCode::kL7Rsp, "send: " + ErrorText(ec));

  HttpResponseReader reader(re != nullptr);
  std::array<char, kReadChunk> buf;
  while (true) {
    const size_t want = std::min(buf.size(), reader.WantBytes());
    const size_t n = co_await stream.async_read_some(asio::buffer(buf.data(), want),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (conn.expired) co_return Result(ProbeCode::kL7Tout, TimeoutText(spec));
    if (n > 0) reader.Feed(std::string_view(buf.data(), n));
    if (ec) {
      if (!IsEof(ec)) co_return Result(ProbeCode::kL7Rsp, "receive: " + ErrorText(ec));
      reader.FeedEof();
    }
    if (auto verdict =
            HttpVerdict(reader, spec.http.response_code_min, spec.http.response_code_max, re)) {
      co_return std::move(*verdict);
    }
  }
}

std::string BuildRequest(const ProbeSpec& spec, bool https) {
  std::string host = spec.http.host;
  if (host.empty()) {
    host = spec.address.is_v6() ? "[" + spec.address.ToString() + "]" : spec.address.ToString();
    if (spec.port != (https ? 443 : 80)) host += ":" + std::to_string(spec.port);
  }
  const std::string& path = spec.http.path.empty() ? std::string("/") : spec.http.path;
  std::string req;
  req.reserve(96 + path.size() + host.size());
  req.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  req.append("\r\nUser-Agent: maglevd/" MAGLEV_VERSION
             "\r\nConnection: close\r\nAccept: */*\r\n\r\n");
  return req;
}

TlsTarget HttpsTarget(const ProbeSpec& spec) {
  TlsTarget t;
  t.verify = !spec.http.insecure_skip_verify;
  const std::string host = HostWithoutPort(spec.http.host);
  const std::string name = !spec.http.server_name.empty() ? spec.http.server_name : host;
  if (!name.empty() && !IsIpLiteral(name)) t.sni = name;
  t.verify_name = !name.empty() ? name : spec.address.ToString();
  return t;
}

TlsTarget TcpTlsTarget(const ProbeSpec& spec) {
  TlsTarget t;
  t.verify = !spec.tcp.insecure_skip_verify;
  if (!spec.tcp.server_name.empty() && !IsIpLiteral(spec.tcp.server_name)) {
    t.sni = spec.tcp.server_name;
  }
  t.verify_name = spec.tcp.server_name;
  return t;
}

// tcp, tcp+ssl, http and https: connect (L4), optional handshake (L6),
// optional HTTP exchange (L7), all under one deadline.
asio::awaitable<ProbeResult> StreamProbe(std::shared_ptr<ProberCore> core, const ProbeSpec& spec,
                                         Clock::time_point deadline) {
  const bool http = spec.type == CheckType::kHttp || spec.type == CheckType::kHttps;
  const bool tls = spec.type == CheckType::kHttps || (spec.type == CheckType::kTcp && spec.tcp.ssl);

  std::string request;
  std::shared_ptr<const RE2> re;
  if (http) {
    if (HasControlOrSpace(spec.http.path) || HasControlOrSpace(spec.http.host)) {
      co_return Result(ProbeCode::kL7Rsp, "invalid characters in http path or host");
    }
    request = BuildRequest(spec, spec.type == CheckType::kHttps);
    if (!spec.http.response_regexp.empty()) {
      std::string error;
      re = core->Regexp(spec.http.response_regexp, &error);
      if (!re) co_return Result(ProbeCode::kL7Rsp, "invalid response-regexp: " + error);
    }
  }
  TlsTarget target;
  asio::ssl::context* tls_ctx = nullptr;
  if (tls) {
    target = spec.type == CheckType::kHttps ? HttpsTarget(spec) : TcpTlsTarget(spec);
    std::string error;
    tls_ctx = core->TlsContext(target.verify, &error);
    if (tls_ctx == nullptr) co_return Result(ProbeCode::kL6Rsp, error);
  }

  std::string error;
  const int fd = OpenProbeSocket(*core, spec, &error);
  if (fd < 0) co_return Result(ProbeCode::kL4Con, std::move(error));
  auto conn = std::make_shared<Conn>(core->io());
  std::error_code ec;
  conn->sock.assign(spec.address.is_v6() ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    co_return Result(ProbeCode::kL4Con, "socket: " + ErrorText(ec));
  }
  Conn::Arm(conn, deadline);

  co_await conn->sock.async_connect(tcp::endpoint(ToAsio(spec.address), spec.port),
                                    asio::redirect_error(asio::use_awaitable, ec));
  if (conn->expired) co_return Result(ProbeCode::kL4Tout, TimeoutText(spec));
  if (ec) co_return Result(ProbeCode::kL4Con, ErrorText(ec));

  ProbeResult result;
  if (!tls) {
    if (!http) {
      result = Result(ProbeCode::kL4Ok, "connected");
    } else {
      result = co_await HttpExchange(conn->sock, *conn, spec, request, re.get());
    }
  } else {
    TlsStream stream(conn->sock, *tls_ctx);
    auto failed = co_await Handshake(stream, *conn, target, spec);
    if (failed) {
      result = std::move(*failed);
    } else if (!http) {
      result = Result(ProbeCode::kL6Ok, SSL_get_version(stream.native_handle()));
      conn->graceful = true;
    } else {
      result = co_await HttpExchange(stream, *conn, spec, request, re.get());
    }
  }
  conn->timer.cancel();
  co_return result;
}

ProbeCode ErrorCodeFor(const ProbeSpec& spec) {
  switch (spec.type) {
    case CheckType::kIcmp:
      return ProbeCode::kL3Err;
    case CheckType::kTcp:
      return spec.tcp.ssl ? ProbeCode::kL6Rsp : ProbeCode::kL4Con;
    case CheckType::kHttp:
    case CheckType::kHttps:
      return ProbeCode::kL7Rsp;
  }
  return ProbeCode::kL4Con;
}

asio::awaitable<ProbeResult> RunProbe(std::shared_ptr<ProberCore> core, ProbeSpec spec) {
  const auto start = Clock::now();
  const auto deadline = start + spec.timeout;
  ProbeResult result;
  try {
    if (spec.type == CheckType::kIcmp) {
      result = co_await core->icmp().Ping(spec, deadline);
    } else {
      result = co_await StreamProbe(core, spec, deadline);
    }
  } catch (const std::exception& e) {
    result = Result(ErrorCodeFor(spec), std::string("internal error: ") + e.what());
  }
  result.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
  co_return result;
}

// Plain tcp and http: the raw-socket fast path (fast_probe.h), which ends
// with exactly the results StreamProbe gives. Failures before the connection
// attempt are posted, so `done` never runs inside Prober::Run.
void StartFastProbe(ProberCore& core, FastProbes& fast, const ProbeSpec& spec,
                    std::function<void(ProbeResult)> done) {
  FastProbeRequest req;
  req.start = Clock::now();
  req.timeout = spec.timeout;
  auto fail = [&](ProbeCode code, std::string detail) {
    prober_internal::PostEarlyResult(core.io(), std::move(done), Result(code, std::move(detail)),
                                     req.start);
  };
  if (spec.type == CheckType::kHttp) {
    if (HasControlOrSpace(spec.http.path) || HasControlOrSpace(spec.http.host)) {
      return fail(ProbeCode::kL7Rsp, "invalid characters in http path or host");
    }
    req.http = true;
    req.request = BuildRequest(spec, false);
    req.code_min = spec.http.response_code_min;
    req.code_max = spec.http.response_code_max;
    if (!spec.http.response_regexp.empty()) {
      std::string error;
      req.re = core.Regexp(spec.http.response_regexp, &error);
      if (!req.re) return fail(ProbeCode::kL7Rsp, "invalid response-regexp: " + error);
    }
  }
  std::string error;
  req.fd = OpenProbeSocket(core, spec, &error);
  if (req.fd < 0) return fail(ProbeCode::kL4Con, std::move(error));
  // Health-check connections end with a reset (see AbortiveClose); set now,
  // so that the close is the probe's last system call.
  const linger abortive{1, 0};
  ::setsockopt(req.fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  if (req.http) {
    // Delayed-ACK mode from the start: the handshake's final ACK then rides
    // on the request instead of being a packet of its own (the backend's
    // kernel handles one segment less per probe).
    const int off = 0;
    ::setsockopt(req.fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof(off));
  }
  req.peer_len = spec.address.ToSockaddr(spec.port, &req.peer);
  fast.Start(std::move(req), std::move(done));
}

bool UsesFastPath(const ProbeSpec& spec) {
  return spec.type == CheckType::kHttp || (spec.type == CheckType::kTcp && !spec.tcp.ssl);
}

}  // namespace

struct Prober::Impl {
  std::shared_ptr<ProberCore> core;
};

Prober::Prober(asio::io_context& io) : impl_(std::make_unique<Impl>()) {
  impl_->core = std::make_shared<ProberCore>(io);
}

Prober::~Prober() { impl_->core->Shutdown(); }

void Prober::Run(const ProbeSpec& spec, std::function<void(ProbeResult)> done) {
  if (UsesFastPath(spec)) {
    if (FastProbes* fast = impl_->core->Fast()) {
      StartFastProbe(*impl_->core, *fast, spec, std::move(done));
      return;
    }
  }
  asio::co_spawn(impl_->core->io(), RunProbe(impl_->core, spec),
                 [done = std::move(done)](std::exception_ptr, ProbeResult result) {
                   if (done) done(std::move(result));
                 });
}

size_t Prober::FastProbesInFlight() const { return impl_->core->FastInFlight(); }

asio::awaitable<ProbeResult> Prober::Probe(ProbeSpec spec) {
  return RunProbe(impl_->core, std::move(spec));
}

}  // namespace maglev
