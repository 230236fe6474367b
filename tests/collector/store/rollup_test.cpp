#include "collector/store/rollup.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/collector/packets.hpp"

namespace ioam::collector::store::rollup {
namespace {

TEST(RollupHistogram, BucketsAreWithinSixPercent) {
    for (std::int64_t v = 1; v < (std::int64_t{1} << 62); v = v * 3 + 1) {
        const auto r = Histogram::representative(Histogram::bucket(v));
        EXPECT_LE(std::abs(static_cast<double>(r - v)), 0.0625 * static_cast<double>(v) + 1) << v;
        EXPECT_LE(Histogram::bucket(v), Histogram::bucket(v + 1));
    }
    EXPECT_EQ(Histogram::bucket(0), 0);
    EXPECT_EQ(Histogram::bucket(-5), 0);
    EXPECT_EQ(Histogram::bucket(INT64_MAX), 1 + 62 * 8 + 7);
}

TEST(RollupHistogram, EncodesMergesAndRefusesGarbage) {
    Histogram a, b;
    for (int i = 1; i <= 100; ++i) {
        a.add(i * 1000);
    }
    b.add(5000, 1'000'000'000'000);
    Histogram c;
    ASSERT_TRUE(c.decode(a.encode()));
    EXPECT_EQ(c.encode(), a.encode());
    c.merge(b);
    EXPECT_EQ(c.percentile(0.5, 0, 100'000), Histogram::representative(Histogram::bucket(5000)));
    EXPECT_EQ(a.percentile(1.0, 0, 100'000), 100'000);  // clamped to the exact max
    EXPECT_FALSE(Histogram().percentile(0.5, 0, 0));
    Histogram untouched = a;
    const std::vector<std::uint8_t> truncated = {1, 0, 0x80};
    EXPECT_FALSE(untouched.decode(truncated));
    const std::vector<std::uint8_t> unordered = {2, 0, 1, 1, 0, 1};
    EXPECT_FALSE(untouched.decode(unordered));
    EXPECT_EQ(untouched.encode(), a.encode());
}

TEST(RollupDelta, ALoopCountsThePacketOncePerNode) {
    Delta d;
    d.add(test::make_packet({1, 2, 1, 3}, 0, 0, 10));
    EXPECT_EQ(d.nodes.size(), 3u);
    EXPECT_EQ(d.nodes.at(NodeKey{0, 1}).seen.packets, 1.0);
    EXPECT_EQ(d.segments.size(), 3u);  // 1-2, 2-1, 1-3
    EXPECT_LE(d.keys(), Delta::keys_needed(test::make_packet({1, 2, 1, 3}, 0, 0, 10)));
}

}  // namespace
}  // namespace ioam::collector::store::rollup
