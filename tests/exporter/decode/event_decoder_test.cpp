#include "exporter/decode/event_decoder.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/exporter/support/nl_message.hpp"

namespace ioam::exporter::decode {
namespace {

using test::NlMessage;

constexpr Context kCtx{1'700'000'000'123'456'789ull, 77};

Result<Event> decode(const std::vector<std::uint8_t>& bytes) {
    Event ev;
    if (auto st = decode_event(bytes, kCtx, ev); !st) {
        return st.error();
    }
    return ev;
}

TEST(EventDecoder, CapturedKernelTraceEvent) {
    auto ev = decode(test::captured_trace_event().bytes());
    ASSERT_TRUE(ev.ok()) << to_string(ev.error());
    const auto& t = std::get<IoamTrace>(*ev);
    EXPECT_EQ(t.observation_time_ns, kCtx.observation_time_ns);
    EXPECT_EQ(t.observation_domain, 77u);
    EXPECT_EQ(t.namespace_id, 123);
    EXPECT_EQ(t.node_len, 8);
    EXPECT_EQ(t.trace_type, 0xff0000u);
    EXPECT_EQ(t.raw_data, std::vector<std::uint8_t>(std::begin(test::kCapturedTraceData),
                                                    std::end(test::kCapturedTraceData)));
    ASSERT_EQ(t.nodes.size(), 1u);
    const auto& n = t.nodes[0];
    EXPECT_EQ(n.hop_limit, 63);
    EXPECT_EQ(n.node_id, 42u);
    EXPECT_EQ(n.ingress_if_id, 7);
    EXPECT_FALSE(n.egress_if_id.has_value());  // 0xffff: delivered locally
    EXPECT_EQ(n.timestamp_secs, 0x6b0612c7u);
    EXPECT_EQ(n.timestamp_frac, 0x00068916u);
    EXPECT_FALSE(n.transit_delay.has_value());
    EXPECT_EQ(n.namespace_data, 0xdeadbeefu);
    EXPECT_FALSE(n.queue_depth.has_value());
    EXPECT_FALSE(n.checksum_complement.has_value());
}

TEST(EventDecoder, TwoNodesNewestFirst) {
    // Trace type bit 0 only: hop limit + node id, one 4-octet unit per node.
    const std::uint8_t data[] = {0x3e, 0, 0, 2, 0x3f, 0, 0, 1};
    NlMessage m(kCmdTrace);
    m.host<std::uint16_t>(kAttrTraceNamespace, 9)
        .host<std::uint8_t>(kAttrTraceNodeLen, 1)
        .host<std::uint32_t>(kAttrTraceType, 0x80000000u)
        .attr(kAttrTraceData, data);
    auto ev = decode(m.bytes());
    ASSERT_TRUE(ev.ok()) << to_string(ev.error());
    const auto& t = std::get<IoamTrace>(*ev);
    ASSERT_EQ(t.nodes.size(), 2u);
    EXPECT_EQ(t.nodes[0].node_id, 2u);
    EXPECT_EQ(t.nodes[0].hop_limit, 0x3e);
    EXPECT_EQ(t.nodes[1].node_id, 1u);
}

TEST(EventDecoder, MissingTraceAttributes) {
    for (std::uint16_t skip = kAttrTraceNamespace; skip <= kAttrTraceData; ++skip) {
        NlMessage m(kCmdTrace);
        if (skip != kAttrTraceNamespace)
            m.host<std::uint16_t>(kAttrTraceNamespace, 123);
        if (skip != kAttrTraceNodeLen)
            m.host<std::uint8_t>(kAttrTraceNodeLen, 8);
        if (skip != kAttrTraceType)
            m.host<std::uint32_t>(kAttrTraceType, 0xff000000u);
        if (skip != kAttrTraceData)
            m.attr(kAttrTraceData, test::kCapturedTraceData);
        auto ev = decode(m.bytes());
        ASSERT_FALSE(ev.ok()) << skip;
        EXPECT_EQ(ev.error(), Errc::missing_attribute) << skip;
    }
}

TEST(EventDecoder, WrongAttributeSizes) {
    NlMessage ns(kCmdTrace);
    ns.host<std::uint32_t>(kAttrTraceNamespace, 123)
        .host<std::uint8_t>(kAttrTraceNodeLen, 8)
        .host<std::uint32_t>(kAttrTraceType, 0xff000000u)
        .attr(kAttrTraceData, test::kCapturedTraceData);
    EXPECT_EQ(decode(ns.bytes()).error(), Errc::bad_attribute_size);

    NlMessage type(kCmdTrace);
    type.host<std::uint16_t>(kAttrTraceNamespace, 123)
        .host<std::uint8_t>(kAttrTraceNodeLen, 8)
        .host<std::uint16_t>(kAttrTraceType, 0xff00)
        .attr(kAttrTraceData, test::kCapturedTraceData);
    EXPECT_EQ(decode(type.bytes()).error(), Errc::bad_attribute_size);
}

TEST(EventDecoder, TraceDataNotWholeNodes) {
    NlMessage m(kCmdTrace);
    m.host<std::uint16_t>(kAttrTraceNamespace, 123)
        .host<std::uint8_t>(kAttrTraceNodeLen, 8)
        .host<std::uint32_t>(kAttrTraceType, 0xff000000u)
        .attr(kAttrTraceData, std::span(test::kCapturedTraceData).first(28));
    auto ev = decode(m.bytes());
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ev.error(), Errc::data_not_multiple_of_node_length);
}

TEST(EventDecoder, NodeLengthDisagreesWithTraceType) {
    NlMessage m(kCmdTrace);
    m.host<std::uint16_t>(kAttrTraceNamespace, 123)
        .host<std::uint8_t>(kAttrTraceNodeLen, 4)
        .host<std::uint32_t>(kAttrTraceType, 0xff000000u)
        .attr(kAttrTraceData, test::kCapturedTraceData);
    auto ev = decode(m.bytes());
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ev.error(), Errc::node_length_mismatch);
}

