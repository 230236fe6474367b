#include "collector/metrics/collector_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "collector/correlate/correlator.hpp"
#include "common/metrics/registry.hpp"
#include "tests/collector/correlate/packet_reports.hpp"

namespace ioam::collector::metrics {
namespace {

using namespace ioam::collector::test;

bool has(const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
}

// The value of the sample whose name and labels are `series`, NaN when absent.
double value_of(const std::string& text, const std::string& series) {
    const auto pos = text.find("\n" + series + " ");
    if (pos == std::string::npos) {
        return std::nan("");
    }
    return std::stod(text.substr(pos + series.size() + 2));
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
    const std::string text = reg.render();
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_messages_total{exporter=\"10.0.0.1/1\"} 2"));
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_messages_total{exporter=\"10.0.0.1/2\"} 1"));
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_bytes_total{exporter=\"10.0.0.1/1\"} 150"));
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_records_total{exporter=\"10.0.0.1/1\"} 7"));
    EXPECT_TRUE(
        has(text,
            "ioam_collector_ingest_errors_total{exporter=\"10.0.0.2\",reason=\"set_overrun\"} 1"));
    EXPECT_TRUE(has(
        text, "ioam_collector_sequence_lost_records_total{exporter=\"10.0.0.1\",domain=\"1\"} 5"));
    EXPECT_TRUE(
        has(text, "ioam_collector_sequence_reordered_total{exporter=\"10.0.0.1\",domain=\"1\"} 1"));
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
    std::string scrape() {
        clock.advance_ms(2001);
        correlator.tick();
        return reg.render();
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
    const std::string text = scrape();
    EXPECT_EQ(value_of(text, "ioam_path_packets_total{namespace=\"7\",path=\"1,2,3,4\"}"),
              kPackets);
    for (const char* prefix : {"1", "1,2", "1,2,3"}) {
        EXPECT_FALSE(has(text, std::string("path=\"") + prefix + "\"}")) << prefix;
    }
    for (const auto& [from, to] : {std::pair("1", "2"), std::pair("2", "3"), std::pair("3", "4")}) {
        const std::string labels =
            std::string("{namespace=\"7\",from=\"") + from + "\",to=\"" + to + "\"}";
        EXPECT_EQ(value_of(text, "ioam_segment_delay_seconds_count" + labels), kPackets) << labels;
        EXPECT_NEAR(value_of(text, "ioam_segment_delay_seconds_sum" + labels), kPackets * 1e-4,
                    1e-9);
    }
    EXPECT_EQ(value_of(text, "ioam_path_delay_seconds_count{namespace=\"7\",path=\"1,2,3,4\"}"),
              kPackets);
    EXPECT_NEAR(value_of(text, "ioam_path_delay_seconds_sum{namespace=\"7\",path=\"1,2,3,4\"}"),
                kPackets * 3e-4, 1e-9);
    for (const char* node : {"1", "2", "3", "4"}) {
        const std::string labels = std::string("{namespace=\"7\",node=\"") + node + "\"}";
        EXPECT_EQ(value_of(text, "ioam_node_packets_total" + labels), kPackets) << node;
        // Each node's own hop once per packet, though four reports carried hop 1.
        EXPECT_EQ(value_of(text, "ioam_hop_transit_delay_seconds_count" + labels), kPackets);
        EXPECT_EQ(value_of(text, "ioam_node_queue_depth" + labels), 12);
    }
    EXPECT_EQ(value_of(text, "ioam_collector_decoded_records_total{kind=\"trace\"}"), 4 * kPackets)
        << "the per-report counter is unchanged";
    EXPECT_EQ(value_of(text, "ioam_correlator_reports_total"), 4 * kPackets);
    EXPECT_EQ(value_of(text, "ioam_correlator_packets_total"), kPackets);
    EXPECT_EQ(value_of(text, "ioam_correlator_pending"), 0);
    EXPECT_EQ(value_of(text, "ioam_path_lost_packets_total{namespace=\"7\",path=\"1,2,3,4\"}"), 0);
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
    const std::string text = scrape();
    EXPECT_EQ(value_of(text, "ioam_path_packets_total{namespace=\"7\",path=\"1,2,3,4\"}"), 17);
    EXPECT_EQ(
        value_of(text, "ioam_segment_lost_packets_total{namespace=\"7\",from=\"2\",to=\"3\"}"), 3);
    EXPECT_EQ(value_of(text, "ioam_path_lost_packets_total{namespace=\"7\",path=\"1,2\"}"), 3);
    for (const char* other : {"from=\"1\",to=\"2\"", "from=\"3\",to=\"4\""}) {
        EXPECT_EQ(value_of(text, std::string("ioam_segment_lost_packets_total{namespace=\"7\",") +
                                     other + "}"),
                  0)
            << other;
    }
    EXPECT_EQ(value_of(text, "ioam_packets_incomplete_total{reason=\"ipfix_loss\"}"), 1);
}

TEST(CollectorMetrics, DexFlowLoss) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {});
    DexReport d;
    d.flow_id = 99;
    d.node = make_node(4, 1, 1);
    for (std::uint32_t seq : {0u, 1u, 4u, 3u, 5u}) {  // 2 and 3 skipped; 3 arrives late
        d.sequence_number = seq;
        m.consume(Origin{"e", 1}, d);
    }
    const std::string text = reg.render();
    EXPECT_TRUE(has(text, "ioam_dex_flow_reports_total{flow=\"99\",node=\"4\"} 5"));
    EXPECT_TRUE(has(text, "ioam_dex_flow_lost_packets_total{flow=\"99\",node=\"4\"} 2"));
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
    const std::string text = reg.render();
    std::size_t paths = 0;
    for (auto pos = text.find("ioam_path_packets_total{"); pos != std::string::npos;
         pos = text.find("ioam_path_packets_total{", pos + 1)) {
        ++paths;
    }
    EXPECT_EQ(paths, 3u);
    EXPECT_TRUE(has(text, "ioam_metrics_series_dropped_total{family=\"ioam_path_packets_total\"}"));
}

}  // namespace
}  // namespace ioam::collector::metrics
