#include "collector/metrics/collector_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "collector/correlate/correlator.hpp"
#include "common/metrics/registry.hpp"
#include "tests/collector/correlate/packet_reports.hpp"
#include "tests/common/metrics/exposition.hpp"

namespace ioam::collector::metrics {
namespace {

using namespace ioam::collector::test;
using ioam::metrics::test::Exposition;
using ioam::metrics::test::LabelMap;
using ioam::metrics::test::parse_exposition;

// The value of one sample, NaN when absent (EXPECT_EQ against a number then fails).
double value_of(const Exposition& e, const std::string& name, const LabelMap& labels = {}) {
    return e.value(name, labels).value_or(std::nan(""));
}

TEST(CollectorMetrics, IngestCounters) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {});
    m.on_message("10.0.0.1", 1, 100);
    m.on_message("10.0.0.1", 1, 50);
    m.on_message("10.0.0.1", 2, 10);  // same address, another observation domain
    m.on_records("10.0.0.1", 1, 7);
    m.on_error("10.0.0.2", source::IngestError::set_overrun);
    m.on_sequence("10.0.0.1", 1, 5, 1, 0);
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(value_of(e, "ioam_collector_ipfix_messages_total", {{"exporter", "10.0.0.1/1"}}), 2);
    EXPECT_EQ(value_of(e, "ioam_collector_ipfix_messages_total", {{"exporter", "10.0.0.1/2"}}), 1);
    EXPECT_EQ(value_of(e, "ioam_collector_ipfix_bytes_total", {{"exporter", "10.0.0.1/1"}}), 150);
    EXPECT_EQ(value_of(e, "ioam_collector_ipfix_records_total", {{"exporter", "10.0.0.1/1"}}), 7);
    EXPECT_EQ(value_of(e, "ioam_collector_ingest_errors_total",
                       {{"exporter", "10.0.0.2"}, {"reason", "set_overrun"}}),
              1);
    EXPECT_EQ(value_of(e, "ioam_collector_sequence_lost_records_total",
                       {{"exporter", "10.0.0.1"}, {"domain", "1"}}),
              5);
    EXPECT_EQ(value_of(e, "ioam_collector_sequence_reordered_total",
                       {{"exporter", "10.0.0.1"}, {"domain", "1"}}),
              1);
}

// A healthy system shows its error counters at zero, not "no data".
TEST(CollectorMetrics, ErrorSeriesExistAtZeroFromTheFirstMessage) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {});
    Exposition e = parse_exposition(reg.render());
    for (const char* reason : {"ipfix_loss", "exporter_silent", "evicted", "unknown"}) {
        EXPECT_EQ(value_of(e, "ioam_packets_incomplete_total", {{"reason", reason}}), 0) << reason;
    }
    EXPECT_EQ(value_of(e, "ioam_collector_decoded_records_total", {{"kind", "dex"}}), 0);
    // Families whose label values are not known yet exist (HELP, TYPE) without samples.
    for (const char* family : {"ioam_collector_ingest_errors_total", "ioam_path_packets_total",
                               "ioam_dex_flow_lost_packets_total"}) {
        EXPECT_EQ(e.type.count(family), 1u) << family;
    }

    m.on_message("10.0.0.1", 3, 100);
    e = parse_exposition(reg.render());
    for (std::size_t i = 0; i < source::kIngestErrorCount; ++i) {
        const auto reason = std::string(source::to_string(static_cast<source::IngestError>(i)));
        EXPECT_EQ(value_of(e, "ioam_collector_ingest_errors_total",
                           {{"exporter", "10.0.0.1"}, {"reason", reason}}),
                  0)
            << reason;
    }
    for (const char* family :
         {"ioam_collector_sequence_lost_records_total", "ioam_collector_sequence_reordered_total",
          "ioam_collector_sequence_restarts_total"}) {
        EXPECT_EQ(value_of(e, family, {{"exporter", "10.0.0.1"}, {"domain", "3"}}), 0) << family;
    }
    EXPECT_EQ(value_of(e, "ioam_collector_unknown_fields_total", {{"exporter", "10.0.0.1"}}), 0);
}

