#include "common/metrics/registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/metrics/exposition.hpp"

namespace ioam::metrics {
namespace {

using test::Exposition;
using test::parse_exposition;

double dropped(const Registry& reg, const std::string& family) {
    return parse_exposition(reg.render())
        .value(std::string(kDroppedFamilyName), {{"family", family}})
        .value_or(-1);
}

TEST(MetricsRender, CountersAndGauges) {
    Registry reg;
    auto& records = reg.counter("ioam_records_total", "IPFIX records.", {"exporter", "kind"});
    records.with({"b", "trace"}).Increment(2);
    records.with({"a", "trace"}).Increment();
    records.with({"a", "dex"}).Increment(0.5);
    reg.gauge("ioam_queue_depth", "Queue depth.").get().Set(7);

    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.value("ioam_records_total", {{"exporter", "a"}, {"kind", "dex"}}), 0.5);
    EXPECT_EQ(e.value("ioam_records_total", {{"exporter", "a"}, {"kind", "trace"}}), 1);
    EXPECT_EQ(e.value("ioam_records_total", {{"exporter", "b"}, {"kind", "trace"}}), 2);
    EXPECT_EQ(e.find("ioam_records_total").size(), 3u);
    EXPECT_EQ(e.value("ioam_queue_depth"), 7);
    EXPECT_EQ(e.help.at("ioam_records_total"), "IPFIX records.");
    EXPECT_EQ(e.type.at("ioam_records_total"), "counter");
    EXPECT_EQ(e.type.at("ioam_queue_depth"), "gauge");
    // Every family has its zero drop counter from creation.
    EXPECT_EQ(dropped(reg, "ioam_records_total"), 0);
    EXPECT_EQ(dropped(reg, "ioam_queue_depth"), 0);
}

// Dashboards query families before their first event: they exist from creation.
TEST(MetricsRender, FamiliesWithoutSeriesHaveHelpAndType) {
    Registry reg;
    reg.counter("ioam_errors_total", "Errors.", {"reason"});
    reg.histogram("ioam_delay_seconds", "Delay.", {"node"}, {1});
    reg.gauge_function("ioam_depth", "Depth.", {"queue"});
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.type.at("ioam_errors_total"), "counter");
    EXPECT_EQ(e.type.at("ioam_delay_seconds"), "histogram");
    EXPECT_EQ(e.type.at("ioam_depth"), "gauge");
    EXPECT_TRUE(e.find("ioam_errors_total").empty());
}

TEST(MetricsRender, Histogram) {
    Registry reg;
    auto& delay = reg.histogram("ioam_delay_seconds", "Delay.", {"node"}, {0.25, 1, 10});
    for (double v : {0.25, 0.5, 1.0, 10.0, 16.0}) {
        delay.with({"n1"}).Observe(v);
    }
    const Exposition e = parse_exposition(reg.render());
    const auto bucket = [&](const char* le) {
        return e.value("ioam_delay_seconds_bucket", {{"node", "n1"}, {"le", le}});
    };
    // "le" is inclusive: 0.25 is in the 0.25 bucket, 10 in the 10 bucket.
    EXPECT_EQ(bucket("0.25"), 1);
    EXPECT_EQ(bucket("1"), 3);
    EXPECT_EQ(bucket("10"), 4);
    EXPECT_EQ(bucket("+Inf"), 5);
    EXPECT_EQ(e.value("ioam_delay_seconds_sum", {{"node", "n1"}}), 27.75);
    EXPECT_EQ(e.value("ioam_delay_seconds_count", {{"node", "n1"}}), 5);
}

TEST(MetricsRender, LabelValuesRoundTrip) {
    Registry reg;
    auto& g = reg.gauge("g", "G.", {"v"});
    g.with({"a\\b\"c\nd"}).Set(1);
    g.with({"ok \xC3\xA9 \xF0\x9F\x98\x80"}).Set(3);
    g.with({""}).Set(4);
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.value("g", {{"v", "a\\b\"c\nd"}}), 1);
    EXPECT_EQ(e.value("g", {{"v", "ok \xC3\xA9 \xF0\x9F\x98\x80"}}), 3);
    EXPECT_EQ(e.value("g", {{"v", ""}}), 4);
}

// Label values come from the network; Prometheus rejects a scrape with invalid UTF-8.
TEST(MetricsRender, InvalidUtf8BecomesReplacementCharacter) {
    Registry reg;
    auto& g = reg.gauge("g", "G.", {"v"});
    g.with({"bad \xff utf8 \xC3"}).Set(2);  // invalid byte, truncated sequence at the end
    g.with({"\xC0\xAF"}).Set(5);            // overlong '/'
    g.with({"\xED\xA0\x80"}).Set(6);        // UTF-16 surrogate
    g.with({"\xF4\x90\x80\x80"}).Set(7);    // above U+10FFFF
    const Exposition e = parse_exposition(reg.render());
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(e.value("g", {{"v", "bad " + r + " utf8 " + r}}), 2);
    EXPECT_EQ(e.value("g", {{"v", r + r}}), 5);
    EXPECT_EQ(e.value("g", {{"v", r + r + r}}), 6);
    EXPECT_EQ(e.value("g", {{"v", r + r + r + r}}), 7);
}

