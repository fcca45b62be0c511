#include "metrics/metrics.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cmath>
#include <cstdio>

#include "common/listen_address.h"
#include "common/log.h"

namespace maglev {

namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void AppendLabels(std::string* out, const MetricLabels& labels) {
  if (labels.empty()) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    *out += k;
    *out += "=\"";
    for (char c : v) {
      if (c == '\\') {
        *out += "\\\\";
      } else if (c == '"') {
        *out += "\\\"";
      } else if (c == '\n') {
        *out += "\\n";
      } else {
        out->push_back(c);
      }
    }
    out->push_back('"');
  }
  out->push_back('}');
}

}  // namespace

void MetricsWriter::Family(const std::string& name, Type type, const std::string& help) {
  out_ += "# HELP " + name + " ";
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_.push_back(c);
    }
  }
  out_ += "\n# TYPE " + name + " ";
  out_ += type == Type::kGauge ? "gauge" : type == Type::kCounter ? "counter" : "histogram";
  out_ += "\n";
}

void MetricsWriter::Sample(const std::string& name, const MetricLabels& labels, double value) {
  out_ += name;
  AppendLabels(&out_, labels);
  out_ += " " + FormatValue(value) + "\n";
}

void MetricsWriter::Histogram(const std::string& name, const MetricLabels& labels,
                              const std::vector<double>& upper_bounds,
                              const std::vector<uint64_t>& counts, uint64_t inf_count, double sum) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    MetricLabels l = labels;
    l.emplace_back("le", FormatValue(upper_bounds[i]));
    Sample(name + "_bucket", l, static_cast<double>(cumulative));
  }
  cumulative += inf_count;
  MetricLabels l = labels;
  l.emplace_back("le", "+Inf");
  Sample(name + "_bucket", l, static_cast<double>(cumulative));
  Sample(name + "_sum", labels, sum);
  Sample(name + "_count", labels, static_cast<double>(cumulative));
}

std::string MetricsRegistry::Render() const {
  MetricsWriter w;
  for (const auto& c : collectors_) c(w);
  return w.text();
}

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io, const MetricsRegistry& r) : io(io), registry(r), acceptor(io) {}
  asio::io_context& io;
  const MetricsRegistry& registry;
  asio::ip::tcp::acceptor acceptor;
  bool closed = false;

  asio::awaitable<void> Serve(asio::ip::tcp::socket sock) {
    auto self = shared_from_this();
    // A client gets 5 s to send its request; the request head is capped.
    asio::steady_timer deadline(io, std::chrono::seconds(5));
    deadline.async_wait([&sock](std::error_code ec) {
      if (!ec) sock.close();
    });
    try {
      std::string buf;
      auto dyn = asio::dynamic_buffer(buf, 8192);
      co_await asio::async_read_until(sock, dyn, "\r\n\r\n", asio::use_awaitable);
      std::string first = buf.substr(0, buf.find("\r\n"));
      std::string status = "200 OK", body, type = "text/plain; version=0.0.4; charset=utf-8";
      if (first.rfind("GET /metrics", 0) == 0 &&
          (first.size() == 12 || first[12] == ' ' || first[12] == '?')) {
        if (!self->closed) body = registry.Render();
      } else if (first.rfind("GET / ", 0) == 0) {
        type = "text/html";
        body = "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n";
      } else {
        status = "404 Not Found";
        body = "not found\n";
      }
      std::string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                         "\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n";
      std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
      co_await asio::async_write(sock, bufs, asio::use_awaitable);
    } catch (const std::exception&) {
      // client went away or sent garbage; nothing to do
    }
    deadline.cancel();
    std::error_code ignored;
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!closed) {
      std::error_code ec;
      asio::ip::tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closed || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io, Serve(std::move(sock)), asio::detached);
    }
  }
};

MetricsServer::MetricsServer(asio::io_context& io, const MetricsRegistry& registry)
    : impl_(std::make_shared<Impl>(io, registry)) {}

MetricsServer::~MetricsServer() { Close(); }

absl::Status MetricsServer::Listen(const std::string& text) {
  auto address = ParseListenAddress(text, /*allow_port_zero=*/true);
  if (!address.ok()) return address.status();
  std::error_code ec;
  asio::ip::tcp::endpoint ep(
      address->ip.is_v4() ? asio::ip::address(asio::ip::make_address_v4(address->ip.ToString()))
                          : asio::ip::address(asio::ip::make_address_v6(address->ip.ToString())),
      address->port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  // ":PORT" is every address, IPv4 included.
  if (!ec && address->any) impl_->acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    impl_->acceptor.close(ignored);
    return absl::UnavailableError(address->ToString() + ": " + ec.message());
  }
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  return absl::OkStatus();
}

uint16_t MetricsServer::port() const {
  std::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void MetricsServer::Close() {
  impl_->closed = true;
  std::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace maglev
