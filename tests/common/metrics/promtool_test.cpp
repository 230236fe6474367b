// Checks render()'s output with Prometheus' own parser and linter (promtool check metrics).
#include "common/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "tests/common/metrics/exposition.hpp"
#include "tests/common/metrics/promtool.hpp"

namespace ioam::metrics {
namespace {

Registry& populated(Registry& reg) {
    const double inf = std::numeric_limits<double>::infinity();
    auto& records = reg.counter("ioam_test_records_total", "Records, with \"quotes\" in help.",
                                {"exporter", "kind"});
    records.with({"10.0.0.1", "trace"}).Increment(3);
    records.with({"quote\" back\\slash\nnewline", "tab\there"}).Increment();
    records.with({"invalid utf8 \xff\xfe", "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80"}).Increment(0.25);
    records.with({"", "{}=,"}).Increment();
    records.with({std::string_view("nul\0 and \r", 11), "x"}).Increment();
    auto& depth = reg.gauge("ioam_test_queue_depth", "Queue depth.", {"queue"});
    depth.with({"a"}).Set(-inf);
    depth.with({"b"}).Set(inf);
    depth.with({"c"}).Set(std::numeric_limits<double>::quiet_NaN());
    depth.with({"d"}).Set(1e300);
    reg.gauge_function("ioam_test_read_depth", "Read at scrape time.", {"queue"}).add({"e"}, [] {
        return 123456789.0;
    });
    reg.counter("ioam_test_unused_total", "No series yet.", {"k"});
    auto& delay = reg.histogram("ioam_test_delay_seconds", "One-way delay.", {"node"},
                                exponential_buckets(1e-6, 10, 7));
    delay.with({"1"}).Observe(2e-5);
    delay.with({"1"}).Observe(0.5);
    delay.with({"2\"\\\n"}).Observe(100);
    reg.histogram("ioam_test_plain_seconds", "No labels.", {}, linear_buckets(0, 0.5, 3))
        .get()
        .Observe(0.5);
    auto& capped = reg.counter("ioam_test_capped_total", "Capped.", {"k"}, 1);
    capped.with({"kept"}).Increment();
    capped.with({"dropped"}).Increment();
    return reg;
}

TEST(MetricsPromtool, CheckMetricsAcceptsRenderWithoutLint) {
    Registry reg({.program = "ioam-test"});  // process_* and ioam_build_info too
    const std::string text = populated(reg).render();
    const auto problems = test::promtool_problems(text);
    if (!problems) {
        GTEST_SKIP() << "promtool NOT FOUND: exposition format not checked "
                        "(install Debian package 'prometheus')";
    }
    EXPECT_EQ(*problems, "") << "\n--- rendered:\n" << text;
    // Guard against checking an empty or partial text.
    const test::Exposition e = test::parse_exposition(text);
    EXPECT_EQ(e.value("ioam_test_delay_seconds_bucket", {{"node", "1"}, {"le", "1e-05"}}), 0);
    EXPECT_EQ(e.value("ioam_metrics_series_dropped_total", {{"family", "ioam_test_capped_total"}}),
              1);
    EXPECT_EQ(e.find("process_open_fds").size(), 1u);
}

}  // namespace
}  // namespace ioam::metrics