TEST(EventDecoder, ReservedLowOctetOfTraceType) {
    NlMessage m(kCmdTrace);
    m.host<std::uint16_t>(kAttrTraceNamespace, 123)
        .host<std::uint8_t>(kAttrTraceNodeLen, 8)
        .host<std::uint32_t>(kAttrTraceType, 0xff000001u)
        .attr(kAttrTraceData, test::kCapturedTraceData);
    EXPECT_EQ(decode(m.bytes()).error(), Errc::reserved_bits_set);
}

TEST(EventDecoder, TruncatedMessages) {
    auto full = test::captured_trace_event().bytes();
    // Buffer shorter than nlmsg_len announces.
    EXPECT_EQ(decode({full.begin(), full.end() - 4}).error(), Errc::truncated);
    // Shorter than the headers.
    EXPECT_EQ(decode({full.begin(), full.begin() + 18}).error(), Errc::truncated);
    // An attribute whose length runs past the message.
    auto bad = full;
    const std::uint16_t huge = 200;
    std::memcpy(&bad[20], &huge, sizeof huge);
    EXPECT_EQ(decode(bad).error(), Errc::truncated);
    // An attribute length below its own header.
    auto tiny = full;
    const std::uint16_t three = 3;
    std::memcpy(&tiny[20], &three, sizeof three);
    EXPECT_EQ(decode(tiny).error(), Errc::truncated);
}

TEST(EventDecoder, UnknownCommand) {
    NlMessage m(7);
    m.host<std::uint16_t>(kAttrTraceNamespace, 1);
    EXPECT_EQ(decode(m.bytes()).error(), Errc::unknown_command);
}

