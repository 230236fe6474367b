#include "common/ipfix/record_layouts.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ioam::ipfix {
namespace {

constexpr std::uint32_t bit(unsigned n) {
    return 0x800000u >> n;
}

std::vector<std::string_view> names(const Layout& layout) {
    std::vector<std::string_view> out;
    for (const auto* e : layout) {
        out.push_back(e->name);
    }
    return out;
}

using Names = std::vector<std::string_view>;

// RFC 9197 section 4.4.1 (and the IoamNode comments): the fields each bit brings.
const std::vector<std::pair<unsigned, Names>> kPerBit = {
    {0, {"ioamHopLimit", "ioamNodeId"}},
    {1, {"ioamIngressIfId", "ioamEgressIfId"}},
    {2, {"ioamTimestampSeconds"}},
    {3, {"ioamTimestampFraction"}},
    {4, {"ioamTransitDelay"}},
    {5, {"ioamNamespaceData"}},
    {6, {"ioamQueueDepth"}},
    {7, {"ioamChecksumComplement"}},
    {8, {"ioamHopLimitWide", "ioamNodeIdWide"}},
    {9, {"ioamIngressIfIdWide", "ioamEgressIfIdWide"}},
    {10, {"ioamNamespaceDataWide"}},
    {11, {"ioamBufferOccupancy"}},
    {22, {"ioamOpaqueSchemaId", "ioamOpaqueData"}},
};

TEST(HopFields, EachBitAlone) {
    for (const auto& [b, want] : kPerBit) {
        EXPECT_EQ(names(hop_fields(bit(b))), want) << "bit " << b;
    }
}

TEST(HopFields, UndefinedAndReservedBitsAddNothing) {
    for (unsigned b = 12; b <= 21; ++b) {
        EXPECT_TRUE(hop_fields(bit(b)).empty()) << "bit " << b;
    }
    EXPECT_TRUE(hop_fields(bit(23)).empty());
    EXPECT_TRUE(hop_fields(0).empty());
    EXPECT_EQ(names(hop_fields(bit(0) | 0x000ffcu | 1u)), names(hop_fields(bit(0))));
}

// Every combination of the 13 layout bits gives the per-bit fields concatenated in bit order.
TEST(HopFields, EveryCombinationIsTheConcatenationInBitOrder) {
    for (std::uint32_t combo = 0; combo < (1u << kPerBit.size()); ++combo) {
        std::uint32_t type = 0;
        Names want;
        for (std::size_t i = 0; i < kPerBit.size(); ++i) {
            if ((combo & (1u << i)) != 0) {
                type |= bit(kPerBit[i].first);
                want.insert(want.end(), kPerBit[i].second.begin(), kPerBit[i].second.end());
            }
        }
        ASSERT_EQ(names(hop_fields(type)), want) << std::hex << type;
    }
}

TEST(RecordFields, TraceRecord) {
    const Names base = {"observationTimeNanoseconds",
                        "observationDomainId",
                        "ioamNamespaceId",
                        "ioamTraceType",
                        "ioamNodeLength",
                        "ioamTraceFlags",
                        "ioamHopCount",
                        "ioamTraceData"};
    EXPECT_EQ(names(trace_record_fields(false)), base);
    auto with = base;
    with.push_back("subTemplateList");
    EXPECT_EQ(names(trace_record_fields(true)), with);
}

TEST(RecordFields, DexRecordIsHeaderThenTheNodesFields) {
    const Names header = {
        "observationTimeNanoseconds", "observationDomainId", "ioamNamespaceId", "ioamDexFlowId",
        "ioamDexSequenceNumber",      "ioamDexFlags",        "ioamDexExtFlags", "ioamTraceType"};
    EXPECT_EQ(names(dex_record_fields(0)), header);
    const std::uint32_t type = bit(0) | bit(2) | bit(3) | bit(22);
    auto want = header;
    for (const auto n : names(hop_fields(type))) {
        want.push_back(n);
    }
    EXPECT_EQ(names(dex_record_fields(type)), want);
}

TEST(TemplateIds, OnePerLayoutAndNoOverlap) {
    std::set<std::uint16_t> ids = {kTraceTemplateId, kTraceWithHopsTemplateId};
    for (std::uint32_t combo = 0; combo < (1u << kPerBit.size()); ++combo) {
        std::uint32_t type = 0;
        for (std::size_t i = 0; i < kPerBit.size(); ++i) {
            if ((combo & (1u << i)) != 0) {
                type |= bit(kPerBit[i].first);
            }
        }
        EXPECT_LT(layout_key(type), 8192);
        EXPECT_TRUE(ids.insert(hop_template_id(type)).second) << std::hex << type;
        EXPECT_TRUE(ids.insert(dex_template_id(type)).second) << std::hex << type;
    }
    EXPECT_EQ(ids.size(), 2u + 2u * 8192u);
    EXPECT_GE(*ids.begin(), 256);
}

TEST(TemplateIds, OnlyLayoutBitsMatter) {
    const std::uint32_t type = bit(0) | bit(1) | bit(22);
    EXPECT_EQ(hop_template_id(type), hop_template_id(type | 0x000ffcu | 1u));
    EXPECT_EQ(dex_template_id(type), dex_template_id(type | bit(15)));
    EXPECT_EQ(hop_template_id(0), kHopTemplateBase);
    EXPECT_EQ(layout_key(bit(22)), 1);
    EXPECT_EQ(layout_key(bit(11)), 2);
    EXPECT_EQ(layout_key(bit(0)), 0x1000);
}

TEST(AllOnes, PerLength) {
    EXPECT_EQ(all_ones(1), 0xffu);
    EXPECT_EQ(all_ones(3), 0xffffffu);
    EXPECT_EQ(all_ones(7), 0xffffffffffffffu);
    EXPECT_EQ(all_ones(8), ~std::uint64_t{0});
}

IoamNode full_node() {
    IoamNode n;
    n.hop_limit = 63;
    n.node_id = 0xabcdef;
    n.ingress_if_id = 11;
    n.egress_if_id = 12;
    n.timestamp_secs = 1700000000;
    n.timestamp_frac = 123456;
    n.transit_delay = 4242;
    n.namespace_data = 0xdeadbeef;
    n.queue_depth = 7;
    n.checksum_complement = 0x1234;
    n.hop_limit_wide = 62;
    n.node_id_wide = 0x11223344556677;
    n.ingress_if_id_wide = 0x10000;
    n.egress_if_id_wide = 0x20000;
    n.namespace_data_wide = 0x0102030405060708;
    n.buffer_occupancy = 99;
    n.opaque_state = OpaqueState{0x00abcd, {1, 2, 3, 4, 5, 6, 7, 8}};
    return n;
}

constexpr std::uint32_t kAllDefined = 0xfff002u;

// Copies every per-node field through its IE value, as exporter then collector do.
IoamNode through_ie_values(const IoamNode& in) {
    IoamNode out;
    for (const auto* e : hop_fields(kAllDefined)) {
        if (e->name == "ioamOpaqueData") {
            EXPECT_TRUE(set_node_opaque_data(out, node_opaque_data(in)).ok());
            continue;
        }
        const auto v = node_value(in, *e);
        EXPECT_TRUE(v.ok()) << e->name;
        if (v.ok()) {
            EXPECT_TRUE(set_node_value(out, *e, *v).ok()) << e->name;
        }
    }
    return out;
}

TEST(NodeValues, PresentFieldsRoundTrip) {
    const auto n = full_node();
    EXPECT_EQ(through_ie_values(n), n);
    EXPECT_EQ(*node_value(n, *find("ioamNodeId")), 0xabcdefu);
    EXPECT_EQ(*node_value(n, *find("ioamNodeIdWide")), 0x11223344556677u);
}

TEST(NodeValues, AbsentFieldsTravelAsAllOnesAndComeBackAbsent) {
    const IoamNode empty;
    for (const auto* e : hop_fields(kAllDefined)) {
        if (e->name != "ioamOpaqueData") {
            EXPECT_EQ(*node_value(empty, *e), all_ones(e->length)) << e->name;
        }
    }
    EXPECT_TRUE(node_opaque_data(empty).empty());
    EXPECT_EQ(through_ie_values(empty), empty);
}

TEST(NodeValues, EachFieldAbsentAloneRoundTrips) {
    for (const auto* e : hop_fields(kAllDefined)) {
        if (e->name == "ioamOpaqueData") {
            continue;
        }
        auto n = full_node();
        ASSERT_TRUE(set_node_value(n, *e, all_ones(e->length)).ok());
        EXPECT_EQ(*node_value(n, *e), all_ones(e->length)) << e->name;
        EXPECT_EQ(through_ie_values(n), n) << e->name;
        EXPECT_NE(n, full_node()) << e->name << " did not become absent";
    }
}

TEST(NodeValues, OutOfRangeIsRejected) {
    IoamNode n;
    n.node_id = 0x1000000;  // 25 bits: not encodable in 3 octets
    EXPECT_EQ(node_value(n, *find("ioamNodeId")).error(), Errc::too_large);
    EXPECT_EQ(set_node_value(n, *find("ioamHopLimit"), 0x100).error(), Errc::too_large);
    EXPECT_EQ(set_node_value(n, *find("ioamNodeIdWide"), 1ull << 56).error(), Errc::too_large);
}

TEST(NodeValues, NonNodeElementsAreInvalid) {
    IoamNode n;
    EXPECT_EQ(node_value(n, *find("ioamDexFlowId")).error(), Errc::invalid_argument);
    EXPECT_EQ(node_value(n, *find("ioamOpaqueData")).error(), Errc::invalid_argument);
    EXPECT_EQ(set_node_value(n, *find("observationDomainId"), 1).error(), Errc::invalid_argument);
}

TEST(NodeValues, OpaqueStateNeedsASchemaId) {
    IoamNode n;
    const std::vector<std::uint8_t> data = {9, 9, 9, 9};
    EXPECT_EQ(set_node_opaque_data(n, data).error(), Errc::invalid_argument);
    EXPECT_TRUE(set_node_opaque_data(n, {}).ok());
    EXPECT_FALSE(n.opaque_state);
    ASSERT_TRUE(set_node_value(n, *find("ioamOpaqueSchemaId"), 5).ok());
    ASSERT_TRUE(set_node_opaque_data(n, data).ok());
    EXPECT_EQ(n.opaque_state, (OpaqueState{5, data}));
    ASSERT_TRUE(set_node_value(n, *find("ioamOpaqueSchemaId"), 0xffffff).ok());
    EXPECT_FALSE(n.opaque_state);
}

IoamTrace sample_trace() {
    IoamTrace t;
    t.observation_time_ns = 1700000000123456789ull;
    t.observation_domain = 7;
    t.namespace_id = 123;
    t.trace_type = 0xf00000;
    t.node_len = 4;
    t.flags = 0x8;
    t.raw_data.assign(2 * 16, 0xee);
    return t;
}

TEST(TraceValues, RoundTripAndHopCount) {
    auto t = sample_trace();
    EXPECT_EQ(*trace_value(t, *find("ioamHopCount")), 2u) << "from raw_data without nodes";
    t.nodes.resize(3);
    EXPECT_EQ(*trace_value(t, *find("ioamHopCount")), 3u) << "decoded nodes win";

    IoamTrace back;
    for (const auto* e : trace_record_fields(false)) {
        if (e->type == DataType::octetArray) {
            EXPECT_EQ(e->name, "ioamTraceData");
            continue;
        }
        const auto v = trace_value(t, *e);
        ASSERT_TRUE(v.ok()) << e->name;
        ASSERT_TRUE(set_trace_value(back, *e, *v).ok()) << e->name;
    }
    back.raw_data = t.raw_data;
    back.nodes = t.nodes;
    EXPECT_EQ(back, t);
}

TEST(TraceValues, OpaqueTracesCountOnlyDecodedNodes) {
    auto t = sample_trace();
    t.trace_type |= bit(22);
    EXPECT_EQ(*trace_value(t, *find("ioamHopCount")), 0u);
}

TEST(TraceValues, RejectsWhatTheRecordCannotHold) {
    auto t = sample_trace();
    t.trace_type = 0x1000000;
    EXPECT_EQ(trace_value(t, *find("ioamTraceType")).error(), Errc::too_large);
    EXPECT_EQ(trace_value(t, *find("ioamNodeId")).error(), Errc::invalid_argument);
    EXPECT_EQ(set_trace_value(t, *find("ioamTraceData"), 0).error(), Errc::invalid_argument);
    EXPECT_EQ(set_trace_value(t, *find("ioamTraceFlags"), 256).error(), Errc::too_large);
}

DexReport sample_dex() {
    DexReport d;
    d.observation_time_ns = 42;
    d.observation_domain = 3;
    d.namespace_id = 9;
    d.flags = 0;
    d.ext_flags = 0xc0;
    d.trace_type = bit(0) | bit(2) | bit(22);
    d.flow_id = 0xffffffff;  // a real flow id that happens to be all ones
    d.sequence_number = 17;
    d.node.hop_limit = 64;
    d.node.node_id = 1;
    d.node.timestamp_secs = 5;
    d.node.opaque_state = OpaqueState{7, {1, 2, 3, 4}};
    return d;
}

DexReport dex_through_ie_values(const DexReport& in) {
    DexReport out;
    for (const auto* e : dex_record_fields(in.trace_type)) {
        if (e->name == "ioamOpaqueData") {
            EXPECT_TRUE(set_node_opaque_data(out.node, node_opaque_data(in.node)).ok());
            continue;
        }
        const auto v = dex_value(in, *e);
        EXPECT_TRUE(v.ok()) << e->name;
        if (v.ok()) {
            EXPECT_TRUE(set_dex_value(out, *e, *v).ok()) << e->name;
        }
    }
    return out;
}

TEST(DexValues, RoundTripIncludingAnAllOnesFlowId) {
    const auto d = sample_dex();
    EXPECT_EQ(dex_through_ie_values(d), d);
}

TEST(DexValues, ExtFlagsDecidePresence) {
    auto d = sample_dex();
    d.ext_flags = 0x40;
    d.flow_id.reset();
    EXPECT_EQ(*dex_value(d, *find("ioamDexFlowId")), 0xffffffffu);
    EXPECT_EQ(dex_through_ie_values(d), d);

    d.ext_flags = 0;
    d.sequence_number.reset();
    EXPECT_EQ(dex_through_ie_values(d), d);
}

TEST(DexValues, NodeFieldsAreDelegated) {
    const auto d = sample_dex();
    EXPECT_EQ(*dex_value(d, *find("ioamHopLimit")), 64u);
    EXPECT_EQ(*dex_value(d, *find("ioamTransitDelay")), 0xffffffffu);
    EXPECT_EQ(dex_value(d, *find("ioamTraceFlags")).error(), Errc::invalid_argument);
}

}  // namespace
}  // namespace ioam::ipfix

