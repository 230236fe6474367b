#include "common/ioam/trace_type.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/common/ioam/test_util.hpp"

namespace ioam::trace_type {
namespace {

using test::outcome;

TEST(TraceType, BitNumberingIsMsbFirst) {
    EXPECT_EQ(bit(0), 0x800000u);
    EXPECT_EQ(bit(11), 0x001000u);
    EXPECT_EQ(bit(22), 0x000002u);
    EXPECT_EQ(bit(23), 0x000001u);
    EXPECT_EQ(from_word(0xff000000u), 0xff0000u);
    EXPECT_EQ(from_word(0xfff002ffu), 0xfff002u);  // low octet is reserved
}

// NodeLen of every bit alone, as net/ipv6/ioam6.c ioam6_trace_compute_nodelen gives it:
// 4-octet fields (bits 0-7, 11 and the undefined 12-21) count 1, wide fields (8-10) count 2,
// the opaque state (22) and the reserved bit (23) count nothing.
TEST(TraceType, NodeLenOfEveryBitAlone) {
    for (unsigned b = 0; b < 24; ++b) {
        SCOPED_TRACE(b);
        const unsigned expected = (b >= 8 && b <= 10) ? 2 : (b >= 22 ? 0 : 1);
        EXPECT_EQ(node_len(bit(b)), expected);
    }
}

TEST(TraceType, NodeLenCombined) {
    EXPECT_EQ(node_len(0xff0000), 8);     // bits 0-7
    EXPECT_EQ(node_len(0x00e000), 6);     // bits 8-10
    EXPECT_EQ(node_len(0xfff000), 15);    // bits 0-11
    EXPECT_EQ(node_len(0xfff002), 15);    // + opaque state
    EXPECT_EQ(node_len(0x800800), 2);     // bit 0 + undefined bit 12
    EXPECT_EQ(node_len(0xffffff), 25);    // everything: fits the 5-bit NodeLen
    EXPECT_EQ(node_len(0xff000000u), 0);  // bits above the field are not trace type bits
}

// What an encapsulating kernel accepts (ioam6_iptunnel.c ioam6_validate_trace_hdr).
TEST(TraceType, ValidateEveryBitAlone) {
    for (unsigned b = 0; b < 24; ++b) {
        SCOPED_TRACE(b);
        const bool defined = b <= 11 || b == 22;
        EXPECT_EQ(outcome(validate(bit(b))), defined ? "ok" : "reserved_bits_set");
    }
}

TEST(TraceType, ValidateCombinedAndOutOfDomain) {
    EXPECT_TRUE(validate(kDefinedMask).ok());
    EXPECT_TRUE(validate(0xff0000).ok());
    EXPECT_EQ(outcome(validate(0)), "invalid_argument");
    EXPECT_EQ(outcome(validate(0x1000000)), "invalid_argument");
    EXPECT_EQ(outcome(validate(0xff0001)), "reserved_bits_set");
    EXPECT_EQ(outcome(validate(0xfff800)), "reserved_bits_set");
}

TEST(TraceType, MasksPartitionTheField) {
    EXPECT_EQ(kDefinedMask | kUndefinedMask | kReservedMask, kMask);
    EXPECT_EQ(kDefinedMask & kUndefinedMask, 0u);
    EXPECT_EQ(kShortFieldsMask & kWideFieldsMask, 0u);
    EXPECT_EQ(kShortFieldsMask | kWideFieldsMask | kOpaqueStateBit | kReservedMask, kMask);
}

}  // namespace
}  // namespace ioam::trace_type
