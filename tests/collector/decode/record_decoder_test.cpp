#include "collector/decode/record_decoder.hpp"

#include <gtest/gtest.h>

#include "tests/collector/capture_sink.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/source/recording_handler.hpp"

namespace ioam::collector::decode {
namespace {

using namespace ioam::collector::test;

class DecoderTest : public ::testing::Test {
  protected:
    void send(std::vector<std::uint8_t> msg) { proc.process_udp({}, "192.0.2.7", msg, 1); }

    CaptureSink sink;
    RecordDecoder decoder{{&sink}};
    RecordingHandler observer;
    source::IpfixProcessor proc{{}, role_of, decoder, observer};
};

TEST_F(DecoderTest, RolesResolvedFromTheRegistry) {
    EXPECT_NE(role_of(ipfix::kPen, 2), 0);  // ioamNodeId
    const ipfix::ElementSpec* time = ipfix::find("observationTimeNanoseconds");
    ASSERT_NE(time, nullptr);
    EXPECT_NE(role_of(time->pen, time->id), 0);
    EXPECT_NE(role_of(ipfix::kPen, 25), 0);  // ioamHopCount: understood, unused
    EXPECT_EQ(role_of(ipfix::kPen, 999), 0);
    EXPECT_EQ(role_of(0, 8), 0);  // sourceIPv4Address: not ours
}

TEST_F(DecoderTest, TraceWithRawDataAndHopList) {
    const IoamTrace t = make_trace({10, 20, 30});
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    send(b.finish());
    ASSERT_EQ(sink.traces.size(), 1u);
    EXPECT_EQ(sink.traces[0], t);
    EXPECT_EQ(sink.exporters[0], "192.0.2.7");
    EXPECT_TRUE(sink.nodes_from_raw[0]);
    EXPECT_EQ(decoder.stats().raw_fallbacks, 0u);
    EXPECT_TRUE(observer.errors.empty());
}

TEST_F(DecoderTest, TraceFromHopListAlone) {
    IoamTrace t = make_trace({1, 2});
    t.raw_data.clear();
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    send(b.finish());
    ASSERT_EQ(sink.traces.size(), 1u);
    EXPECT_EQ(sink.traces[0].nodes, t.nodes);
    EXPECT_FALSE(sink.nodes_from_raw[0]);
}

// One trace of a data set decoded from its hop list: the store must not take any of the set's
// nodes as rebuilt from the raw data.
TEST_F(DecoderTest, UndecodableRawFallsBackToHopList) {
    const IoamTrace good = make_trace({3, 4});
    IoamTrace t = make_trace({1, 2});
    t.raw_data.resize(t.raw_data.size() - 4);  // not a whole number of nodes
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, good, true);
    trace_record(b, t, true);
    send(b.finish());
    ASSERT_EQ(sink.traces.size(), 2u);
    EXPECT_EQ(sink.traces[0], good);
    EXPECT_EQ(sink.traces[1].nodes, t.nodes);
    EXPECT_EQ(sink.nodes_from_raw, (std::vector<bool>{false, false}));
    EXPECT_EQ(decoder.stats().raw_fallbacks, 1u);
}

TEST_F(DecoderTest, UndecodableRawWithoutListIsADecodeError) {
    IoamTrace t = make_trace({1, 2});
    t.raw_data.resize(t.raw_data.size() - 4);
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, false);
    b.begin_set(ipfix::kTraceTemplateId);
    trace_record(b, t, false);
    send(b.finish());
    EXPECT_TRUE(sink.traces.empty());
    EXPECT_EQ(observer.errors["192.0.2.7/decode_error"], 1);
}