TEST(MetricsRender, NumbersRoundTrip) {
    for (const double value :
         {0.0, 42.0, -3.0, 123456789012.0, 4611686018427387904.0, 0.1, -0.5, 1e-9, 1e20,
          std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        Registry reg;
        reg.gauge("g", "G.").get().Set(value);
        EXPECT_EQ(parse_exposition(reg.render()).value("g"), value) << value;
    }
    Registry reg;
    reg.gauge("g", "G.").get().Set(std::nan(""));
    EXPECT_TRUE(std::isnan(parse_exposition(reg.render()).value("g").value_or(0)));
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

TEST(MetricsSeries, CounterIgnoresNegative) {
    Registry reg;
    auto& c = reg.counter("c_total", "C.").get();
    c.Increment(3);
    c.Increment(-1);
    EXPECT_EQ(c.Value(), 3);
}

TEST(MetricsSeries, FunctionsAreReadAtRenderTime) {
    Registry reg;
    double depth = 1;
    reg.gauge_function("queue_depth", "Depth.").add({}, [&depth] { return depth; });
    auto& bytes = reg.counter_function("bytes_total", "Bytes.", {"peer"});
    bytes.add({"a"}, [] { return 1234.0; });
    bytes.add({"b"}, [] { return 1.0; });
    bytes.add({"b"}, [] { return 2.0; });  // same labels: replaces
    depth = 5;
    Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.value("queue_depth"), 5);
    EXPECT_EQ(e.value("bytes_total", {{"peer", "a"}}), 1234);
    EXPECT_EQ(e.value("bytes_total", {{"peer", "b"}}), 2);
    EXPECT_EQ(e.type.at("bytes_total"), "counter");
    depth = 6;
    EXPECT_EQ(parse_exposition(reg.render()).value("queue_depth"), 6);
    EXPECT_THROW(bytes.add({}, [] { return 0.0; }), std::invalid_argument);
    EXPECT_THROW(bytes.add({std::string(kMaxLabelValueBytes + 1, 'x')}, [] { return 0.0; }),
                 std::invalid_argument);
}

TEST(MetricsSeries, RemovedSeriesLeaveTheExpositionAndFreeTheirPlace) {
    Registry reg;
    auto& f = reg.counter("c_total", "C.", {"k"}, 1);
    auto& a = f.with({"a"});
    a.Increment(4);
    auto& sink = f.with({"b"});  // at the cap
    EXPECT_EQ(&sink, &f.with({"c"}));
    f.remove(sink);  // ignored
    EXPECT_EQ(f.size(), 1u);
    f.remove(a);
    f.remove(a);  // twice: ignored
    EXPECT_EQ(f.size(), 0u);
    auto& b = f.with({"b"});
    b.Increment();
    EXPECT_EQ(f.size(), 1u);
    const Exposition e = parse_exposition(reg.render());
    EXPECT_FALSE(e.value("c_total", {{"k", "a"}}));
    EXPECT_EQ(e.value("c_total", {{"k", "b"}}), 1);
}

TEST(MetricsCap, OverflowGoesToUnrenderedSinkAndIsCounted) {
    Registry reg;
    auto& f = reg.counter("c_total", "C.", {"k"}, 2);
    f.with({"a"}).Increment();
    f.with({"b"}).Increment();
    auto& sink = f.with({"c"});
    sink.Increment(100);
    EXPECT_EQ(&sink, &f.with({"d"}));
    f.with({"a"}).Increment();  // existing series still reachable, not a drop
    EXPECT_EQ(f.size(), 2u);
    EXPECT_EQ(dropped(reg, "c_total"), 2);
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.value("c_total", {{"k", "a"}}), 2);
    EXPECT_EQ(e.value("c_total", {{"k", "b"}}), 1);
    EXPECT_EQ(e.find("c_total").size(), 2u);
}