TEST(EventDecoder, UnknownAttributesAndFlagBitsAreTolerated) {
    NlMessage m(kCmdTrace);
    m.host<std::uint32_t>(60, 5)                                 // a future attribute
        .host<std::uint16_t>(kAttrTraceNamespace | 0x4000, 123)  // NLA_F_NET_BYTEORDER set
        .host<std::uint8_t>(kAttrTraceNodeLen, 8)
        .host<std::uint32_t>(kAttrTraceType, 0xff000000u)
        .attr(kAttrTraceData, test::kCapturedTraceData);
    auto ev = decode(m.bytes());
    ASSERT_TRUE(ev.ok()) << to_string(ev.error());
    EXPECT_EQ(std::get<IoamTrace>(*ev).namespace_id, 123);
}

NlMessage full_dex_event() {
    NlMessage m(kCmdDex);
    m.host<std::uint8_t>(kAttrOptionType, 4)
        .host<std::uint16_t>(kAttrDexNamespace, 0x1234)
        .host<std::uint32_t>(kAttrDexFlowId, 0xa1b2c3d4u)
        .host<std::uint32_t>(kAttrDexSeqNum, 17)
        .be<std::uint32_t>(kAttrDexHopLimNodeId, 0x40000102u)
        .be<std::uint32_t>(kAttrDexIngressEgress, 0x00050006u)
        .be<std::uint32_t>(kAttrDexTimestamp, 1000)
        .be<std::uint32_t>(kAttrDexTimestampFrac, 2000)
        .be<std::uint32_t>(kAttrDexTransit, 0xffffffffu)
        .be<std::uint32_t>(kAttrDexNamespaceData, 0xdeadbeefu)
        .be<std::uint32_t>(kAttrDexQueueDepth, 12)
        .be<std::uint32_t>(kAttrDexChecksum, 0xffffffffu)
        .be<std::uint64_t>(kAttrDexHopLimNodeIdWide, 0x3f00000000000abcull)
        .be<std::uint64_t>(kAttrDexIngressEgressWide, 0x0000000800000009ull)
        .be<std::uint64_t>(kAttrDexNamespaceDataWide, 0x0102030405060708ull)
        .be<std::uint32_t>(kAttrDexBufferOccupancy, 99);
    return m;
}

TEST(EventDecoder, DexEventWithAllShortAndWideFields) {
    auto ev = decode(full_dex_event().bytes());
    ASSERT_TRUE(ev.ok()) << to_string(ev.error());
    const auto& r = std::get<DexReport>(*ev);
    EXPECT_EQ(r.observation_time_ns, kCtx.observation_time_ns);
    EXPECT_EQ(r.observation_domain, 77u);
    EXPECT_EQ(r.namespace_id, 0x1234);  // host order (reference quirk)
    EXPECT_EQ(r.flow_id, 0xa1b2c3d4u);
    EXPECT_EQ(r.sequence_number, 17u);
    EXPECT_EQ(r.ext_flags, 0xc0);
    EXPECT_EQ(r.trace_type, 0xfff000u);  // bits 0-11 inferred from the data attributes
    const auto& n = r.node;
    EXPECT_EQ(n.hop_limit, 0x40);
    EXPECT_EQ(n.node_id, 0x102u);
    EXPECT_EQ(n.ingress_if_id, 5);
    EXPECT_EQ(n.egress_if_id, 6);
    EXPECT_EQ(n.timestamp_secs, 1000u);
    EXPECT_EQ(n.timestamp_frac, 2000u);
    EXPECT_FALSE(n.transit_delay.has_value());
    EXPECT_EQ(n.namespace_data, 0xdeadbeefu);
    EXPECT_EQ(n.queue_depth, 12u);
    EXPECT_FALSE(n.checksum_complement.has_value());
    EXPECT_EQ(n.hop_limit_wide, 0x3f);
    EXPECT_EQ(n.node_id_wide, 0xabcu);
    EXPECT_EQ(n.ingress_if_id_wide, 8u);
    EXPECT_EQ(n.egress_if_id_wide, 9u);
    EXPECT_EQ(n.namespace_data_wide, 0x0102030405060708ull);
    EXPECT_EQ(n.buffer_occupancy, 99u);
    EXPECT_FALSE(n.opaque_state.has_value());
}

