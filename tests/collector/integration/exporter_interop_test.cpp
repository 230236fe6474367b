// Messages built by the exporter's libfixbuf record builder decode back to the same traces and
// DEX reports: the collector's hand-written parser against a real IPFIX implementation.

#include <gtest/gtest.h>

#include "collector/decode/record_decoder.hpp"
#include "exporter/record/record_builder.hpp"
#include "tests/collector/capture_sink.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/source/recording_handler.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;

class Interop : public ::testing::Test {
  protected:
    exporter::record::RecordBuilder builder(bool hop_list, std::uint32_t sample_one_in = 1) {
        exporter::record::RecordOptions o;
        o.observation_domain = 1;
        o.hop_list = hop_list;
        o.sample_one_in = sample_one_in;
        return exporter::record::RecordBuilder(o, [this](std::span<const std::uint8_t> m) {
            proc.process_udp({}, "192.0.2.1", m, 1);
        });
    }

    CaptureSink sink;
    decode::RecordDecoder decoder{{&sink}};
    RecordingHandler observer;
    source::IpfixProcessor proc{{}, decode::role_of, decoder, observer};
};

class InteropTest : public Interop, public ::testing::WithParamInterface<bool> {};

TEST_P(InteropTest, TracesAndDexReportsRoundTrip) {
    auto b = builder(GetParam());
    std::vector<IoamTrace> traces;
    for (std::uint32_t i = 0; i < 50; ++i) {
        traces.push_back(
            make_trace({i, i + 1, i + 2}, 123, 1'700'000'000'000'000'000 + i * 1'000'000'007ull));
        ASSERT_TRUE(b.add(traces.back()));
    }
    DexReport d;
    d.observation_time_ns = 1'700'000'000'123'456'789;
    d.observation_domain = 1;
    d.namespace_id = 5;
    d.ext_flags = 0xc0;
    d.trace_type = kTraceType;
    d.flow_id = 77;
    d.sequence_number = 3;
    d.node = make_node(42, 1'700'000'000, 5);
    ASSERT_TRUE(b.add(d));
    ASSERT_TRUE(b.flush());

    ASSERT_EQ(sink.traces.size(), traces.size()) << observer.errors.size();
    for (std::size_t i = 0; i < traces.size(); ++i) {
        EXPECT_EQ(sink.traces[i], traces[i]) << i;
    }
    ASSERT_EQ(sink.dex.size(), 1u);
    EXPECT_EQ(sink.dex[0], d);
    EXPECT_TRUE(observer.errors.empty());
    EXPECT_EQ(observer.lost, 0u);
    EXPECT_EQ(decoder.stats().raw_fallbacks.load(), 0u);
}

TEST_F(Interop, HopListAloneWhenNoRawData) {
    auto b = builder(true);
    IoamTrace t = make_trace({7, 8, 9});
    t.raw_data.clear();
    ASSERT_TRUE(b.add(t));
    ASSERT_TRUE(b.flush());
    ASSERT_EQ(sink.traces.size(), 1u);
    EXPECT_EQ(sink.traces[0].nodes, t.nodes);
}

// The exporter's sampling options record tells the collector what each record stands for.
TEST_F(Interop, SamplingRatioReachesTheRecordsOrigin) {
    auto unsampled = builder(true);
    ASSERT_TRUE(unsampled.add(make_trace({1, 2})));
    ASSERT_TRUE(unsampled.flush());
    ASSERT_EQ(sink.sample_one_in, (std::vector<std::uint32_t>{1}));

    auto b = builder(true, 8);
    for (std::uint32_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(b.add(make_trace({i, i + 1})));
    }
    ASSERT_TRUE(b.flush());
    EXPECT_EQ(sink.sample_one_in, (std::vector<std::uint32_t>{1, 8, 8, 8}));
    EXPECT_EQ(decoder.stats().sampling_records.load(), 1u);
    EXPECT_TRUE(observer.errors.empty());
}

INSTANTIATE_TEST_SUITE_P(HopList, InteropTest, ::testing::Bool());

}  // namespace
}  // namespace ioam::collector
