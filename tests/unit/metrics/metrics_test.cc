#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace maglev {
namespace {

TEST(MetricsWriter, TextFormat) {
  MetricsWriter w;
  w.Family("maglev_x_total", MetricsWriter::Type::kCounter, "A help\nline.");
  w.Sample("maglev_x_total", {{"backend", "a\"b\\c"}}, 3);
  w.Family("maglev_h_seconds", MetricsWriter::Type::kHistogram, "H.");
  w.Histogram("maglev_h_seconds", {{"type", "http"}}, {0.1, 1}, {2, 3}, 1, 4.5);
  EXPECT_EQ(w.text(),
            "# HELP maglev_x_total A help\\nline.\n"
            "# TYPE maglev_x_total counter\n"
            "maglev_x_total{backend=\"a\\\"b\\\\c\"} 3\n"
            "# HELP maglev_h_seconds H.\n"
            "# TYPE maglev_h_seconds histogram\n"
            "maglev_h_seconds_bucket{type=\"http\",le=\"0.1\"} 2\n"
            "maglev_h_seconds_bucket{type=\"http\",le=\"1\"} 5\n"
            "maglev_h_seconds_bucket{type=\"http\",le=\"+Inf\"} 6\n"
            "maglev_h_seconds_sum{type=\"http\"} 4.5\n"
            "maglev_h_seconds_count{type=\"http\"} 6\n");
}

}  // namespace
}  // namespace maglev