TEST_F(DecoderTest, DexReports) {
    DexReport d;
    d.observation_time_ns = 1'700'000'000'123'456'789;
    d.observation_domain = 1;
    d.namespace_id = 5;
    d.ext_flags = 0xc0;
    d.trace_type = kTraceType;
    d.flow_id = 0xffffffffu;  // a real all-ones flow id survives thanks to the ext flags
    d.sequence_number = 7;
    d.node = make_node(42, 1'700'000'000, 5);
    DexReport no_seq = d;
    no_seq.ext_flags = 0x80;
    no_seq.flow_id = 9;
    no_seq.sequence_number.reset();
    MessageBuilder b(1, 0);
    dex_template(b, d.trace_type);
    b.begin_set(ipfix::dex_template_id(d.trace_type));
    dex_record(b, d);
    dex_record(b, no_seq);
    send(b.finish());
    ASSERT_EQ(sink.dex.size(), 2u);
    EXPECT_EQ(sink.dex[0], d);
    EXPECT_EQ(sink.dex[1], no_seq);
}

// The sinks take a message's records together, at its end or every 64 records: one call for
// its traces, one for its DEX reports, each in order; a record that does not decode is left
// out of its batch and counted.
TEST_F(DecoderTest, EachMessageReachesTheSinksInBatchesOfAtMost64) {
    const IoamTrace t1 = make_trace({1, 2});
    const IoamTrace t2 = make_trace({3});
    IoamTrace bad = make_trace({4, 5});
    bad.raw_data.resize(bad.raw_data.size() - 4);  // not a whole number of nodes, no list
    DexReport d = make_dex(8, 9, 42, 5);
    d.observation_time_ns = 1'700'000'000'123'456'789;
    d.observation_domain = 1;
    d.ext_flags = 0xc0;
    MessageBuilder b(1, 0);
    trace_templates(b, t1.trace_type, false);
    dex_template(b, d.trace_type);
    b.begin_set(ipfix::kTraceTemplateId);
    trace_record(b, t1, false);
    trace_record(b, bad, false);
    trace_record(b, t2, false);
    b.begin_set(ipfix::dex_template_id(d.trace_type));
    dex_record(b, d);
    dex_record(b, d);
    b.begin_set(ipfix::kTraceTemplateId);
    for (int i = 0; i < 200; ++i) {
        trace_record(b, t2, false);
    }
    send(b.finish());
    // 2 + 62 traces fill the first batch, the DEX reports go with it; the last 10 at the end.
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{64, 2, 64, 64, 10}));
    ASSERT_EQ(sink.traces.size(), 202u);
    EXPECT_EQ(sink.traces[0], t1);
    EXPECT_EQ(sink.traces[1], t2);
    EXPECT_EQ(sink.traces[201], t2);
    ASSERT_EQ(sink.dex.size(), 2u);
    EXPECT_EQ(sink.dex[1], d);
    MessageBuilder next(1, 205);
    next.begin_set(ipfix::kTraceTemplateId);
    trace_record(next, t1, false);
    next.begin_set(ipfix::kTraceTemplateId);
    trace_record(next, t2, false);
    send(next.finish());
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{64, 2, 64, 64, 10, 2}));
    EXPECT_EQ(observer.errors, (std::map<std::string, int>{{"192.0.2.7/decode_error", 1}}));
}

constexpr std::uint32_t kPen = ipfix::kPen;
constexpr Field kHopLimit1{1, 1, kPen};
constexpr Field kTraceType3{20, 3, kPen};
constexpr Field kHopList{292, source::kVariableLength};

// A trace record of template 300 (trace type, then a subTemplateList of `hops` one-octet hop
// records of template 400); templates included.
std::vector<std::uint8_t> one_octet_hops(std::size_t hops) {
    MessageBuilder b(1, 0);
    b.begin_set(2).template_record(400, {kHopLimit1}).template_record(300, {kTraceType3, kHopList});
    b.begin_set(300).u8(0x80).u16(0);                  // trace type: bit 0 (hop limit and node id)
    std::vector<std::uint8_t> list{0x03, 0x01, 0x90};  // semantic allOf, template 400
    list.resize(3 + hops, 64);
    return b.varlen(list).finish();
}

// Issue 12.2: a 64 KB datagram of 65 000 one-octet hops became a 10 MB trace. An IOAM option
// holds at most 255 nodes (255 words of node data).
TEST_F(DecoderTest, MoreHopsThanIoamCarriesAreRejected) {
    send(one_octet_hops(255));
    ASSERT_EQ(sink.traces.size(), 1u);
    EXPECT_EQ(sink.traces[0].nodes.size(), 255u);
    send(one_octet_hops(256));
    send(one_octet_hops(65000));
    EXPECT_EQ(sink.traces.size(), 1u);
    EXPECT_EQ(observer.errors["192.0.2.7/record_too_large"], 2);
}

TEST_F(DecoderTest, NodeDataBeyondOneOptionIsRejected) {
    IoamTrace t = make_trace(std::vector<std::uint32_t>(64, 7));  // 64 nodes of 16 octets
    t.raw_data.clear();  // the list alone: 1024 octets of node data, 4 more than fit
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    send(b.finish());
    EXPECT_TRUE(sink.traces.empty());
    EXPECT_EQ(observer.errors["192.0.2.7/record_too_large"], 1);

    IoamTrace raw = make_trace(std::vector<std::uint32_t>(64, 7));  // 1024 octets of raw data
    MessageBuilder r(1, 1);
    trace_templates(r, raw.trace_type, false);
    r.begin_set(ipfix::kTraceTemplateId);
    trace_record(r, raw, false);
    send(r.finish());
    EXPECT_TRUE(sink.traces.empty());
    EXPECT_EQ(observer.errors["192.0.2.7/record_too_large"], 2);
}

