// Consistent sampling rests on two facts: every report of one packet has the same identity
// whatever node sent it, and the kept share of packets is close to 1/N.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>

#include "common/ioam/packet_identity.hpp"

namespace ioam {
namespace {

IoamNode hop(std::uint32_t id, std::uint32_t secs, std::uint32_t frac) {
    IoamNode n;
    n.node_id = id;
    n.hop_limit = static_cast<std::uint8_t>(64 - id);
    n.timestamp_secs = secs;
    n.timestamp_frac = frac;
    return n;
}

// The trace as node `reporter` (1-based) reports it: newest node first.
IoamTrace report_at(int reporter, std::uint32_t secs, std::uint32_t frac) {
    IoamTrace t;
    t.namespace_id = 123;
    t.trace_type = 0xf00000;
    for (int k = reporter; k >= 1; --k) {
        t.nodes.push_back(hop(100 + static_cast<std::uint32_t>(k), secs, frac + 10u * k));
    }
    return t;
}

TEST(PacketIdentity, EveryNodeOfThePathComputesTheSameIdentity) {
    const auto first = packet_identity(report_at(1, 1'700'000'000, 5));
    ASSERT_TRUE(first);
    for (int k = 2; k <= 4; ++k) {
        EXPECT_EQ(packet_identity(report_at(k, 1'700'000'000, 5)), first) << "node " << k;
    }
    EXPECT_NE(packet_identity(report_at(4, 1'700'000'000, 6)), first);
    auto other_ns = report_at(4, 1'700'000'000, 5);
    other_ns.namespace_id = 124;
    EXPECT_NE(packet_identity(other_ns), first);
}

TEST(PacketIdentity, TracesWithoutTimestampsHaveNone) {
    auto t = report_at(3, 1, 2);
    t.nodes.back().timestamp_frac.reset();
    EXPECT_FALSE(packet_identity(t));
    EXPECT_FALSE(packet_identity(IoamTrace{}));
    auto wide_only = report_at(2, 1, 2);
    wide_only.nodes.back().node_id.reset();
    EXPECT_FALSE(packet_identity(wide_only));
    wide_only.nodes.back().node_id_wide = 0xa0000000000001;
    EXPECT_TRUE(packet_identity(wide_only));
}

TEST(PacketIdentity, DexReportsOfOnePacketShareFlowAndSequence) {
    DexReport a;
    a.namespace_id = 7;
    a.flow_id = 99;
    a.sequence_number = 1000;
    a.node.node_id = 1;
    DexReport b = a;
    b.node.node_id = 2;
    b.observation_time_ns = 12345;
    EXPECT_EQ(packet_identity(a), packet_identity(b));
    b.sequence_number = 1001;
    EXPECT_NE(packet_identity(a), packet_identity(b));
    b.sequence_number.reset();
    EXPECT_FALSE(packet_identity(b));
}

// Microsecond timestamps one apart (the kernel's resolution) must still spread evenly.
TEST(PacketIdentity, KeepsCloseToOneInNOfConsecutivePackets) {
    constexpr int kPackets = 100'000;
    for (std::uint32_t n : {2u, 4u, 10u, 100u}) {
        int kept = 0;
        std::set<std::uint64_t> ids;
        for (int i = 0; i < kPackets; ++i) {
            const auto id =
                packet_identity(report_at(1, 1'700'000'000 + static_cast<std::uint32_t>(i / 1000),
                                          static_cast<std::uint32_t>(i % 1000)));
            ASSERT_TRUE(id);
            ids.insert(*id);
            kept += keep_one_in(*id, n) ? 1 : 0;
        }
        EXPECT_EQ(ids.size(), static_cast<std::size_t>(kPackets));
        const double expected = static_cast<double>(kPackets) / n;
        // Five binomial standard deviations.
        const double sd = std::sqrt(expected * (1.0 - 1.0 / n));
        EXPECT_NEAR(kept, expected, 5 * sd) << "1/" << n;
    }
    EXPECT_TRUE(keep_one_in(12345, 1));
}

}  // namespace
}  // namespace ioam
