// SPDX-License-Identifier: Apache-2.0
#include "http_server.h"

#include <grpcpp/client_context.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "assets.h"
#include "common/log.h"
#include "common/mutex.h"

namespace maglev::frontend {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using nlohmann::json;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------- helpers

std::string JsonError(std::string_view message) {
  return json({{"error", std::string(message)}})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

bool DecodeBasicAuth(std::string_view header, std::string* user, std::string* password) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return false;
    }
  }
  std::string_view b64 = header.substr(kPrefix.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = b64[i + k];
      if (c == '=' && i + 4 == b64.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) return false;  // data after padding
      v[k] = value(c);
      if (v[k] < 0) return false;
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  size_t colon = out.find(':');
  if (colon == std::string::npos) return false;
  *user = out.substr(0, colon);
  *password = out.substr(colon + 1);
  return true;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out->push_back(c);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    auto hex = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char d = static_cast<char>(hi * 16 + lo);
    if (d == '\0') return false;
    out->push_back(d);
    i += 2;
  }
  return true;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

namespace {

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0;
    unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

std::string QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key && eq != std::string_view::npos) {
      std::string out;
      if (PercentDecode(kv.substr(eq + 1), &out)) return out;
      return "";
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

int HttpStatusOf(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 409;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return 502;
    default:
      return 502;
  }
}

template <typename Resp>
struct RpcResult {
  grpc::Status status;
  Resp resp;
};

}  // namespace

// ---------------------------------------------------------------- impl

struct HttpServer::Impl {
  struct SseStream {
    explicit SseStream(asio::io_context& ioc) : wake(ioc) {}
    asio::steady_timer wake;
  };

  Impl(HttpOptions o, Store& s, EventRing& r, std::map<std::string, Link*> l, HttpCounters& c)
      : opt(std::move(o)),
        store(s),
        ring(r),
        links(std::move(l)),
        counters(c),
        ioc(1),
        sse_ioc(1),
        acceptor(ioc),
        flush_timer(sse_ioc) {}

  HttpOptions opt;
  Store& store;
  EventRing& ring;
  std::map<std::string, Link*> links;
  HttpCounters& counters;
  std::atomic<bool> flush_pending{false};
  std::atomic<bool> stopping{false};
  std::set<SseStream*> streams;        // SSE thread only
  std::set<tcp::socket*> sockets;      // request thread only: closed on shutdown
  std::set<tcp::socket*> sse_sockets;  // SSE thread only: closed on shutdown

  // Admin calls in flight (gRPC threads complete them).
  Mutex rpc_mu;
  CondVar rpc_cv;
  std::set<grpc::ClientContext*> rpc_contexts ABSL_GUARDED_BY(rpc_mu);
  size_t rpc_outstanding ABSL_GUARDED_BY(rpc_mu) = 0;

  // Declared after what the coroutines' frames touch when the io_contexts
  // destroy them, and before the I/O objects that need them. `ioc` accepts
  // and answers requests; `sse_ioc` (a thread of its own) feeds the event
  // streams, so that API calls never queue behind a fan-out burst.
  asio::io_context ioc;
  asio::io_context sse_ioc;
  tcp::acceptor acceptor;
  asio::steady_timer flush_timer;

  bool admin_enabled() const { return !opt.admin_user.empty() || !opt.admin_password.empty(); }

  asio::awaitable<void> Accept();
  asio::awaitable<void> Connection(tcp::socket socket);
  asio::awaitable<void> ServeEvents(tcp::socket socket, Request req);
  asio::awaitable<Response> Handle(const Request& req);
  asio::awaitable<Response> Admin(const Request& req, const std::vector<std::string>& seg,
                                  const std::string& user);
  Response Asset(const Request& req, const std::string& path);

  template <typename Req, typename Resp, typename Start>
  asio::awaitable<RpcResult<Resp>> Rpc(Start start, Req req);

  Response Make(const Request& req, http::status status, std::string body,
                std::string_view type = "application/json") {
    Response res{status, req.version()};
    res.set(http::field::server, "maglevd-frontend/" MAGLEV_VERSION);
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::move(body);
    return res;
  }
  Response Error(const Request& req, http::status status, std::string_view message) {
    return Make(req, status, JsonError(message));
  }
  void Flush() {
    flush_pending = false;
    for (SseStream* s : streams) s->wake.cancel();
  }
};