// Reports of packets over 1,2,3,4 through a real correlator into the metrics.
class PacketMetrics : public ::testing::Test {
  protected:
    void report(std::uint32_t k, std::size_t upto, const std::vector<std::uint32_t>& path = kPath) {
        IoamTrace t = node_report(path, k, upto);
        for (IoamNode& n : t.nodes) {  // as each node wrote its hop: the same in every report
            n.transit_delay = 5000;
            n.queue_depth = 12;
        }
        correlator.consume(node_origin(path[upto]), t);
    }
    Exposition scrape() {
        clock.advance_ms(2001);
        correlator.tick();
        return parse_exposition(reg.render());
    }

    static inline const std::vector<std::uint32_t> kPath = {1, 2, 3, 4};
    ioam::metrics::Registry reg;
    CollectorMetrics m{reg, {}};
    ManualClock clock;
    correlate::Correlator correlator{{}, {&m}, {&m}, clock.clock()};
};

TEST_F(PacketMetrics, EachPacketCountsOnceOnItsFullPath) {
    constexpr int kPackets = 23;
    for (std::uint32_t k = 0; k < kPackets; ++k) {
        for (std::size_t i = 0; i < 4; ++i) {
            report(k, i);
        }
    }
    m.watch_correlator(correlator);
    const Exposition e = scrape();
    const LabelMap full_path = {{"namespace", "7"}, {"path", "1,2,3,4"}};
    EXPECT_EQ(value_of(e, "ioam_path_packets_total", full_path), kPackets);
    EXPECT_EQ(e.find("ioam_path_packets_total").size(), 1u) << "no prefix of the path counted";
    for (const auto& [from, to] : {std::pair("1", "2"), std::pair("2", "3"), std::pair("3", "4")}) {
        const LabelMap labels = {{"namespace", "7"}, {"from", from}, {"to", to}};
        EXPECT_EQ(value_of(e, "ioam_segment_delay_seconds_count", labels), kPackets) << from;
        EXPECT_NEAR(value_of(e, "ioam_segment_delay_seconds_sum", labels), kPackets * 1e-4, 1e-9);
    }
    EXPECT_EQ(value_of(e, "ioam_path_delay_seconds_count", full_path), kPackets);
    EXPECT_NEAR(value_of(e, "ioam_path_delay_seconds_sum", full_path), kPackets * 3e-4, 1e-9);
    for (const char* node : {"1", "2", "3", "4"}) {
        const LabelMap labels = {{"namespace", "7"}, {"node", node}};
        EXPECT_EQ(value_of(e, "ioam_node_packets_total", labels), kPackets) << node;
        // Each node's own hop once per packet, though four reports carried hop 1.
        EXPECT_EQ(value_of(e, "ioam_hop_transit_delay_seconds_count", labels), kPackets);
        EXPECT_EQ(value_of(e, "ioam_node_queue_depth", labels), 12);
    }
    EXPECT_EQ(value_of(e, "ioam_collector_decoded_records_total", {{"kind", "trace"}}),
              4 * kPackets)
        << "the per-report counter is unchanged";
    EXPECT_EQ(value_of(e, "ioam_correlator_reports_total"), 4 * kPackets);
    EXPECT_EQ(value_of(e, "ioam_correlator_packets_total"), kPackets);
    EXPECT_EQ(value_of(e, "ioam_correlator_pending"), 0);
    EXPECT_EQ(value_of(e, "ioam_path_lost_packets_total", full_path), 0);
}

