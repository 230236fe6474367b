#include "common/ioam/node_data.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/ioam/trace_type.hpp"

namespace ioam {
namespace {

// The kernel event of docs/reference (kernel 6.18, node id 42, ingress if id 7, namespace 123
// with data 0xdeadbeef, trace type bits 0-7, one node filled).
const std::vector<std::uint8_t> kReferenceEvent = {
    0x3f, 0x00, 0x00, 0x2a, 0x00, 0x07, 0xff, 0xff, 0x6b, 0x06, 0x12, 0xc7, 0x00, 0x06, 0x89, 0x16,
    0xff, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

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

}  // namespace
}  // namespace ioam
