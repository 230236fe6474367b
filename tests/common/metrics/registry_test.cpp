#include "common/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ioam::metrics {
namespace {

// The drop-counter lines every registry renders, for a registry with the given families.
std::string dropped_lines(const std::vector<std::string>& families) {
    std::string out =
        "# HELP ioam_metrics_series_dropped_total Calls to with() answered by the unrendered sink "
        "series because the family was at its label-set cap or got the wrong label count\n"
        "# TYPE ioam_metrics_series_dropped_total counter\n";
    for (const auto& f : families) {
        out += "ioam_metrics_series_dropped_total{family=\"" + f + "\"} 0\n";
    }
    return out;
}

double dropped(const Registry& reg, std::string_view family) {
    // The drop family is an ordinary family of the registry; read it back through render().
    const std::string key =
        "ioam_metrics_series_dropped_total{family=\"" + std::string(family) + "\"} ";
    const std::string text = reg.render();
    const auto pos = text.find(key);
    EXPECT_NE(pos, std::string::npos) << text;
    return std::stod(text.substr(pos + key.size()));
}

TEST(MetricsRender, CountersAndGaugesGolden) {
    Registry reg;
    auto& records = reg.counter("ioam_records_total", "IPFIX records.", {"exporter", "kind"});
    records.with({"b", "trace"}).inc(2);
    records.with({"a", "trace"}).inc();
    records.with({"a", "dex"}).inc(0.5);
    reg.gauge("ioam_queue_depth", "Queue depth.").get().set(7);
    reg.gauge("ioam_unused", "Labelled, no series yet.", {"x"});

    EXPECT_EQ(reg.render(), dropped_lines({"ioam_metrics_series_dropped_total", "ioam_queue_depth",
                                           "ioam_records_total", "ioam_unused"}) +
                                "# HELP ioam_queue_depth Queue depth.\n"
                                "# TYPE ioam_queue_depth gauge\n"
                                "ioam_queue_depth 7\n"
                                "# HELP ioam_records_total IPFIX records.\n"
                                "# TYPE ioam_records_total counter\n"
                                "ioam_records_total{exporter=\"a\",kind=\"dex\"} 0.5\n"
                                "ioam_records_total{exporter=\"a\",kind=\"trace\"} 1\n"
                                "ioam_records_total{exporter=\"b\",kind=\"trace\"} 2\n");
}

TEST(MetricsRender, HistogramGolden) {
    Registry reg;
    auto& delay = reg.histogram("ioam_delay_seconds", "Delay.", {"node"}, {0.25, 1, 10});
    for (double v : {0.25, 0.5, 1.0, 10.0, 16.0}) {
        delay.with({"n1"}).observe(v);
    }
    EXPECT_EQ(reg.render(),
              "# HELP ioam_delay_seconds Delay.\n"
              "# TYPE ioam_delay_seconds histogram\n"
              "ioam_delay_seconds_bucket{node=\"n1\",le=\"0.25\"} 1\n"
              "ioam_delay_seconds_bucket{node=\"n1\",le=\"1\"} 3\n"
              "ioam_delay_seconds_bucket{node=\"n1\",le=\"10\"} 4\n"
              "ioam_delay_seconds_bucket{node=\"n1\",le=\"+Inf\"} 5\n"
              "ioam_delay_seconds_sum{node=\"n1\"} 27.75\n"
              "ioam_delay_seconds_count{node=\"n1\"} 5\n" +
                  dropped_lines({"ioam_delay_seconds", "ioam_metrics_series_dropped_total"}));
}

TEST(MetricsRender, UnlabelledHistogramHasOnlyLe) {
    Registry reg;
    reg.histogram("h_seconds", "H.", {}, {1});
    const std::string text = reg.render();
    EXPECT_NE(text.find("h_seconds_bucket{le=\"1\"} 0\nh_seconds_bucket{le=\"+Inf\"} 0\n"
                        "h_seconds_sum 0\nh_seconds_count 0\n"),
              std::string::npos)
        << text;
}

TEST(MetricsRender, EscapesHelpAndLabelValues) {
    Registry reg;
    auto& g = reg.gauge("g", "back\\slash \"quoted\"\nnext line", {"v"});
    g.with({"a\\b\"c\nd"}).set(1);
    g.with({"bad \xff utf8 \xC3"}).set(2);  // invalid bytes, truncated sequence at the end
    g.with({"ok \xC3\xA9 \xF0\x9F\x98\x80"}).set(3);
    g.with({""}).set(4);
    const std::string text = reg.render();
    EXPECT_NE(text.find("# HELP g back\\\\slash \"quoted\"\\nnext line\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("g{v=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{v=\"bad \xEF\xBF\xBD utf8 \xEF\xBF\xBD\"} 2\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("g{v=\"ok \xC3\xA9 \xF0\x9F\x98\x80\"} 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{v=\"\"} 4\n"), std::string::npos) << text;
}

TEST(MetricsRender, RejectsOverlongAndSurrogateUtf8) {
    Registry reg;
    auto& g = reg.gauge("g", "G.", {"v"});
    g.with({"\xC0\xAF"}).set(1);          // overlong '/'
    g.with({"\xED\xA0\x80"}).set(2);      // UTF-16 surrogate
    g.with({"\xF4\x90\x80\x80"}).set(3);  // above U+10FFFF
    const std::string text = reg.render();
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_NE(text.find("g{v=\"" + r + r + "\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{v=\"" + r + r + r + "\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("g{v=\"" + r + r + r + r + "\"} 3\n"), std::string::npos) << text;
}

TEST(MetricsRender, NumberFormats) {
    const std::vector<std::pair<double, std::string>> cases = {
        {0, "0"},
        {-0.0, "0"},
        {42, "42"},
        {-3, "-3"},
        {123456789012.0, "123456789012"},
        {4611686018427387904.0, "4611686018427387904"},  // 2^62, exact without exponent
        {0.1, "0.1"},
        {-0.5, "-0.5"},
        {1e-9, "1e-09"},
        {1e20, "1e+20"},
        {std::numeric_limits<double>::infinity(), "+Inf"},
        {-std::numeric_limits<double>::infinity(), "-Inf"},
        {std::nan(""), "NaN"},
    };
    for (const auto& [value, expected] : cases) {
        Registry reg;
        reg.gauge("g", "G.").get().set(value);
        const std::string text = reg.render();
        EXPECT_NE(text.find("\ng " + expected + "\n"), std::string::npos) << expected << "\n"
                                                                          << text;
    }
}

TEST(MetricsSeries, SameLabelsSameSeries) {
    Registry reg;
    auto& f = reg.counter("c_total", "C.", {"a", "b"});
    const std::vector<std::string> owned = {"x", "y"};
    const std::vector<std::string_view> views = {"x", "y"};
    EXPECT_EQ(&f.with({"x", "y"}), &f.with(std::span<const std::string>(owned)));
    EXPECT_EQ(&f.with({"x", "y"}), &f.with(std::span<const std::string_view>(views)));
    EXPECT_NE(&f.with({"x", "y"}), &f.with({"y", "x"}));
    EXPECT_EQ(f.size(), 2u);
}

TEST(MetricsSeries, CounterIgnoresNegativeAndNaN) {
    Registry reg;
    auto& c = reg.counter("c_total", "C.").get();
    c.inc(3);
    c.inc(-1);
    c.inc(std::nan(""));
    EXPECT_EQ(c.value(), 3);
}

TEST(MetricsSeries, GaugeSetIncDec) {
    Registry reg;
    auto& g = reg.gauge("g", "G.").get();
    g.set(10);
    g.inc();
    g.inc(2.5);
    g.dec(4);
    EXPECT_EQ(g.value(), 9.5);
}

TEST(MetricsSeries, CallbackReadAtRenderTime) {
    Registry reg;
    double depth = 1;
    auto& g = reg.gauge("queue_depth", "Depth.").get();
    g.set(100);
    g.set_function([&depth] { return depth; });
    depth = 5;
    EXPECT_EQ(g.value(), 5);
    EXPECT_NE(reg.render().find("\nqueue_depth 5\n"), std::string::npos);
    auto& c = reg.counter("bytes_total", "Bytes.").get();
    c.set_function([] { return 1234.0; });
    EXPECT_NE(reg.render().find("\nbytes_total 1234\n"), std::string::npos);
    g.set_function({});  // back to the stored value
    EXPECT_EQ(g.value(), 100);
}

TEST(MetricsCap, OverflowGoesToUnrenderedSinkAndIsCounted) {
    Registry reg;
    auto& f = reg.counter("c_total", "C.", {"k"}, 2);
    f.with({"a"}).inc();
    f.with({"b"}).inc();
    auto& sink = f.with({"c"});
    sink.inc(100);
    EXPECT_EQ(&sink, &f.with({"d"}));
    f.with({"a"}).inc();  // existing series still reachable, not a drop
    EXPECT_EQ(f.size(), 2u);
    EXPECT_EQ(dropped(reg, "c_total"), 2);
    const std::string text = reg.render();
    EXPECT_NE(text.find("c_total{k=\"a\"} 2\nc_total{k=\"b\"} 1\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("100"), std::string::npos) << text;
    EXPECT_EQ(text.find("k=\"c\""), std::string::npos) << text;
}

TEST(MetricsCap, WrongLabelCountGoesToSink) {
    Registry reg;
    auto& f = reg.gauge("g", "G.", {"a", "b"});
    auto& sink = f.with({"only one"});
    EXPECT_EQ(&sink, &f.with({"x", "y", "z"}));
    EXPECT_EQ(&sink, &f.get());
    EXPECT_EQ(f.size(), 0u);
    EXPECT_EQ(dropped(reg, "g"), 3);
}

// Regression: a 230 KB path label made one scrape 261 MB.
TEST(MetricsCap, OverlongLabelValuesAreSunkAndCounted) {
    Registry reg;
    auto& f = reg.counter("paths_total", "P.", {"path"});
    const std::string longest(kMaxLabelValueBytes, '1');
    f.with({longest}).inc();
    auto& sink = f.with({std::string(kMaxLabelValueBytes + 1, '1')});
    sink.inc();
    EXPECT_EQ(&sink, &f.with({std::string(230'000, '2')}));
    EXPECT_EQ(f.size(), 1u);
    EXPECT_EQ(dropped(reg, "paths_total"), 2);
    EXPECT_LT(reg.render().size(), 3 * kMaxLabelValueBytes);
}

TEST(MetricsCap, RegistryDefaultAndPerFamilyOverride) {
    Registry reg({.max_series_per_family = 1});
    auto& small = reg.gauge("small", "S.", {"k"});
    auto& big = reg.gauge("big", "B.", {"k"}, 3);
    for (const char* k : {"a", "b", "c", "d"}) {
        small.with({k}).set(1);
        big.with({k}).set(1);
    }
    EXPECT_EQ(small.max_series(), 1u);
    EXPECT_EQ(small.size(), 1u);
    EXPECT_EQ(big.size(), 3u);
    EXPECT_EQ(dropped(reg, "small"), 3);
    EXPECT_EQ(dropped(reg, "big"), 1);
    EXPECT_THROW(Registry({.max_series_per_family = 0}), std::invalid_argument);
    EXPECT_THROW(reg.gauge("zero", "Z.", {}, 0), std::invalid_argument);
}

TEST(MetricsHistogram, LeIsInclusive) {
    Registry reg;
    auto& h = reg.histogram("h", "H.", {}, {1, 2}).get();
    h.observe(1);
    h.observe(std::nextafter(1.0, 2.0));
    h.observe(2);
    h.observe(std::nextafter(2.0, 3.0));
    h.observe(-5);
    EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{2, 4, 5}));
    EXPECT_EQ(h.count(), 5u);
}

TEST(MetricsHistogram, NaNGoesToInfOnly) {
    Registry reg;
    auto& h = reg.histogram("h", "H.", {}, {1}).get();
    h.observe(std::nan(""));
    EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{0, 1}));
    EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(MetricsHistogram, BucketHelpers) {
    EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
    EXPECT_EQ(linear_buckets(-1, 0.5, 4), (std::vector<double>{-1, -0.5, 0, 0.5}));
    EXPECT_EQ(exponential_buckets(1e-6, 10, 7),
              (std::vector<double>{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}));
    EXPECT_EQ(linear_buckets(0, 0.1, 4), (std::vector<double>{0, 0.1, 0.2, 0.3}));
    EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);
    EXPECT_THROW(linear_buckets(0, 0, 3), std::invalid_argument);
    EXPECT_THROW(linear_buckets(0, 1, 0), std::invalid_argument);
}

TEST(MetricsHistogram, BucketValidation) {
    Registry reg;
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_EQ(reg.histogram("a", "A.", {}, {1, inf}).get().bounds().size(), 1u);
    EXPECT_EQ(reg.histogram("b", "B.", {}, {}).get().cumulative_counts().size(), 1u);
    EXPECT_THROW(reg.histogram("c", "C.", {}, {2, 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("d", "D.", {}, {1, 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("e", "E.", {}, {std::nan(""), 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("f", "F.", {}, {-inf, 1}), std::invalid_argument);
}

TEST(MetricsValidation, MetricNames) {
    Registry reg;
    for (const char* bad : {"", "1abc", "a-b", "a b", "caf\xC3\xA9", "a.b"}) {
        EXPECT_THROW(reg.gauge(bad, "H."), std::invalid_argument) << bad;
    }
    for (const char* good : {"a", "_a", ":a", "a:b_c9", "A_Z"}) {
        EXPECT_NO_THROW(reg.gauge(good, "H.")) << good;
    }
    EXPECT_THROW(reg.counter("requests", "H."), std::invalid_argument);  // no _total
    EXPECT_THROW(reg.gauge("no_help", ""), std::invalid_argument);
}

TEST(MetricsValidation, LabelNames) {
    Registry reg;
    for (const char* bad : {"", "1a", "a-b", "__reserved", "a:b"}) {
        EXPECT_THROW(reg.gauge("g", "G.", {bad}), std::invalid_argument) << bad;
    }
    EXPECT_THROW(reg.gauge("g", "G.", {"a", "b", "a"}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("h", "H.", {"le"}, {1}), std::invalid_argument);
    EXPECT_NO_THROW(reg.gauge("le_gauge", "G.", {"le", "_x", "a9"}));
}

TEST(MetricsValidation, DuplicatesAndClashes) {
    Registry reg;
    auto& g = reg.gauge("g", "G.", {"a"});
    EXPECT_EQ(&g, &reg.gauge("g", "G.", {"a"}));  // identical definition: same family
    EXPECT_THROW(reg.gauge("g", "Other help.", {"a"}), std::invalid_argument);
    EXPECT_THROW(reg.gauge("g", "G.", {"b"}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("g", "G.", {"a"}, {1}), std::invalid_argument);

    auto& h = reg.histogram("h", "H.", {}, {1, 2});
    EXPECT_EQ(&h, &reg.histogram("h", "H.", {}, {1, 2}));
    EXPECT_THROW(reg.histogram("h", "H.", {}, {1, 3}), std::invalid_argument);
    EXPECT_THROW(reg.gauge("h_count", "H."), std::invalid_argument);
    EXPECT_THROW(reg.gauge("h_bucket", "H."), std::invalid_argument);
    reg.gauge("x_sum", "X.");
    EXPECT_THROW(reg.histogram("x", "X.", {}, {1}), std::invalid_argument);
    EXPECT_THROW(reg.gauge(kDroppedFamilyName, "Mine."), std::invalid_argument);
}

TEST(MetricsConcurrency, IncrementsFromThreadsSumExactly) {
    Registry reg;
    auto& counters = reg.counter("c_total", "C.", {"k"});
    auto& gauge = reg.gauge("g", "G.").get();
    auto& hist = reg.histogram("h", "H.", {}, {10, 100}).get();
    constexpr int kThreads = 4;
    constexpr int kIterations = 50000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kIterations; ++i) {
                counters.with({"shared"}).inc();
                counters.with({std::to_string(i % 8)}).inc(2);
                gauge.inc(t % 2 == 0 ? 1 : -0.5);
                hist.observe(static_cast<double>(i % 200));
                if (i % 1000 == 0) {
                    (void)reg.render();  // rendering must not disturb the updates
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(counters.with({"shared"}).value(), double{kThreads} * kIterations);
    double per_key = 0;
    for (int k = 0; k < 8; ++k) {
        per_key += counters.with({std::to_string(k)}).value();
    }
    EXPECT_EQ(per_key, 2.0 * kThreads * kIterations);
    EXPECT_EQ(gauge.value(), (kThreads / 2) * kIterations * 0.5);
    EXPECT_EQ(hist.count(), std::uint64_t{kThreads} * kIterations);
    // i % 200 in [0, 199]: 11 values <= 10 and 101 values <= 100 of every 200.
    EXPECT_EQ(hist.cumulative_counts(),
              (std::vector<std::uint64_t>{kThreads * kIterations / 200 * 11,
                                          kThreads * kIterations / 200 * 101,
                                          std::uint64_t{kThreads} * kIterations}));
    EXPECT_EQ(hist.sum(), kThreads * (kIterations / 200) * (199.0 * 200 / 2));
}

}  // namespace
}  // namespace ioam::metrics