TEST_F(PacketMetrics, LossIsCountedOnItsSegment) {
    for (std::uint32_t k = 0; k < 10; ++k) {
        for (std::size_t i = 0; i < 4; ++i) {
            report(k, i);
        }
    }
    (void)scrape();
    for (std::uint32_t k = 10; k < 20; ++k) {
        // Every third packet is dropped between 2 and 3.
        for (std::size_t i = 0; i < (k % 3 == 0 ? 2u : 4u); ++i) {
            report(k, i);
        }
    }
    correlator.on_sequence("10.0.0.1", 4, 1, 0, 0);
    report(30, 0);
    report(30, 1);
    report(30, 2);  // node 4's exporter lost records: not network loss
    const Exposition e = scrape();
    EXPECT_EQ(value_of(e, "ioam_path_packets_total", {{"namespace", "7"}, {"path", "1,2,3,4"}}),
              17);
    EXPECT_EQ(value_of(e, "ioam_segment_lost_packets_total",
                       {{"namespace", "7"}, {"from", "2"}, {"to", "3"}}),
              3);
    EXPECT_EQ(value_of(e, "ioam_path_lost_packets_total", {{"namespace", "7"}, {"path", "1,2"}}),
              3);
    for (const auto& [from, to] : {std::pair("1", "2"), std::pair("3", "4")}) {
        EXPECT_EQ(value_of(e, "ioam_segment_lost_packets_total",
                           {{"namespace", "7"}, {"from", from}, {"to", to}}),
                  0)
            << from;
    }
    EXPECT_EQ(value_of(e, "ioam_packets_incomplete_total", {{"reason", "ipfix_loss"}}), 1);
}

// Packet updates are summed between scrapes and added to the library's series when it renders:
// each scrape shows every packet consumed before it, in the buckets the library's own
// Observe() would have chosen (a value equal to a bound counts in that bound's bucket).
TEST(CollectorMetrics, PacketSeriesAreExactAtEveryScrape) {
    ioam::metrics::Registry reg;
    CollectorMetrics m{reg, {}};
    const std::vector<double> bounds = ioam::metrics::exponential_buckets(1e-6, 2, 24);
    prometheus::Histogram reference(bounds);
    const LabelMap path = {{"namespace", "7"}, {"path", "1,2"}};
    const auto packet = [](std::int64_t end_to_end_ns) {
        Packet p;
        p.namespace_id = 7;
        p.hops.resize(2);
        p.hops[0].node = 1;
        p.hops[1].node = 2;
        p.path = "1,2";
        p.end_to_end_ns = end_to_end_ns;
        return p;
    };
    std::size_t sent = 0;
    for (const std::vector<std::int64_t>& round :
         {std::vector<std::int64_t>{999, 1000, 1001, 2000}, {4'000'000'000, 9'000'000'000, 3}}) {
        std::vector<Packet> batch;
        for (const std::int64_t ns : round) {
            batch.push_back(packet(ns));
            reference.Observe(static_cast<double>(ns) / 1e9);
        }
        m.consume(std::span<const Packet>(batch));
        sent += round.size();
        const Exposition e = parse_exposition(reg.render());
        EXPECT_EQ(value_of(e, "ioam_path_packets_total", path), static_cast<double>(sent));
        EXPECT_EQ(value_of(e, "ioam_node_packets_total", {{"namespace", "7"}, {"node", "2"}}),
                  static_cast<double>(sent));
        const prometheus::ClientMetric want = reference.Collect();
        EXPECT_DOUBLE_EQ(value_of(e, "ioam_path_delay_seconds_sum", path),
                         want.histogram.sample_sum);
        EXPECT_EQ(value_of(e, "ioam_path_delay_seconds_count", path),
                  static_cast<double>(want.histogram.sample_count));
        // The rendered buckets, in order, against the reference's.
        const auto buckets = e.find("ioam_path_delay_seconds_bucket", path);
        ASSERT_EQ(buckets.size(), want.histogram.bucket.size());
        for (std::size_t i = 0; i < buckets.size(); ++i) {
            EXPECT_EQ(buckets[i].value,
                      static_cast<double>(want.histogram.bucket[i].cumulative_count))
                << "le " << buckets[i].labels.at("le");
        }
    }
}

DexReport dex(std::uint32_t flow, std::uint32_t seq) {
    DexReport d;
    d.flow_id = flow;
    d.node = make_node(4, 1, 1);
    d.sequence_number = seq;
    return d;
}

TEST(CollectorMetrics, DexFlowLoss) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {});
    for (std::uint32_t seq : {0u, 1u, 4u, 3u, 5u}) {  // 2 and 3 skipped; 3 arrives late
        m.consume(Origin{"e", 1}, dex(99, seq));
    }
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(value_of(e, "ioam_dex_flow_reports_total", {{"flow", "99"}, {"node", "4"}}), 5);
    EXPECT_EQ(value_of(e, "ioam_dex_flow_lost_packets_total", {{"flow", "99"}, {"node", "4"}}), 2);
}