template <typename Req, typename Resp, typename Start>
asio::awaitable<RpcResult<Resp>> HttpServer::Impl::Rpc(Start start, Req req) {
  struct State {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };
  auto state = std::make_shared<State>();
  state->req = std::move(req);
  state->ctx.set_deadline(std::chrono::system_clock::now() + opt.admin_timeout);
  {
    MutexLock lock(rpc_mu);
    if (stopping) state->ctx.TryCancel();
    rpc_contexts.insert(&state->ctx);
    ++rpc_outstanding;
  }
  // A named initiation, not a temporary inside the co_await expression:
  // GCC 12 destroys such temporaries twice (its captured shared_ptr was
  // released once too often; found by ASan).
  auto init = [this, state, start](auto handler) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    start(&state->ctx, &state->req, &state->resp, [this, state, h](grpc::Status s) {
      asio::post(ioc, [state, h, s]() mutable {
        (*h)(RpcResult<Resp>{std::move(s), std::move(state->resp)});
      });
      MutexLock lock(rpc_mu);
      rpc_contexts.erase(&state->ctx);
      --rpc_outstanding;
      rpc_cv.NotifyAll();
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(RpcResult<Resp>)>(
      std::move(init), asio::use_awaitable);
}

asio::awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors, say: do not spin, try again shortly.
      asio::steady_timer pause(ioc, std::chrono::milliseconds(100));
      co_await pause.async_wait(kAwait);
      continue;
    }
    asio::co_spawn(ioc, Connection(std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        LogDebug("http-connection-error", {{"error", ex.what()}});
      }
    });
  }
}

asio::awaitable<void> HttpServer::Impl::Connection(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  tcp::socket* raw = &stream.socket();
  sockets.insert(raw);
  struct Unregister {
    Impl* impl;
    tcp::socket* s;
    ~Unregister() { impl->sockets.erase(s); }
  } unregister{this, raw};
  beast::flat_buffer buffer(16 * 1024);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
    if (stopping) break;
    if (ec) {
      bool gone = ec == http::error::end_of_stream || ec == beast::error::timeout ||
                  ec == asio::error::eof || ec == asio::error::connection_reset ||
                  ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
      if (!gone) {
        // Malformed or too large: say so and close.
        Response res{ec == http::error::body_limit || ec == http::error::header_limit
                         ? http::status::payload_too_large
                         : http::status::bad_request,
                     11};
        res.set(http::field::content_type, "application/json");
        res.body() = JsonError("bad request: " + ec.message());
        res.keep_alive(false);
        res.prepare_payload();
        stream.expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, res, kAwait);
      }
      break;
    }
    ++counters.requests;
    Request req = parser.release();
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() == http::verb::get && path == "/view/api/events") {
      // Hand the connection over to the SSE thread.
      beast::error_code ec2;
      tcp::socket moved = stream.release_socket();
      sockets.erase(raw);
      auto protocol = moved.local_endpoint(ec2).protocol();
      auto fd = moved.release(ec2);
      if (ec2) co_return;
      tcp::socket handed(sse_ioc, protocol, fd);
      asio::co_spawn(sse_ioc, ServeEvents(std::move(handed), std::move(req)),
                     [](std::exception_ptr) {});
      co_return;
    }
    Response res = co_await Handle(req);
    if (stopping) break;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(60));
    auto [wec, wn] = co_await http::async_write(stream, res, kAwait);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> HttpServer::Impl::ServeEvents(tcp::socket socket, Request req) {
  beast::tcp_stream stream(std::move(socket));
  tcp::socket* raw = &stream.socket();
  sse_sockets.insert(raw);
  struct UnregisterSocket {
    Impl* impl;
    tcp::socket* s;
    ~UnregisterSocket() { impl->sse_sockets.erase(s); }
  } unregister_socket{this, raw};
  if (stopping) co_return;
  auto now = EventRing::Clock::now;
  std::string last(req["Last-Event-ID"]);
  if (last.empty()) {
    std::string_view target = req.target();
    size_t q = target.find('?');
    if (q != std::string_view::npos) last = QueryParam(target.substr(q + 1), "lastEventId");
  }
  uint64_t cursor = ring.last_seq();
  bool resync = false;
  if (!last.empty()) {
    auto after = ring.ResumeAfter(last, now());
    if (after) {
      cursor = *after;
    } else {
      resync = true;
    }
  }
  auto resync_frame = [this](uint64_t at, std::string_view reason) {
    ++counters.sse_resyncs;
    return EventRing::FormatFrame(ring.IdOf(at), "resync",
                                  json({{"reason", std::string(reason)}}).dump());
  };
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Server: maglevd-frontend/" MAGLEV_VERSION
      "\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-cache, no-transform\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n"
      "\r\n"
      "retry: " +
      std::to_string(opt.retry.count()) + "\n\n";
  if (resync) head += resync_frame(cursor, "the events after Last-Event-ID are no longer held");
  stream.expires_after(std::chrono::seconds(30));
  auto [hec, hn] = co_await asio::async_write(stream, asio::buffer(head), kAwait);
  if (hec) co_return;

  SseStream self(sse_ioc);
  streams.insert(&self);
  ++counters.sse_clients;
  struct Unregister {
    Impl* impl;
    SseStream* s;
    ~Unregister() {
      impl->streams.erase(s);
      --impl->counters.sse_clients;
    }
  } unregister{this, &self};

  auto last_write = now();
  while (!stopping) {
    EventRing::Batch batch = ring.Collect(cursor, 256 * 1024, now());
    std::string extra;
    if (batch.gap) {
      // Too slow: what it missed is gone. Tell it to start over.
      cursor = ring.last_seq();
      extra = resync_frame(cursor, "this client fell behind the replay window");
    }
    if (!batch.frames.empty() || !extra.empty()) {
      std::vector<asio::const_buffer> buffers;
      buffers.reserve(batch.frames.size() + 1);
      if (!extra.empty()) buffers.push_back(asio::buffer(extra));
      for (const Frame& f : batch.frames) buffers.push_back(asio::buffer(*f));
      stream.expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await asio::async_write(stream, buffers, kAwait);
      if (ec) co_return;
      if (!batch.gap) cursor = batch.last_seq;
      counters.sse_frames += batch.frames.size();
      last_write = now();
      continue;
    }
    if (now() - last_write >= opt.heartbeat) {
      static const std::string kBeat = ": heartbeat\n\n";
      stream.expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kBeat), kAwait);
      if (ec) co_return;
      last_write = now();
      continue;
    }
    self.wake.expires_at(last_write + opt.heartbeat);
    co_await self.wake.async_wait(kAwait);  // cancelled by Flush()
  }
}

