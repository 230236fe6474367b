#include "common/ioam/options.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ioam {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> v) {
    std::vector<std::uint8_t> out;
    for (int b : v) {
        out.push_back(static_cast<std::uint8_t>(b));
    }
    return out;
}

// The layout net/ipv6/ioam6_iptunnel.c builds: HbH header, PadN(0), IOAM option at offset 4,
// trace header at 8; 4 + 44 octets need no tail padding.
TEST(HopByHop, BuildsKernelLayoutForPto) {
    PtoOption pto;
    pto.namespace_id = 123;
    pto.node_len = 8;
    pto.remaining_len = 8;
    pto.trace_type = 0xff0000;
    pto.data.assign(32, 0);
    const std::vector<IoamOption> options{pto};
    auto hbh = build_hop_by_hop(17, options);
    ASSERT_TRUE(hbh.ok()) << to_string(hbh.error());
    const auto expected_head = bytes(
        {17, 5, 0x01, 0x00, 0x31, 42, 0x00, 0x00, 0x00, 123, 0x40, 0x08, 0xff, 0x00, 0x00, 0x00});
    ASSERT_EQ(hbh->size(), 48u);
    EXPECT_EQ(std::vector<std::uint8_t>(hbh->begin(), hbh->begin() + 16), expected_head);

    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->next_header, 17);
    ASSERT_EQ(parsed->options.size(), 1u);
    EXPECT_EQ(std::get<PtoOption>(parsed->options[0]), pto);
}

}  // namespace
}  // namespace ioam