TEST(EventDecoder, DexEventMinimalWithOpaqueState) {
    const std::uint8_t oss[] = {1, 2, 3, 4, 5, 6, 7, 8};
    NlMessage m(kCmdDex);
    m.host<std::uint16_t>(kAttrDexNamespace, 5)
        .be<std::uint32_t>(kAttrDexHopLimNodeId, 0x01000007u)
        .be<std::uint32_t>(kAttrDexBit12, 0xffffffffu)
        .be<std::uint32_t>(kAttrDexOssSchemaId, 0x02abcdefu)
        .attr(kAttrDexOssData, oss);
    auto ev = decode(m.bytes());
    ASSERT_TRUE(ev.ok()) << to_string(ev.error());
    const auto& r = std::get<DexReport>(*ev);
    EXPECT_EQ(r.ext_flags, 0);
    EXPECT_FALSE(r.flow_id.has_value());
    EXPECT_FALSE(r.sequence_number.has_value());
    EXPECT_EQ(r.trace_type, 0x800000u | 0x000800u | 0x000002u);
    ASSERT_TRUE(r.node.opaque_state.has_value());
    EXPECT_EQ(r.node.opaque_state->schema_id, 0xabcdefu);
    EXPECT_EQ(r.node.opaque_state->data, std::vector<std::uint8_t>(std::begin(oss), std::end(oss)));
}

TEST(EventDecoder, MalformedDexEvents) {
    NlMessage no_ns(kCmdDex);
    no_ns.host<std::uint32_t>(kAttrDexFlowId, 1);
    EXPECT_EQ(decode(no_ns.bytes()).error(), Errc::missing_attribute);

    NlMessage pto(kCmdDex);
    pto.host<std::uint8_t>(kAttrOptionType, 0).host<std::uint16_t>(kAttrDexNamespace, 1);
    EXPECT_EQ(decode(pto.bytes()).error(), Errc::unknown_option);

    NlMessage short_wide(kCmdDex);
    short_wide.host<std::uint16_t>(kAttrDexNamespace, 1)
        .be<std::uint32_t>(kAttrDexHopLimNodeIdWide, 1);
    EXPECT_EQ(decode(short_wide.bytes()).error(), Errc::bad_attribute_size);

    NlMessage odd_oss(kCmdDex);
    const std::uint8_t three[] = {1, 2, 3};
    odd_oss.host<std::uint16_t>(kAttrDexNamespace, 1)
        .be<std::uint32_t>(kAttrDexOssSchemaId, 1)
        .attr(kAttrDexOssData, three);
    EXPECT_EQ(decode(odd_oss.bytes()).error(), Errc::bad_attribute_size);

    NlMessage oss_without_id(kCmdDex);
    oss_without_id.host<std::uint16_t>(kAttrDexNamespace, 1).attr(kAttrDexOssData, three);
    EXPECT_EQ(decode(oss_without_id.bytes()).error(), Errc::missing_attribute);
}

TEST(EventDecoder, ReusesTheEventAcrossKinds) {
    Event ev;
    ASSERT_TRUE(decode_event(test::captured_trace_event().bytes(), kCtx, ev).ok());
    ASSERT_TRUE(decode_event(full_dex_event().bytes(), kCtx, ev).ok());
    EXPECT_TRUE(std::holds_alternative<DexReport>(ev));
    ASSERT_TRUE(decode_event(test::captured_trace_event().bytes(), kCtx, ev).ok());
    EXPECT_EQ(std::get<IoamTrace>(ev).nodes.size(), 1u);
}

}  // namespace
}  // namespace ioam::exporter::decode