Response HttpServer::Impl::Asset(const Request& req, const std::string& path) {
  const frontend::Asset* a = FindAsset(path.empty() ? "index.html" : path);
  if (!a) return Error(req, http::status::not_found, "not found");
  Response res = Make(req, http::status::ok, std::string(a->data), a->content_type);
  // vite names bundles by content hash: they never change under one name.
  res.set(http::field::cache_control,
          path.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache");
  return res;
}

asio::awaitable<Response> HttpServer::Impl::Handle(const Request& req) {
  std::string_view target = req.target();
  if (target.empty() || target.front() != '/') {
    co_return Error(req, http::status::bad_request, "bad request target");
  }
  std::string_view path = target.substr(0, target.find('?'));
  std::vector<std::string> seg;
  for (const std::string& raw : SplitPath(path)) {
    std::string decoded;
    if (!PercentDecode(raw, &decoded)) {
      co_return Error(req, http::status::bad_request, "bad percent-encoding in the path");
    }
    seg.push_back(std::move(decoded));
  }
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  auto rest_after = [&](size_t from) {
    std::string out;
    for (size_t i = from; i < seg.size(); ++i) {
      if (i > from) out += '/';
      out += seg[i];
    }
    return out;
  };

  if (seg.size() == 1 && seg[0].empty()) {
    Response res = Make(req, http::status::found, "");
    res.set(http::field::location, "/view/");
    co_return res;
  }
  if (seg[0] == "healthz" && seg.size() == 1) {
    if (!get) co_return Error(req, http::status::method_not_allowed, "GET only");
    json j = {{"status", "ok"},
              {"sse_clients", counters.sse_clients.load()},
              {"sse_frames", counters.sse_frames.load()},
              {"sse_resyncs", counters.sse_resyncs.load()},
              {"event_seq", ring.last_seq()},
              {"requests", counters.requests.load()}};
    co_return Make(req, http::status::ok, j.dump());
  }
  if (seg[0] == "view") {
    if (!get) co_return Error(req, http::status::method_not_allowed, "the view is read-only");
    if (seg.size() == 1) {
      Response res = Make(req, http::status::moved_permanently, "");
      res.set(http::field::location, "/view/");
      co_return res;
    }
    if (seg[1] == "api") {
      std::string what = rest_after(2);
      if (what == "state") co_return Make(req, http::status::ok, store.StateJson());
      if (seg.size() == 4 && seg[2] == "state") {
        auto one = store.MaglevdStateJson(seg[3]);
        if (!one) co_return Error(req, http::status::not_found, "no maglevd named " + seg[3]);
        co_return Make(req, http::status::ok, std::move(*one));
      }
      if (what == "maglevds") co_return Make(req, http::status::ok, store.MaglevdsJson());
      if (what == "version") co_return Make(req, http::status::ok, store.VersionJson());
      co_return Error(req, http::status::not_found, "no such API endpoint");
    }
    co_return Asset(req, rest_after(1));
  }
  if (seg[0] == "admin") {
    if (!admin_enabled()) {
      co_return Error(req, http::status::not_found,
                      "the admin surface is off (set MAGLEV_FRONTEND_USER and "
                      "MAGLEV_FRONTEND_PASSWORD)");
    }
    std::string user, password;
    std::string_view auth = req[http::field::authorization];
    const bool decoded = DecodeBasicAuth(auth, &user, &password);
    // Both compared whatever the first says (no short circuit: constant time).
    const bool user_ok = ConstantTimeEqual(user, opt.admin_user);
    const bool password_ok = ConstantTimeEqual(password, opt.admin_password);
    if (!decoded || !(user_ok && password_ok)) {
      if (!auth.empty()) LogWarn("admin-auth-failed", {{"user", user}});
      Response res = Error(req, http::status::unauthorized, "authentication required");
      res.set(http::field::www_authenticate, "Basic realm=\"maglevd-frontend admin\"");
      co_return res;
    }
    if (seg.size() >= 2 && seg[1] == "api") co_return co_await Admin(req, seg, user);
    if (!get) co_return Error(req, http::status::method_not_allowed, "GET only");
    if (seg.size() == 1) {
      Response res = Make(req, http::status::moved_permanently, "");
      res.set(http::field::location, "/admin/");
      co_return res;
    }
    co_return Asset(req, rest_after(1));
  }
  co_return Error(req, http::status::not_found, "not found");
}

asio::awaitable<Response> HttpServer::Impl::Admin(const Request& req,
                                                  const std::vector<std::string>& seg,
                                                  const std::string& user) {
  if (seg.size() == 3 && seg[2] == "whoami") {
    co_return Make(req, http::status::ok, json({{"user", user}}).dump());
  }
  // /admin/api/maglevd/{m}/...
  if (seg.size() < 5 || seg[2] != "maglevd") {
    co_return Error(req, http::status::not_found, "no such admin endpoint");
  }
  if (req.method() != http::verb::post) {
    co_return Error(req, http::status::method_not_allowed, "admin actions are POST");
  }
  // Cross-site requests: a JSON content type forces a CORS preflight (which
  // we never grant), and an Origin, when sent, must be this very host.
  std::string_view type = req[http::field::content_type];
  if (type.substr(0, type.find(';')) != "application/json") {
    co_return Error(req, http::status::unsupported_media_type,
                    "admin actions want Content-Type: application/json");
  }
  std::string_view origin = req[http::field::origin];
  std::string host(req[http::field::host]);
  if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
    co_return Error(req, http::status::forbidden, "cross-origin admin requests are refused");
  }
  json body = json::object();
  if (!req.body().empty()) {
    body = json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      co_return Error(req, http::status::bad_request, "the body must be a JSON object");
    }
  }
  const std::string& m = seg[3];
  auto link_it = links.find(m);
  if (link_it == links.end())
    co_return Error(req, http::status::not_found, "no maglevd named " + m);
  Link& link = *link_it->second;
  maglev::Maglev::Stub& stub = link.stub();
  auto fail = [&](const grpc::Status& s, const std::string& action) {
    LogWarn("admin-action",
            {{"user", user}, {"maglevd", m}, {"action", action}, {"error", s.error_message()}});
    return Error(req, static_cast<http::status>(HttpStatusOf(s)),
                 s.error_message().empty() ? "maglevd error " + std::to_string(s.error_code())
                                           : s.error_message());
  };
  auto done = [&](const std::string& action, json result) {
    LogInfo("admin-action", {{"user", user}, {"maglevd", m}, {"action", action}});
    result["ok"] = true;
    return Make(req, http::status::ok, result.dump(-1, ' ', false, json::error_handler_t::replace));
  };

  // backend/{b}/{pause|resume|enable|disable}
  if (seg.size() == 7 && seg[4] == "backend") {
    const std::string& b = seg[5];
    const std::string& action = seg[6];
    using Start = std::function<void(grpc::ClientContext*, const maglev::BackendRequest*,
                                     maglev::BackendInfo*, std::function<void(grpc::Status)>)>;
    Start start;
    auto* async = stub.async();
    if (action == "pause") {
      start = [async](auto* c, auto* q, auto* r, auto cb) { async->PauseBackend(c, q, r, cb); };
    } else if (action == "resume") {
      start = [async](auto* c, auto* q, auto* r, auto cb) { async->ResumeBackend(c, q, r, cb); };
    } else if (action == "enable") {
      start = [async](auto* c, auto* q, auto* r, auto cb) { async->EnableBackend(c, q, r, cb); };
    } else if (action == "disable") {
      start = [async](auto* c, auto* q, auto* r, auto cb) { async->DisableBackend(c, q, r, cb); };
    } else {
      co_return Error(req, http::status::not_found, "no backend action " + action);
    }
    maglev::BackendRequest q;
    q.set_name(b);
    auto r = co_await Rpc<maglev::BackendRequest, maglev::BackendInfo>(start, q);
    std::string what = action + " backend " + b;
    if (!r.status.ok()) co_return fail(r.status, what);
    store.PutBackend(m, r.resp);
    Dirty d;
    d.frontends.insert(r.resp.frontends().begin(), r.resp.frontends().end());
    d.lb_state = true;
    link.MarkDirty(d);
    co_return done(what,
                   {{"backend", b}, {"state", r.resp.state()}, {"enabled", r.resp.enabled()}});
  }
  // frontend/{f}/pool/{p}/backend/{b}/weight  {"weight": N}
  if (seg.size() == 11 && seg[4] == "frontend" && seg[6] == "pool" && seg[8] == "backend" &&
      seg[10] == "weight") {
    if (!body.contains("weight") || !body["weight"].is_number_integer()) {
      co_return Error(req, http::status::bad_request, "want {\"weight\": 0..100}");
    }
    int64_t w = body["weight"].get<int64_t>();
    if (w < 0 || w > 100) co_return Error(req, http::status::bad_request, "weight must be 0..100");
    maglev::SetWeightRequest q;
    q.set_frontend(seg[5]);
    q.set_pool(seg[7]);
    q.set_backend(seg[9]);
    q.set_weight(static_cast<int32_t>(w));
    auto start = [&stub](auto* c, auto* q, auto* r, auto cb) {
      stub.async()->SetFrontendPoolBackendWeight(c, q, r, cb);
    };
    auto r = co_await Rpc<maglev::SetWeightRequest, maglev::FrontendInfo>(start, q);
    std::string what = "weight " + seg[5] + "/" + seg[7] + "/" + seg[9] + " " + std::to_string(w);
    if (!r.status.ok()) co_return fail(r.status, what);
    store.PutFrontend(m, r.resp);
    Dirty d;
    d.lb_state = true;
    link.MarkDirty(d);
    co_return done(what, {{"frontend", seg[5]}, {"weight", w}});
  }
  if (seg.size() == 5 && seg[4] == "sync") {
    maglev::SyncVPPLBStateRequest q;
    if (body.contains("frontend")) {
      if (!body["frontend"].is_string()) {
        co_return Error(req, http::status::bad_request, "frontend must be a string");
      }
      q.set_frontend_name(body["frontend"].get<std::string>());
    }
    auto start = [&stub](auto* c, auto* q, auto* r, auto cb) {
      stub.async()->SyncVPPLBState(c, q, r, cb);
    };
    auto r = co_await Rpc<maglev::SyncVPPLBStateRequest, maglev::SyncVPPLBStateResponse>(start, q);
    std::string what = "sync " + (q.has_frontend_name() ? q.frontend_name() : std::string("all"));
    if (!r.status.ok()) co_return fail(r.status, what);
    Dirty d;
    d.lb_state = true;
    link.MarkDirty(d);
    co_return done(what, json::object());
  }
  if (seg.size() == 6 && seg[4] == "config" && seg[5] == "reload") {
    auto start = [&stub](auto* c, auto* q, auto* r, auto cb) {
      stub.async()->ReloadConfig(c, q, r, cb);
    };
    maglev::ReloadConfigRequest q;
    auto r = co_await Rpc<maglev::ReloadConfigRequest, maglev::ReloadConfigResponse>(start, q);
    if (!r.status.ok()) co_return fail(r.status, "config reload");
    json j = {{"reloaded", r.resp.ok()},
              {"parse_error", r.resp.parse_error()},
              {"semantic_error", r.resp.semantic_error()},
              {"reload_error", r.resp.reload_error()}};
    if (!r.resp.ok()) {
      LogWarn("admin-action",
              {{"user", user}, {"maglevd", m}, {"action", "config reload"}, {"error", "refused"}});
      j["error"] = "the configuration was not applied";
      co_return Make(req, http::status::unprocessable_entity,
                     j.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    Dirty d;
    d.full = true;
    link.MarkDirty(d);
    co_return done("config reload", j);
  }
  co_return Error(req, http::status::not_found, "no such admin endpoint");
}

// ---------------------------------------------------------------- server

HttpServer::HttpServer(HttpOptions options, Store& store, EventRing& ring,
                       std::map<std::string, Link*> links)
    : impl_(std::make_unique<Impl>(std::move(options), store, ring, std::move(links), counters_)) {}

HttpServer::~HttpServer() {
  Shutdown();
  MutexLock lock(impl_->rpc_mu);
  for (auto* ctx : impl_->rpc_contexts) ctx->TryCancel();
  while (impl_->rpc_outstanding != 0) impl_->rpc_cv.Wait(impl_->rpc_mu);
}

absl::Status HttpServer::Listen() {
  const maglev::ListenAddress& l = impl_->opt.listen;
  beast::error_code ec;
  auto addr = asio::ip::make_address(l.ip.ToString(), ec);
  if (ec) return absl::InvalidArgumentError(l.ToString() + ": " + ec.message());
  tcp::endpoint ep(addr, l.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (ec && l.any) {
    // No IPv6 on this host: every IPv4 address then.
    ep = tcp::endpoint(asio::ip::address_v4::any(), l.port);
    acc.open(ep.protocol(), ec);
  }
  if (ec) return absl::UnavailableError(l.ToString() + ": " + ec.message());
  acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (ep.address().is_v6() && l.any) acc.set_option(asio::ip::v6_only(false), ec);
  acc.bind(ep, ec);
  if (ec) return absl::UnavailableError(l.ToString() + ": " + ec.message());
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(l.ToString() + ": " + ec.message());
  return absl::OkStatus();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::Run() {
  auto guard = asio::make_work_guard(impl_->sse_ioc);
  std::thread sse([this] { impl_->sse_ioc.run(); });
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  impl_->ioc.run();
  guard.reset();
  sse.join();
}

void HttpServer::Shutdown() {
  if (impl_->stopping.exchange(true)) return;
  {
    MutexLock lock(impl_->rpc_mu);
    for (auto* ctx : impl_->rpc_contexts) ctx->TryCancel();
  }
  // One post, to the request loop, which posts on to the SSE loop: Run()
  // cannot return (and the server cannot be destroyed) before both ran, and
  // this thread touches nothing after the post.
  asio::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    for (auto* s : impl->sockets) s->close(ec);
    asio::post(impl->sse_ioc, [impl] {
      beast::error_code ec;
      impl->flush_timer.cancel();
      for (auto* s : impl->sse_sockets) s->close(ec);
      impl->Flush();
    });
  });
}

void HttpServer::Notify() {
  Impl* impl = impl_.get();
  if (impl->flush_pending.exchange(true)) return;
  asio::post(impl->sse_ioc, [impl] {
    impl->flush_timer.expires_after(impl->opt.flush_delay);
    impl->flush_timer.async_wait([impl](beast::error_code) { impl->Flush(); });
  });
}

}  // namespace maglev::frontend
