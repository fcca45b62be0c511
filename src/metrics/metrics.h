// Prometheus text exposition (format 0.0.4): a registry of collectors that
// write metric families on demand, and a tiny HTTP server for GET /metrics.
// The registry and server run on the core loop thread: collectors read core
// state directly; state owned by other threads must be read through atomics
// or locks by the collector itself.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace maglev {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Writes families: each family's HELP/TYPE is emitted once, before its
// samples; samples of one family must be written together.
class MetricsWriter {
 public:
  enum class Type { kGauge, kCounter, kHistogram };
  void Family(const std::string& name, Type type, const std::string& help);
  void Sample(const std::string& name, const MetricLabels& labels, double value);
  // A histogram's _bucket/_sum/_count samples from cumulative bucket counts.
  void Histogram(const std::string& name, const MetricLabels& labels,
                 const std::vector<double>& upper_bounds, const std::vector<uint64_t>& counts,
                 uint64_t inf_count, double sum);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;
  void AddCollector(Collector c) { collectors_.push_back(std::move(c)); }
  std::string Render() const;

 private:
  std::vector<Collector> collectors_;
};

// Serves GET /metrics (and GET / with a pointer) on the io_context.
class MetricsServer {
 public:
  MetricsServer(asio::io_context& io, const MetricsRegistry& registry);
  ~MetricsServer();
  // Any form of ParseListenAddress (common/listen_address.h); port 0 picks
  // a free port. InvalidArgument for a bad address, Unavailable "ADDRESS:
  // REASON" when it cannot be bound.
  absl::Status Listen(const std::string& address);
  uint16_t port() const;
  void Close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace maglev
