// Text output of maglevc: tables and detail views rendered from the API's
// messages. Colour (ANSI) only marks words (states), and column widths are
// computed from the visible text, so coloured output aligns like plain
// output and plain output is what scripts parse. Pure; single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/maglev.pb.h"

namespace maglev::cli {

struct Style {
  bool color = false;
  int64_t now_unix_ns = 0;  // for "up 1h2m" style ages
};

// A left-aligned table with a header row and two spaces between columns.
// Cells may carry colour: widths use the visible text.
class Table {
 public:
  struct Cell {
    std::string text;   // visible text
    std::string color;  // ANSI SGR parameters ("32"), empty for none
  };
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<Cell> row);
  std::string Render(const Style& style) const;

 private:
  std::vector<std::vector<Cell>> rows_;
};

// The colour of a backend or frontend state word ("" when none).
std::string StateColor(const std::string& state);
std::string Colorize(const std::string& text, const std::string& color, const Style& style);

// "2024-05-01T12:00:00.123Z"; "-" for 0.
std::string FormatTime(int64_t unix_ns);
// Go-style duration of a nanosecond count, e.g. "1m30s".
std::string FormatNs(int64_t ns);

std::string RenderVersion(const std::string& client_version, const std::string& server,
                          const VersionInfo& v, const Style& style);
std::string RenderFrontendList(const std::vector<FrontendInfo>& fes, const Style& style);
// Every pool backend is one line `<backend> weight <cfg> effective <eff>`,
// plus ` [disabled]` when disabled, under one `pool <name>` line per pool; a
// runtime weight reads `weight 20 (runtime; config 100)`.
std::string RenderFrontend(const FrontendInfo& fe, const Style& style);
std::string RenderBackendList(const std::vector<BackendInfo>& bes, const Style& style);
std::string RenderBackend(const BackendInfo& be, const Style& style);
std::string RenderHealthCheckList(const std::vector<HealthCheckInfo>& hcs, const Style& style);
std::string RenderHealthCheck(const HealthCheckInfo& hc, const Style& style);
std::string RenderVppInfo(const VPPInfo& info, const Style& style);
std::string RenderVppLbState(const VPPLBState& state, const Style& style);
// One row per frontend: the four lb counters and the route's packets/bytes
// of the latest sample, and packets/s (lb's four counters together, and the
// route's) over the interval between the previous sample and the latest.
std::string RenderVppLbCounters(const VPPLBCounters& c, const Style& style);
// Packets per second between two values `dt_ns` apart; "-" when unknown or
// when the counter went backwards (reset: VIP re-created).
std::string FormatRate(uint64_t before, uint64_t now, int64_t dt_ns);
std::string RenderVppLbLookup(const VPPLBFlowLookup& l, const Style& style);
// A preview (#10): per VIP `frontend F vip V: moves X of N buckets (Y.Y %)`,
// then a table of backends with weight and buckets before -> after, the
// bucket moves and the flushed backends; `no VIP would change` when empty.
std::string RenderPreview(const PreviewResponse& r, const Style& style);
// One line (with trailing newline) per event.
std::string RenderEvent(const Event& e, const Style& style);

}  // namespace maglev::cli