// Time as the tests set it (MetricsConfig::now is a plain function pointer).
Clock::time_point test_now_value;
Clock::time_point test_now() {
    return test_now_value;
}

// Regression: after --max-dex-flows (flow, node) pairs, new DEX flows were never reported.
TEST(CollectorMetrics, StaleSeriesAreEvictedAndMakeRoomForNewOnes) {
    ioam::metrics::Registry reg;
    test_now_value = Clock::time_point(std::chrono::hours(1));
    CollectorMetrics m(
        reg, {.max_dex_flows = 2, .series_ttl = std::chrono::seconds(60), .now = test_now});
    m.consume(Origin{"e", 1}, dex(1, 0));
    m.consume(Origin{"e", 1}, dex(2, 0));
    m.consume(Origin{"e", 1}, dex(3, 0));  // over the cap: not reported, counted as refused
    m.consume(Origin{"e", 1}, dex(3, 1));
    Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.find("ioam_dex_flow_reports_total").size(), 2u);
    EXPECT_FALSE(e.value("ioam_dex_flow_reports_total", {{"flow", "3"}, {"node", "4"}}));
    EXPECT_EQ(value_of(e, "ioam_metrics_series_dropped_total",
                       {{"family", "ioam_dex_flow_reports_total"}}),
              2);

    test_now_value += std::chrono::seconds(30);
    m.consume(Origin{"e", 1}, dex(2, 1));  // flow 2 stays fresh
    test_now_value += std::chrono::seconds(31);
    m.consume(Origin{"e", 1}, dex(3, 2));  // flow 1 is 61 s old: it goes, flow 3 comes in
    e = parse_exposition(reg.render());
    EXPECT_FALSE(e.value("ioam_dex_flow_reports_total", {{"flow", "1"}, {"node", "4"}}));
    EXPECT_EQ(value_of(e, "ioam_dex_flow_reports_total", {{"flow", "2"}, {"node", "4"}}), 2);
    EXPECT_EQ(value_of(e, "ioam_dex_flow_reports_total", {{"flow", "3"}, {"node", "4"}}), 1);
    EXPECT_EQ(e.find("ioam_dex_flow_lost_packets_total").size(), 2u);

    // Path series go the same way, on the correlator's thread.
    Packet p;
    p.namespace_id = 1;
    p.hops.resize(1);
    p.hops[0].node = 5;
    p.path = "5";
    m.consume(p);
    EXPECT_EQ(parse_exposition(reg.render()).find("ioam_path_packets_total").size(), 1u);
    test_now_value += std::chrono::seconds(61);
    p.hops[0].node = 6;
    p.path = "6";
    m.consume(p);
    e = parse_exposition(reg.render());
    EXPECT_FALSE(e.value("ioam_path_packets_total", {{"namespace", "1"}, {"path", "5"}}));
    EXPECT_FALSE(e.value("ioam_node_packets_total", {{"namespace", "1"}, {"node", "5"}}));
    EXPECT_EQ(value_of(e, "ioam_path_packets_total", {{"namespace", "1"}, {"path", "6"}}), 1);
}

TEST(CollectorMetrics, LabelSetsAreCapped) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {.max_series_per_family = 3});
    for (std::uint32_t i = 0; i < 10; ++i) {
        Packet p;
        p.namespace_id = 1;
        p.hops.resize(2);
        p.hops[0].node = i;
        p.hops[1].node = i + 100;
        p.path = std::to_string(i) + "," + std::to_string(i + 100);
        m.consume(p);
    }
    const Exposition e = parse_exposition(reg.render());
    EXPECT_EQ(e.find("ioam_path_packets_total").size(), 3u);
    EXPECT_GT(
        value_of(e, "ioam_metrics_series_dropped_total", {{"family", "ioam_path_packets_total"}}),
        0);
}

}  // namespace
}  // namespace ioam::collector::metrics
