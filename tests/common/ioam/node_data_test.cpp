#include "common/ioam/node_data.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/ioam/trace_type.hpp"
#include "tests/common/ioam/test_util.hpp"

namespace ioam {
namespace {

using test::outcome;
using test::unhex;

using trace_type::bit;
using Bytes = std::vector<std::uint8_t>;

// The kernel event of the reference document (kernel 6.18, node id 42, ingress if id 7,
// namespace 123 with data 0xdeadbeef, trace type bits 0-7, one node filled).
const Bytes kReferenceEvent =
    unhex("3f00002a0007ffff6b0612c700068916ffffffffdeadbeefffffffffffffffff");

TEST(DecodeTraceData, ReferenceKernelEvent) {
    const std::uint32_t type = trace_type::from_word(0xff000000u);
    auto nodes = decode_trace_data(type, 8, kReferenceEvent);
    ASSERT_TRUE(nodes.ok()) << to_string(nodes.error());
    ASSERT_EQ(nodes->size(), 1u);
    const IoamNode& n = nodes->front();
    EXPECT_EQ(n.node_id, 42u);
    EXPECT_EQ(n.hop_limit, 63u);
    EXPECT_EQ(n.ingress_if_id, 7u);
    EXPECT_FALSE(n.egress_if_id.has_value());
    EXPECT_EQ(n.timestamp_secs, 0x6b0612c7u);
    EXPECT_EQ(n.timestamp_frac, 0x00068916u);
    EXPECT_FALSE(n.transit_delay.has_value());
    EXPECT_EQ(n.namespace_data, 0xdeadbeefu);
    EXPECT_FALSE(n.queue_depth.has_value());
    EXPECT_FALSE(n.checksum_complement.has_value());
    EXPECT_FALSE(n.node_id_wide.has_value());
    EXPECT_FALSE(n.opaque_state.has_value());
}

// A node with a distinct value in every field.
IoamNode full_node() {
    IoamNode n;
    n.hop_limit = 0x11;
    n.node_id = 0x223344;
    n.ingress_if_id = 0x1234;
    n.egress_if_id = 0x5678;
    n.timestamp_secs = 0x01020304;
    n.timestamp_frac = 0x05060708;
    n.transit_delay = 0x090a0b0c;
    n.namespace_data = 0xdeadbeef;
    n.queue_depth = 0x00000010;
    n.checksum_complement = 0x0d0e0f10;
    n.hop_limit_wide = 0x21;
    n.node_id_wide = 0x02030405060708;
    n.ingress_if_id_wide = 0x0a0b0c0d;
    n.egress_if_id_wide = 0x0e0f1011;
    n.namespace_data_wide = 0x1122334455667788;
    n.buffer_occupancy = 0x00000020;
    n.opaque_state = OpaqueState{7, {0xa1, 0xa2, 0xa3, 0xa4}};
    return n;
}

struct BitCase {
    unsigned bit;
    const char* wire;  // hex
    IoamNode decoded;  // what the wire decodes to
};

std::vector<BitCase> bit_cases() {
    const IoamNode f = full_node();
    std::vector<BitCase> cases;
    auto add = [&](unsigned b, const char* wire, auto... members) {
        IoamNode n;
        ((n.*members = f.*members), ...);
        cases.push_back({b, wire, n});
    };
    add(0, "11223344", &IoamNode::hop_limit, &IoamNode::node_id);
    add(1, "12345678", &IoamNode::ingress_if_id, &IoamNode::egress_if_id);
    add(2, "01020304", &IoamNode::timestamp_secs);
    add(3, "05060708", &IoamNode::timestamp_frac);
    add(4, "090a0b0c", &IoamNode::transit_delay);
    add(5, "deadbeef", &IoamNode::namespace_data);
    add(6, "00000010", &IoamNode::queue_depth);
    add(7, "0d0e0f10", &IoamNode::checksum_complement);
    add(8, "2102030405060708", &IoamNode::hop_limit_wide, &IoamNode::node_id_wide);
    add(9, "0a0b0c0d0e0f1011", &IoamNode::ingress_if_id_wide, &IoamNode::egress_if_id_wide);
    add(10, "1122334455667788", &IoamNode::namespace_data_wide);
    add(11, "00000020", &IoamNode::buffer_occupancy);
    for (unsigned b = 12; b <= 21; ++b) {
        add(b, "ffffffff");  // undefined: one all-ones word, no data
    }
    add(22, "01000007a1a2a3a4", &IoamNode::opaque_state);
    add(23, "");  // reserved: no data
    return cases;
}

TEST(NodeData, EveryBitAloneEncodesAndDecodes) {
    for (const auto& c : bit_cases()) {
        SCOPED_TRACE(c.bit);
        const std::uint32_t type = bit(c.bit);
        Bytes out;
        ASSERT_TRUE(encode_node(type, full_node(), out).ok());
        EXPECT_EQ(out, unhex(c.wire));

        std::size_t consumed = 99;
        auto node = decode_node(type, trace_type::node_len(type), out, consumed);
        ASSERT_TRUE(node.ok()) << to_string(node.error());
        EXPECT_EQ(consumed, out.size());
        EXPECT_EQ(*node, c.decoded);
    }
}

TEST(NodeData, AllBitsCombinedInWireOrder) {
    const std::uint32_t type = trace_type::kMask;
    Bytes expected;
    for (const auto& c : bit_cases()) {
        if (c.bit != 22) {
            const Bytes w = unhex(c.wire);
            expected.insert(expected.end(), w.begin(), w.end());
        }
    }
    const Bytes opaque = unhex("01000007a1a2a3a4");  // the snapshot comes last
    expected.insert(expected.end(), opaque.begin(), opaque.end());
    ASSERT_EQ(expected.size(), trace_type::node_len(type) * 4u + opaque.size());

    Bytes out;
    ASSERT_TRUE(encode_node(type, full_node(), out).ok());
    EXPECT_EQ(out, expected);
    auto nodes = decode_trace_data(type, trace_type::node_len(type), out);
    ASSERT_TRUE(nodes.ok()) << to_string(nodes.error());
    ASSERT_EQ(nodes->size(), 1u);
    EXPECT_EQ(nodes->front(), full_node());
}

// The path key reader gives the ids decode_trace_data() gives, for every type of the node
// id bits with and without the fields before them, opaque state included, and its errors.
TEST(NodeIds, AsDecodedForEveryLayout) {
    IoamNode other_ids = full_node();
    other_ids.node_id = 0xffffff;          // unavailable: absent
    other_ids.node_id_wide = 0x123456789;  // not all ones
    const std::uint32_t before = bit(1) | bit(2) | bit(7);
    const std::uint32_t after = bit(9) | bit(11);
    for (const std::uint32_t ids : {0u, bit(0), bit(8), bit(0) | bit(8)}) {
        for (const std::uint32_t others : {0u, before, after, before | after, bit(22)}) {
            const std::uint32_t type = ids | others;
            if (type == 0 || type == bit(22)) {
                continue;
            }
            SCOPED_TRACE(type);
            const auto len = static_cast<std::uint8_t>(trace_type::node_len(type));
            Bytes data;
            ASSERT_TRUE(encode_node(type, full_node(), data).ok());
            ASSERT_TRUE(encode_node(type, other_ids, data).ok());
            const auto nodes = decode_trace_data(type, len, data);
            ASSERT_TRUE(nodes.ok());
            std::vector<NodeIds> got{{1, 2}};  // cleared first
            ASSERT_TRUE(decode_node_ids(type, len, data, got).ok());
            ASSERT_EQ(got.size(), 2u);
            for (std::size_t i = 0; i < 2; ++i) {
                EXPECT_EQ(got[i].node_id, (*nodes)[i].node_id);
                EXPECT_EQ(got[i].node_id_wide, (*nodes)[i].node_id_wide);
            }
            EXPECT_EQ(got[1].node_id, std::nullopt);
            if ((type & bit(0)) != 0) {
                EXPECT_EQ(got[0].node_id, full_node().node_id);
            }
            if ((type & bit(8)) != 0) {
                EXPECT_EQ(got[1].node_id_wide, 0x123456789u);
            }
            EXPECT_EQ(identity(got[1]), got[1].node_id_wide);

            Bytes cut(data.begin(), data.end() - 4);
            EXPECT_EQ(decode_node_ids(type, len, cut, got).ok(),
                      decode_trace_data(type, len, cut).ok());
            EXPECT_EQ(outcome(decode_node_ids(type, static_cast<std::uint8_t>(len + 1), data, got)),
                      "node_length_mismatch");
        }
    }
}

TEST(NodeData, WideAndShortFieldsTogether) {
    const std::uint32_t type = bit(0) | bit(1) | bit(8) | bit(9) | bit(10);
    Bytes out;
    ASSERT_TRUE(encode_node(type, full_node(), out).ok());
    EXPECT_EQ(out, unhex("11223344123456782102030405060708"
                         "0a0b0c0d0e0f10111122334455667788"));
}

struct AbsentCase {
    std::uint32_t type;
    const char* wire;
    IoamNode expected;
};

// All ones means "unavailable", per subfield; the hop limits are always present.
TEST(NodeData, AllOnesIsAbsentPerSubfield) {
    std::vector<AbsentCase> cases;
    auto node = [](auto&&... set) {
        IoamNode n;
        (set(n), ...);
        return n;
    };
    cases.push_back({bit(0), "ffffffff", node([](IoamNode& n) { n.hop_limit = 0xff; })});
    cases.push_back({bit(0), "07ffffff", node([](IoamNode& n) { n.hop_limit = 7; })});
    cases.push_back(
        {bit(0), "00fffffe",
         node([](IoamNode& n) { n.hop_limit = 0; }, [](IoamNode& n) { n.node_id = 0xfffffe; })});
    cases.push_back({bit(1), "0007ffff", node([](IoamNode& n) { n.ingress_if_id = 7; })});
    cases.push_back({bit(1), "ffff0007", node([](IoamNode& n) { n.egress_if_id = 7; })});
    cases.push_back({bit(1), "ffffffff", IoamNode{}});
    cases.push_back({bit(2) | bit(3) | bit(4) | bit(5) | bit(6) | bit(7) | bit(11),
                     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff", IoamNode{}});
    cases.push_back({bit(8), "05ffffffffffffff", node([](IoamNode& n) { n.hop_limit_wide = 5; })});
    cases.push_back(
        {bit(9), "ffffffff00000001", node([](IoamNode& n) { n.egress_if_id_wide = 1; })});
    cases.push_back({bit(10), "ffffffffffffffff", IoamNode{}});
    // Opaque state: the kernel's "no schema" header is absent; a schema with no data is not.
    cases.push_back({bit(22), "00ffffff", IoamNode{}});
    cases.push_back({bit(22), "00000007", node([](IoamNode& n) {
                         n.opaque_state = OpaqueState{7, {}};
                     })});
    for (const auto& c : cases) {
        SCOPED_TRACE(c.wire);
        const Bytes wire = unhex(c.wire);
        auto nodes = decode_trace_data(c.type, trace_type::node_len(c.type), wire);
        ASSERT_TRUE(nodes.ok()) << to_string(nodes.error());
        ASSERT_EQ(nodes->size(), 1u);
        EXPECT_EQ(nodes->front(), c.expected);
        Bytes out;  // absent fields encode back to all ones
        ASSERT_TRUE(encode_node(c.type, c.expected, out).ok());
        EXPECT_EQ(out, wire);
    }
}

TEST(NodeData, SeveralNodesNewestFirst) {
    const std::uint32_t type = bit(0);
    auto nodes = decode_trace_data(type, 1, unhex("3e00002a3f000001"));
    ASSERT_TRUE(nodes.ok());
    ASSERT_EQ(nodes->size(), 2u);
    EXPECT_EQ((*nodes)[0].node_id, 42u);
    EXPECT_EQ((*nodes)[1].node_id, 1u);
    EXPECT_EQ((*nodes)[1].hop_limit, 63u);
}

TEST(NodeData, OpaqueStateOfVaryingLengthPerNode) {
    const std::uint32_t type = bit(0) | bit(22);
    // Newest node: schema 7 with 8 octets; older node: no schema.
    const Bytes wire = unhex(
        "3e00002a"
        "02000007"
        "0102030405060708"
        "3f000001"
        "00ffffff");
    auto nodes = decode_trace_data(type, 1, wire);
    ASSERT_TRUE(nodes.ok()) << to_string(nodes.error());
    ASSERT_EQ(nodes->size(), 2u);
    EXPECT_EQ((*nodes)[0].opaque_state, (OpaqueState{7, {1, 2, 3, 4, 5, 6, 7, 8}}));
    EXPECT_FALSE((*nodes)[1].opaque_state.has_value());
}

TEST(NodeData, EmptyDataHasNoNodes) {
    auto nodes = decode_trace_data(0xff0000, 8, {});
    ASSERT_TRUE(nodes.ok());
    EXPECT_TRUE(nodes->empty());
}

TEST(NodeData, NodeLengthMismatch) {
    const Bytes data(32, 0);
    EXPECT_EQ(outcome(decode_trace_data(0xff0000, 7, data)), "node_length_mismatch");
    EXPECT_EQ(outcome(decode_trace_data(0xff0000, 9, data)), "node_length_mismatch");
    // NodeLen that leaves out the undefined bit 12, as kernels before 6db8b56eed62 computed.
    EXPECT_EQ(outcome(decode_trace_data(0x800800, 1, data)), "node_length_mismatch");
    std::size_t consumed = 5;
    EXPECT_EQ(outcome(decode_node(0xff0000, 7, data, consumed)), "node_length_mismatch");
    EXPECT_EQ(consumed, 0u);
}

TEST(NodeData, DataNotMultipleOfNodeLength) {
    EXPECT_EQ(outcome(decode_trace_data(0xff0000, 8, Bytes(36, 0))),
              "data_not_multiple_of_node_length");
    EXPECT_EQ(outcome(decode_trace_data(0xff0000, 8, Bytes(31, 0))),
              "data_not_multiple_of_node_length");
    // NodeLen 0 (only the reserved bit): any data is too much.
    EXPECT_EQ(outcome(decode_trace_data(bit(23), 0, Bytes(4, 0))),
              "data_not_multiple_of_node_length");
    // With opaque state nodes vary in size, but stay whole 4-octet words.
    EXPECT_EQ(outcome(decode_trace_data(bit(0) | bit(22), 1, Bytes(10, 0))),
              "data_not_multiple_of_node_length");
}

TEST(NodeData, Truncated) {
    std::size_t consumed = 0;
    EXPECT_EQ(outcome(decode_node(0xff0000, 8, Bytes(28, 0), consumed)), "truncated");
    // The opaque state header is missing after the fixed fields.
    EXPECT_EQ(outcome(decode_trace_data(bit(0) | bit(22), 1, unhex("3f000001"))), "truncated");
    // Second node cut short.
    EXPECT_EQ(outcome(decode_trace_data(bit(0) | bit(22), 1, unhex("3f00000100ffffff3e00002a"))),
              "truncated");
}

TEST(NodeData, OpaqueStateOverflow) {
    // Length 2 words announced, 1 present.
    EXPECT_EQ(outcome(decode_trace_data(bit(22), 0, unhex("0200000701020304"))),
              "opaque_state_overflow");
    EXPECT_EQ(outcome(decode_trace_data(bit(22), 0, unhex("ff000007"))), "opaque_state_overflow");
}

TEST(NodeData, TypeBeyond24BitsIsInvalid) {
    std::size_t consumed = 0;
    EXPECT_EQ(outcome(decode_trace_data(0x1000000, 0, {})), "invalid_argument");
    EXPECT_EQ(outcome(decode_node(0x1ff0000, 8, Bytes(32, 0), consumed)), "invalid_argument");
    Bytes out;
    EXPECT_EQ(outcome(encode_node(0x1000000, IoamNode{}, out)), "invalid_argument");
}

TEST(NodeData, EncodeRejectsValuesWiderThanTheirField) {
    auto rejects = [](std::uint32_t type, IoamNode n) {
        Bytes out{0xaa};
        const Status s = encode_node(type, n, out);
        EXPECT_FALSE(s.ok());
        if (!s.ok()) {
            EXPECT_EQ(outcome(s), "invalid_argument");
        }
        EXPECT_EQ(out, Bytes{0xaa});  // untouched
    };
    IoamNode n = full_node();
    n.node_id = 0x1000000;
    rejects(bit(0), n);
    n = full_node();
    n.node_id_wide = std::uint64_t{1} << 56;
    rejects(bit(8), n);
    n = full_node();
    n.opaque_state->data = {1, 2, 3};
    rejects(bit(22), n);
    n.opaque_state->data.assign(1024, 0);
    rejects(bit(22), n);
    n = full_node();
    n.opaque_state->schema_id = 0x1000000;
    rejects(bit(22), n);
    // Out-of-range values in fields the type does not carry are not looked at.
    n = full_node();
    n.node_id = 0x1000000;
    Bytes out;
    EXPECT_TRUE(encode_node(bit(5), n, out).ok());
}

TEST(NodeData, LongestOpaqueStateRoundTrips) {
    IoamNode n;
    n.opaque_state = OpaqueState{0xabcdef, Bytes(1020, 0x5a)};
    Bytes out;
    ASSERT_TRUE(encode_node(bit(22), n, out).ok());
    ASSERT_EQ(out.size(), 1024u);
    EXPECT_EQ(out[0], 0xff);
    auto nodes = decode_trace_data(bit(22), 0, out);
    ASSERT_TRUE(nodes.ok());
    ASSERT_EQ(nodes->size(), 1u);
    EXPECT_EQ(nodes->front(), n);
}

}  // namespace
}  // namespace ioam