namespace ioam::ipfix {
namespace {

TEST(NtpTime, KnownValues) {
    EXPECT_EQ(unix_ns_to_ntp(0), 0x83aa7e80ull << 32);  // 2208988800 s after 1900
    EXPECT_EQ(unix_ns_to_ntp(1'500'000'000), ((0x83aa7e80ull + 1) << 32) | 0x80000000u);
    EXPECT_EQ(ntp_to_unix_ns(0x83aa7e80ull << 32), 0u);
    // 2036-02-07T06:28:16Z is NTP second 2^32: era 1 starts at 0 again.
    EXPECT_EQ(unix_ns_to_ntp(2'085'978'496ull * 1'000'000'000ull), 0u);
    EXPECT_EQ(ntp_to_unix_ns(0), 2'085'978'496ull * 1'000'000'000ull);
}

TEST(NtpTime, EveryNanosecondOfASecondRoundTrips) {
    const std::uint64_t base = 1'700'000'000ull * 1'000'000'000ull;
    for (std::uint64_t ns = 0; ns < 1'000'000'000ull; ns += 997) {
        ASSERT_EQ(ntp_to_unix_ns(unix_ns_to_ntp(base + ns)), base + ns) << ns;
    }
    for (const std::uint64_t ns :
         {0ull, 1ull, 999'999'999ull, 4'000'000'000ull * 1'000'000'000ull}) {
        EXPECT_EQ(ntp_to_unix_ns(unix_ns_to_ntp(ns)), ns) << ns;
    }
}

TEST(NtpTime, TraceTimeTravelsAsNtp) {
    IoamTrace t;
    t.observation_time_ns = 1'000'000'000;
    EXPECT_EQ(*trace_value(t, *find("observationTimeNanoseconds")), (0x83aa7e80ull + 1) << 32);
}

}  // namespace
}  // namespace ioam::ipfix