TEST(MetricsCap, RefuseCountsWithoutALookup) {
    Registry reg;
    auto& f = reg.counter("c_total", "C.", {"k"}, 1);
    auto& sink = f.refuse();
    EXPECT_EQ(&sink, &f.refuse());
    EXPECT_EQ(f.size(), 0u);
    f.with({"a"});
    EXPECT_EQ(&sink, &f.with({"b"}));
    EXPECT_EQ(dropped(reg, "c_total"), 3);
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
    f.with({longest}).Increment();
    auto& sink = f.with({std::string(kMaxLabelValueBytes + 1, '1')});
    sink.Increment();
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
        small.with({k}).Set(1);
        big.with({k}).Set(1);
    }
    EXPECT_EQ(small.size(), 1u);
    EXPECT_EQ(big.size(), 3u);
    EXPECT_EQ(dropped(reg, "small"), 3);
    EXPECT_EQ(dropped(reg, "big"), 1);
    EXPECT_THROW(Registry({.max_series_per_family = 0}), std::invalid_argument);
    EXPECT_THROW(reg.gauge("zero", "Z.", {}, 0), std::invalid_argument);
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
    reg.histogram("a", "A.", {}, {1, inf}).get().Observe(5);
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.find("a_bucket").size(), 2u);  // 1 and +Inf
    EXPECT_THROW(reg.histogram("c", "C.", {}, {2, 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("d", "D.", {}, {1, 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("e", "E.", {}, {std::nan(""), 1}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("f", "F.", {}, {-inf, 1}), std::invalid_argument);
}

TEST(MetricsValidation, MetricNamesAndHelp) {
    Registry reg;
    for (const char* bad : {"", "1abc", "a-b", "a b", "caf\xC3\xA9", "a.b"}) {
        EXPECT_THROW(reg.gauge(bad, "H."), std::invalid_argument) << bad;
    }
    for (const char* good : {"a", "_a", ":a", "a:b_c9", "A_Z"}) {
        EXPECT_NO_THROW(reg.gauge(good, "H.")) << good;
    }
    EXPECT_THROW(reg.counter("requests", "H."), std::invalid_argument);  // no _total
    EXPECT_THROW(reg.counter_function("requests", "H."), std::invalid_argument);
    EXPECT_THROW(reg.gauge("no_help", ""), std::invalid_argument);
    // prometheus-cpp writes HELP unescaped: these would break the exposition.
    EXPECT_THROW(reg.gauge("two_lines", "a\nb"), std::invalid_argument);
    EXPECT_THROW(reg.gauge("backslash", "a\\b"), std::invalid_argument);
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
    EXPECT_THROW(reg.gauge_function("g", "G.", {"a"}), std::invalid_argument);

    auto& h = reg.histogram("h", "H.", {}, {1, 2});
    EXPECT_EQ(&h, &reg.histogram("h", "H.", {}, {1, 2}));
    EXPECT_THROW(reg.histogram("h", "H.", {}, {1, 3}), std::invalid_argument);
    EXPECT_THROW(reg.gauge("h_count", "H."), std::invalid_argument);
    EXPECT_THROW(reg.gauge("h_bucket", "H."), std::invalid_argument);
    reg.gauge("x_sum", "X.");
    EXPECT_THROW(reg.histogram("x", "X.", {}, {1}), std::invalid_argument);
    EXPECT_THROW(reg.gauge(kDroppedFamilyName, "Mine."), std::invalid_argument);
    auto& f = reg.gauge_function("fn", "F.");
    EXPECT_EQ(&f, &reg.gauge_function("fn", "F."));
}

TEST(MetricsProcess, ProcessFamiliesAndBuildInfo) {
    Registry reg({.program = "ioam-test"});
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.find("ioam_build_info", {{"program", "ioam-test"}}).size(), 1u);
    EXPECT_EQ(e.find("ioam_build_info").at(0).value, 1);
    EXPECT_FALSE(e.find("ioam_build_info").at(0).labels.at("version").empty());
    EXPECT_GT(e.value("process_resident_memory_bytes").value_or(0), 1e5);
    EXPECT_GT(e.value("process_open_fds").value_or(0), 2);  // stdin, stdout, stderr at least
    EXPECT_GE(e.value("process_cpu_seconds_total").value_or(-1), 0);
    // Started in the last hour, not in the future (seconds since the epoch).
    const double start = e.value("process_start_time_seconds").value_or(0);
    const auto now = static_cast<double>(std::time(nullptr));
    EXPECT_LE(start, now + 1);
    EXPECT_GT(start, now - 3600);
    // Without a program name, the registry renders only what it was given.
    EXPECT_TRUE(parse_exposition(Registry().render()).find("process_open_fds").empty());
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
                counters.with({"shared"}).Increment();
                counters.with({std::to_string(i % 8)}).Increment(2);
                gauge.Increment(t % 2 == 0 ? 1 : -0.5);
                hist.Observe(static_cast<double>(i % 200));
                if (i % 1000 == 0) {
                    (void)reg.render();  // rendering must not disturb the updates
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.value("c_total", {{"k", "shared"}}), double{kThreads} * kIterations);
    double per_key = 0;
    for (int k = 0; k < 8; ++k) {
        per_key += e.value("c_total", {{"k", std::to_string(k)}}).value_or(0);
    }
    EXPECT_EQ(per_key, 2.0 * kThreads * kIterations);
    EXPECT_EQ(e.value("g"), (kThreads / 2) * kIterations * 0.5);
    // i % 200 in [0, 199]: 11 values <= 10 and 101 values <= 100 of every 200.
    EXPECT_EQ(e.value("h_bucket", {{"le", "10"}}), kThreads * kIterations / 200 * 11);
    EXPECT_EQ(e.value("h_bucket", {{"le", "100"}}), kThreads * kIterations / 200 * 101);
    EXPECT_EQ(e.value("h_count"), std::uint64_t{kThreads} * kIterations);
    EXPECT_EQ(e.value("h_sum"), kThreads * (kIterations / 200) * (199.0 * 200 / 2));
}

}  // namespace
}  // namespace ioam::metrics
