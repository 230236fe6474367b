#include "collector/metrics/collector_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "common/metrics/registry.hpp"
#include "tests/collector/ioam_messages.hpp"

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
    m.on_records("10.0.0.1", 1, 7);
    m.on_error("10.0.0.2", source::IngestError::set_overrun);
    m.on_sequence("10.0.0.1", 1, 5, 1, 0);
    const std::string text = reg.render();
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_messages_total{exporter=\"10.0.0.1\"} 2"));
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_bytes_total{exporter=\"10.0.0.1\"} 150"));
    EXPECT_TRUE(has(text, "ioam_collector_ipfix_records_total{exporter=\"10.0.0.1\"} 7"));
    EXPECT_TRUE(
        has(text,
            "ioam_collector_ingest_errors_total{exporter=\"10.0.0.2\",reason=\"set_overrun\"} 1"));
    EXPECT_TRUE(has(
        text, "ioam_collector_sequence_lost_records_total{exporter=\"10.0.0.1\",domain=\"1\"} 5"));
    EXPECT_TRUE(
        has(text, "ioam_collector_sequence_reordered_total{exporter=\"10.0.0.1\",domain=\"1\"} 1"));
}

TEST(CollectorMetrics, TraceTelemetry) {
    ioam::metrics::Registry reg;
    CollectorMetrics m(reg, {});
    IoamTrace t = make_trace({1, 2, 3}, 7);
    t.nodes[0].transit_delay = 5000;  // 5 us at node 3
    t.nodes[0].queue_depth = 12;
    m.consume(Origin{"e", 1}, t);
    m.consume(Origin{"e", 1}, t);
    const std::string text = reg.render();
    EXPECT_TRUE(has(text, "ioam_hop_transit_delay_seconds_count{namespace=\"7\",node=\"3\"} 2"));
    EXPECT_TRUE(has(text, "ioam_node_queue_depth{namespace=\"7\",node=\"3\"} 12"));
    // Hops are 100 us apart: 1->2 and 2->3.
    EXPECT_TRUE(has(text,
                    "ioam_segment_delay_seconds_count{namespace=\"7\",from_node=\"1\",to_node="
                    "\"2\"} 2"));
    EXPECT_DOUBLE_EQ(
        value_of(text,
                 "ioam_segment_delay_seconds_sum{namespace=\"7\",from_node=\"2\",to_node=\"3\"}"),
        0.0002);
    EXPECT_TRUE(has(text, "ioam_path_packets_total{namespace=\"7\",path=\"1,2,3\"} 2"));
    EXPECT_DOUBLE_EQ(value_of(text, "ioam_path_delay_seconds_sum{namespace=\"7\",path=\"1,2,3\"}"),
                     0.0004);
    EXPECT_TRUE(has(text, "ioam_collector_decoded_records_total{kind=\"trace\"} 2"));
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
        m.consume(Origin{"e", 1}, make_trace({i, i + 100}, 1));
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
