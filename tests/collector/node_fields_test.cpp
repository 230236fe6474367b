// Every row of the node field table (common/ioam/node_fields.hpp) through every codec that walks
// it: node data (wire), the exporter's DEX netlink events, IPFIX element values, IPFIX records
// from the exporter's libfixbuf builder to the collector's decoder (hop list and DEX), JSON and
// the store's compact blob. A row added to the table is covered here without a new line.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "collector/decode/record_decoder.hpp"
#include "collector/store/node_codec.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/node_fields.hpp"
#include "common/ioam/trace_type.hpp"
#include "common/ipfix/record_layouts.hpp"
#include "common/json/ioam_json.hpp"
#include "exporter/decode/event_decoder.hpp"
#include "exporter/record/record_builder.hpp"
#include "tests/collector/capture_sink.hpp"
#include "tests/collector/source/recording_handler.hpp"
#include "tests/exporter/support/nl_message.hpp"

namespace ioam {
namespace {

namespace nf = node_fields;

// A value of row `i` that uses its whole width and is not all ones, distinct per row.
std::uint64_t value_of(std::size_t i) {
    return (0x7766554433221100ull + 0x0101010101010101ull * (i + 1)) & nf::kInfo[i].max();
}

// A node with every field of trace-type `bit` set to value_of(its row).
IoamNode node_of_bit(unsigned bit) {
    IoamNode n;
    nf::for_each([&](auto i) {
        constexpr const auto& f = nf::row<i>;
        if (f.bit == bit) {
            using T = typename std::remove_cvref_t<decltype(f)>::value_type;
            n.*f.member = static_cast<T>(value_of(i));
        }
    });
    return n;
}

std::uint64_t big_endian(std::span<const std::uint8_t> b) {
    std::uint64_t v = 0;
    for (auto x : b) {
        v = (v << 8) | x;
    }
    return v;
}

// Calls check(i, node with row i's bit filled, the row's member of a node) for every row.
template <typename F>
void each_row(F&& check) {
    nf::for_each([&](auto i) {
        SCOPED_TRACE(std::string(nf::row<i>.element.name));
        check(
            std::size_t{i}, node_of_bit(nf::row<i>.bit),
            [](IoamNode & n) -> auto& { return n.*nf::row<decltype(i)::value>.member; });
    });
}

// The store's presence mask numbers rows by position and the v1/v2 conversion reads columns in
// this order: existing rows keep their place.
TEST(NodeFields, ExistingRowsKeepTheirOrder) {
    const std::vector<std::string_view> expected = {
        "hop_limit",           "node_id",           "ingress_if_id",
        "egress_if_id",        "timestamp_secs",    "timestamp_frac",
        "transit_delay",       "namespace_data",    "queue_depth",
        "checksum_complement", "hop_limit_wide",    "node_id_wide",
        "ingress_if_id_wide",  "egress_if_id_wide", "namespace_data_wide",
        "buffer_occupancy"};
    ASSERT_GE(nf::kCount, expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(nf::kInfo[i].json, expected[i]) << i;
    }
}

TEST(NodeFields, NamesAndIdsAreUnique) {
    std::set<std::string_view> json;
    std::set<std::string_view> columns;
    std::set<std::uint16_t> ids;
    for (const auto& f : nf::kInfo) {
        EXPECT_TRUE(json.insert(f.json).second) << f.json;
        EXPECT_TRUE(f.column.empty() || columns.insert(f.column).second) << f.column;
        EXPECT_TRUE(ids.insert(f.element.id).second) << f.element.name;
        // The registry holds the row's element itself, found by name and by number.
        EXPECT_EQ(ipfix::find(f.element.name), ipfix::find(f.element.pen, f.element.id));
        ASSERT_NE(ipfix::find(f.element.name), nullptr) << f.element.name;
        EXPECT_NE(collector::decode::role_of(f.element.pen, f.element.id), 0) << f.element.name;
    }
}

TEST(NodeFields, WireRoundTrip) {
    each_row([](std::size_t i, IoamNode n, auto member) {
        const std::uint32_t type = trace_type::bit(nf::kInfo[i].bit);
        std::vector<std::uint8_t> out;
        ASSERT_TRUE(encode_node(type, n, out));
        ASSERT_EQ(out.size(), nf::word_octets(nf::kInfo[i].bit));
        EXPECT_EQ((big_endian(out) >> nf::shift_of(i)) & nf::kInfo[i].max(), value_of(i));
        std::size_t used = 0;
        auto back = decode_node(type, trace_type::node_len(type), out, used);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, n);
        EXPECT_EQ(used, out.size());

        member(n).reset();  // unavailable: all ones, read back absent (or all ones, `always`)
        out.clear();
        ASSERT_TRUE(encode_node(type, n, out));
        back = decode_node(type, trace_type::node_len(type), out, used);
        ASSERT_TRUE(back);
        if (nf::kInfo[i].always) {
            EXPECT_EQ(member(*back), nf::kInfo[i].max());
        } else {
            EXPECT_FALSE(member(*back).has_value());
        }
    });
}

TEST(NodeFields, DexEventRoundTrip) {
    using namespace exporter::decode;
    each_row([](std::size_t i, const IoamNode& n, auto) {
        const unsigned bit = nf::kInfo[i].bit;
        std::vector<std::uint8_t> word;
        ASSERT_TRUE(encode_node(trace_type::bit(bit), n, word));
        exporter::test::NlMessage m(kCmdDex);
        m.host<std::uint16_t>(kAttrDexNamespace, 7)
            .attr(static_cast<std::uint16_t>(kAttrDexHopLimNodeId + bit), word);
        Event ev;
        ASSERT_TRUE(decode_event(m.bytes(), {}, ev));
        const auto& d = std::get<DexReport>(ev);
        EXPECT_EQ(d.trace_type, trace_type::bit(bit));
        EXPECT_EQ(d.node, n);
    });
}

TEST(NodeFields, IpfixElementValues) {
    each_row([](std::size_t i, const IoamNode& n, auto member) {
        const auto& e = *ipfix::find(nf::kInfo[i].element.name);
        const auto layout = ipfix::hop_fields(trace_type::bit(nf::kInfo[i].bit));
        EXPECT_NE(std::find(layout.begin(), layout.end(), &e), layout.end());
        const auto v = ipfix::node_value(n, e);
        ASSERT_TRUE(v);
        EXPECT_EQ(*v, value_of(i));

        IoamNode m;
        ASSERT_TRUE(ipfix::set_node_value(m, e, value_of(i)));
        EXPECT_EQ(member(m), value_of(i));
        ASSERT_TRUE(ipfix::set_node_value(m, e, ipfix::all_ones(e.length)));
        EXPECT_FALSE(member(m).has_value());
        const auto ones = ipfix::node_value(m, e);
        ASSERT_TRUE(ones);
        EXPECT_EQ(*ones, ipfix::all_ones(e.length));
    });
}

// Real records: the exporter's libfixbuf builder, the collector's parser and decoder.
TEST(NodeFields, IpfixRecordsRoundTrip) {
    each_row([](std::size_t i, const IoamNode& n, auto) {
        const std::uint32_t type = trace_type::bit(nf::kInfo[i].bit);
        collector::test::CaptureSink sink;
        collector::decode::RecordDecoder decoder{{&sink}};
        collector::test::RecordingHandler observer;
        collector::source::IpfixProcessor proc{{}, collector::decode::role_of, decoder, observer};
        exporter::record::RecordOptions o;
        o.observation_domain = 1;
        o.hop_list = true;
        exporter::record::RecordBuilder b(o, [&](std::span<const std::uint8_t> msg) {
            proc.process_udp({}, "192.0.2.1", msg, 1);
        });

        IoamTrace t;
        t.observation_domain = 1;
        t.trace_type = type;
        t.node_len = static_cast<std::uint8_t>(trace_type::node_len(type));
        t.nodes = {n, n};  // no raw data: the hop list alone carries the fields
        DexReport d;
        d.observation_domain = 1;
        d.trace_type = type;
        d.node = n;
        ASSERT_TRUE(b.add(t));
        ASSERT_TRUE(b.add(d));
        ASSERT_TRUE(b.flush());
        EXPECT_TRUE(observer.errors.empty());
        ASSERT_EQ(sink.traces.size(), 1u);
        EXPECT_EQ(sink.traces[0].nodes, t.nodes);
        ASSERT_EQ(sink.dex.size(), 1u);
        EXPECT_EQ(sink.dex[0].node, n);
    });
}

TEST(NodeFields, JsonKeys) {
    each_row([](std::size_t i, const IoamNode& n, auto) {
        const auto j = json::to_json(n);
        ASSERT_TRUE(j.contains(nf::kInfo[i].json));
        EXPECT_EQ(j[nf::kInfo[i].json].template get<std::uint64_t>(), value_of(i));
        const auto same_bit = std::count_if(nf::kInfo.begin(), nf::kInfo.end(), [&](const auto& f) {
            return f.bit == nf::kInfo[i].bit;
        });
        EXPECT_EQ(j.size(), static_cast<std::size_t>(same_bit));
    });
    EXPECT_TRUE(json::to_json(IoamNode{}).empty());
}

TEST(NodeFields, StoreBlobRoundTrip) {
    each_row([](std::size_t i, const IoamNode& n, auto) {
        std::vector<std::uint8_t> blob;
        collector::store::encode_nodes(std::span(&n, 1), blob);
        // Schema v3 blobs: presence bit r for row r < 16, little endian, first.
        std::uint32_t mask = 0;
        for (std::size_t r = 0; r < 16; ++r) {
            mask |= nf::kInfo[r].bit == nf::kInfo[i].bit ? 1u << r : 0;
        }
        ASSERT_GE(blob.size(), 4u);
        if (i < 16) {
            EXPECT_EQ(blob[0] | blob[1] << 8 | blob[2] << 16 | std::uint32_t{blob[3]} << 24, mask);
        }
        std::vector<IoamNode> back;
        ASSERT_TRUE(collector::store::decode_nodes(blob, back));
        ASSERT_EQ(back.size(), 1u);
        EXPECT_EQ(back[0], n);
    });
}

}  // namespace
}  // namespace ioam