// Issue 12.6: values wider than their IOAM field were truncated into other, valid values.
TEST_F(DecoderTest, ValuesThatDoNotFitTheirIoamFieldAreRejected) {
    MessageBuilder b(1, 0);
    // DEX records: flow id, then an 8-octet ioamNodeId (a 24-bit field).
    b.begin_set(2).template_record(310, {{27, 1, kPen}, {15, 4, kPen}, {2, 8, kPen}});
    b.begin_set(310).u8(0x80).u32(1).u64(0x100000005ull);
    b.u8(0x80).u32(2).u64(5);
    b.u8(0x80).u32(3).u64(0xffffffffffffffffull);  // all ones: unavailable, not an error
    // Traces: a 4-octet ioamNamespaceId (a 16-bit field), trace type, empty hop list.
    b.begin_set(2).template_record(320, {{0, 4, kPen}, kTraceType3, kHopList});
    b.begin_set(320).u32(65659).u8(0).u16(0).u8(0);
    b.u32(123).u8(0).u16(0).u8(0);
    b.u32(1).u8(0xff).u16(0).u8(0);  // a 3-octet trace type always fits
    b.begin_set(2).template_record(330, {{20, 4, kPen}, kHopList});
    b.begin_set(330).u32(0x01f00000).u8(0);  // a 4-octet trace type over 24 bits
    send(b.finish());
    ASSERT_EQ(sink.dex.size(), 2u);
    EXPECT_EQ(sink.dex[0].flow_id, 2u);
    EXPECT_EQ(sink.dex[0].node.node_id, 5u);
    EXPECT_FALSE(sink.dex[1].node.node_id.has_value());
    ASSERT_EQ(sink.traces.size(), 2u);
    EXPECT_EQ(sink.traces[0].namespace_id, 123u);
    EXPECT_EQ(sink.traces[1].trace_type, 0xff0000u);
    EXPECT_EQ(observer.errors["192.0.2.7/value_out_of_range"], 3);
}

// Found by fuzzing: opaque data is a whole number of 4-octet words in IOAM, and a partial word
// reached the store as if it could be written back into an option.
TEST_F(DecoderTest, OpaqueDataThatIsNotWholeWordsIsRejected) {
    MessageBuilder b(1, 0);
    // DEX records: flags, flow id, node id, opaque schema id, opaque data.
    b.begin_set(2).template_record(
        340, {{27, 1, kPen}, {15, 4, kPen}, {2, 4, kPen}, {13, 4, kPen}, {14, 0xffff, kPen}});
    const std::vector<std::uint8_t> word{1, 2, 3, 4};
    const std::vector<std::uint8_t> partial{1, 2, 3, 4, 5, 6};
    b.begin_set(340).u8(0x80).u32(1).u32(5).u32(9).varlen(partial);
    b.u8(0x80).u32(2).u32(5).u32(9).varlen(word);
    b.u8(0x80).u32(3).u32(5).u32(9).varlen(std::span(partial).first(3));
    send(b.finish());
    ASSERT_EQ(sink.dex.size(), 1u);
    EXPECT_EQ(sink.dex[0].flow_id, 2u);
    ASSERT_TRUE(sink.dex[0].node.opaque_state.has_value());
    EXPECT_EQ(sink.dex[0].node.opaque_state->schema_id, 9u);
    EXPECT_EQ(sink.dex[0].node.opaque_state->data, word);
    EXPECT_EQ(observer.errors["192.0.2.7/value_out_of_range"], 2);
}

TEST_F(DecoderTest, OtherRecordsAreIgnored) {
    MessageBuilder b(1, 0);
    b.begin_set(2).template_record(300, {{8, 4}, {12, 4}});
    b.begin_set(300).u32(1).u32(2);
    send(b.finish());
    EXPECT_TRUE(sink.traces.empty());
    EXPECT_EQ(decoder.stats().ignored, 1u);
    EXPECT_TRUE(observer.errors.empty());
}

}  // namespace
}  // namespace ioam::collector::decode

namespace ioam::collector::decode {
namespace {

// Deterministic mutations of valid messages (byte flips, truncations, length fields): every
// one is either decoded or counted, never a crash (ASan/UBSan in CI), and the exporter that
// sends valid messages afterwards still gets every record through.
TEST_F(DecoderTest, MutatedMessagesAreCountedNeverFatal) {
    IoamTrace t = make_trace({1, 2, 3});
    t.nodes[0].opaque_state = OpaqueState{0x10, {1, 2, 3, 4}};
    t.raw_data.clear();
    for (const IoamNode& n : t.nodes) {
        (void)encode_node(t.trace_type | 0x2, n, t.raw_data);
    }
    t.trace_type |= 0x2;  // opaque state snapshot
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    dex_template(b, kTraceType);
    const auto valid = b.finish();

    std::uint32_t rng = 12345;
    const auto next = [&] {
        rng = rng * 1103515245u + 12345u;
        return rng >> 8;
    };
    source::UdpPeer fuzz_peer;
    fuzz_peer.address[15] = 66;
    for (int i = 0; i < 20000; ++i) {
        auto m = valid;
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits; ++e) {
            m[next() % m.size()] = static_cast<std::uint8_t>(next());
        }
        if (next() % 4 == 0) {
            m.resize(next() % m.size());
        }
        proc.process_udp(fuzz_peer, "192.0.2.66", m, 1);
    }
    const std::size_t before = sink.traces.size();
    send(valid);
    ASSERT_EQ(sink.traces.size(), before + 1);
    EXPECT_EQ(sink.traces.back(), t);
    EXPECT_GT(observer.errors.size(), 3u);  // several kinds of failure were exercised
}

}  // namespace
}  // namespace ioam::collector::decode
