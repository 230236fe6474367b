#include "probe/probe_config.hpp"

#include <gtest/gtest.h>

#include <array>
#include <variant>

#include "common/ioam/options.hpp"
#include "common/ioam/trace_type.hpp"

namespace ioam::probe {
namespace {

ProbeConfig base() {
    ProbeConfig c;
    c.destination = "fd00::5";
    c.namespace_id = 123;
    c.trace_type = 0xff0000;  // bits 0-7: 8 units per node
    c.hops = 4;
    return c;
}

TEST(ProbeConfig, AcceptsAValidTrace) {
    EXPECT_EQ(validate(base()), std::nullopt);
    EXPECT_EQ(trace_space(base()), 4u * 8 * 4);
}

TEST(ProbeConfig, RejectsATraceThatDoesNotFit244Octets) {
    auto c = base();
    c.trace_type = 0xfff000;  // 8 short + 3 wide + buffer occupancy: 15 units = 60 octets
    c.hops = 5;               // 300 octets
    auto error = validate(c);
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("300 octets"), std::string::npos) << *error;
    EXPECT_NE(error->find("244"), std::string::npos) << *error;
    c.hops = 4;  // 240 octets
    EXPECT_EQ(validate(c), std::nullopt);
}

TEST(ProbeConfig, CountsOpaqueStateInTheTraceSpace) {
    auto c = base();
    c.trace_type = trace_type::bit(0) | trace_type::kOpaqueStateBit;
    c.opaque_octets = 8;
    c.hops = 3;
    EXPECT_EQ(trace_space(c), 3u * (4 + 4 + 8));
    c.opaque_octets = 6;
    EXPECT_TRUE(validate(c));
}

TEST(ProbeConfig, RejectsBadArguments) {
    auto c = base();
    c.destination = "10.0.0.1";
    EXPECT_TRUE(validate(c));
    c = base();
    c.trace_type = trace_type::bit(12);
    EXPECT_TRUE(validate(c));
    c = base();
    c.hops = 0;
    EXPECT_TRUE(validate(c));
    c = base();
    c.rate = 0;
    EXPECT_TRUE(validate(c));
    c = base();
    c.flow_label = 0x100000;
    EXPECT_TRUE(validate(c));
    c = base();
    c.dex_ext_flags = 0x20;
    EXPECT_TRUE(validate(c));
}

TEST(ProbeConfig, BuildsAPreallocatedTraceTheKernelAccepts) {
    auto c = base();
    auto hbh = hop_by_hop_for(c, 0);
    ASSERT_TRUE(hbh);
    EXPECT_EQ(hbh->size() % 8, 0u);
    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed) << to_string(parsed.error());
    EXPECT_EQ(parsed->next_header, 17);
    ASSERT_EQ(parsed->options.size(), 1u);
    const auto& pto = std::get<PtoOption>(parsed->options[0]);
    EXPECT_EQ(pto.namespace_id, 123);
    EXPECT_EQ(pto.trace_type, 0xff0000u);
    EXPECT_EQ(pto.node_len, 8);
    EXPECT_EQ(pto.remaining_len, 32);  // all space free: no node filled yet
    EXPECT_EQ(pto.data.size(), 128u);
}

TEST(ProbeConfig, BuildsDexWithPerProbeSequence) {
    auto c = base();
    c.dex = true;
    c.flow_id = 77;
    c.transport = Transport::icmp;
    auto parsed = parse_hop_by_hop(*hop_by_hop_for(c, 41));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->next_header, 58);
    const auto& dex = std::get<DexOption>(parsed->options.at(0));
    EXPECT_EQ(dex.flow_id, 77u);
    EXPECT_EQ(dex.sequence_number, 41u);
    EXPECT_EQ(dex.trace_type, 0xff0000u);
}

TEST(ProbeConfig, ParsesTraceTypes) {
    EXPECT_EQ(parse_trace_type("0xf00000"), 0xf00000u);
    EXPECT_EQ(parse_trace_type("0,1,2,3"), 0xf00000u);
    EXPECT_EQ(parse_trace_type("22"), 0x000002u);
    EXPECT_EQ(parse_trace_type("0x1000000"), std::nullopt);
    EXPECT_EQ(parse_trace_type("24"), std::nullopt);
    EXPECT_EQ(parse_trace_type("1,,2"), std::nullopt);
    EXPECT_EQ(parse_trace_type("x"), std::nullopt);
}

}  // namespace
}  // namespace ioam::probe

namespace ioam::probe {
namespace {

// Sum of 16-bit words over pseudo-header + L4 with the checksum in place: all ones when right.
std::uint16_t verify_sum(const std::vector<std::uint8_t>& packet, std::size_t l4_offset,
                         std::uint8_t next_header) {
    std::uint64_t sum = 0;
    auto add = [&sum](const std::uint8_t* p, std::size_t n) {
        for (std::size_t i = 0; i < n; i += 2) {
            sum += (std::uint32_t{p[i]} << 8) | (i + 1 < n ? p[i + 1] : 0u);
        }
    };
    add(packet.data() + 8, 32);  // source and destination addresses
    sum += packet.size() - l4_offset + next_header;
    add(packet.data() + l4_offset, packet.size() - l4_offset);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

TEST(ProbePacket, CarriesFlowLabelHopByHopAndAValidChecksum) {
    std::array<std::uint8_t, 16> src{0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    std::array<std::uint8_t, 16> dst{0xfd, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2};
    for (auto transport : {Transport::udp, Transport::icmp}) {
        auto c = base();
        c.transport = transport;
        c.flow_label = 0xabcde;
        c.payload_size = 33;  // odd: exercises the checksum's last octet
        auto packet = build_packet(c, src, dst, 7);
        ASSERT_TRUE(packet);
        const auto& p = *packet;
        EXPECT_EQ(p[0], 0x60);
        EXPECT_EQ(((p[1] & 0x0f) << 16) | (p[2] << 8) | p[3], 0xabcde);
        EXPECT_EQ(p[6], 0);  // Hop-by-Hop follows
        EXPECT_EQ(p[7], 64);
        const std::size_t payload_len = (p[4] << 8) | p[5];
        EXPECT_EQ(payload_len, p.size() - 40);
        auto hbh = parse_hop_by_hop(std::span(p).subspan(40));
        ASSERT_TRUE(hbh);
        const std::size_t l4 = 40 + (std::size_t{p[41]} + 1) * 8;
        const std::uint8_t next = transport == Transport::udp ? 17 : 58;
        EXPECT_EQ(hbh->next_header, next);
        EXPECT_EQ(verify_sum(p, l4, next), 0xffff);
        if (transport == Transport::icmp) {
            EXPECT_EQ(p[l4], 128);    // echo request
            EXPECT_EQ(p[l4 + 7], 7);  // sequence
        } else {
            EXPECT_EQ((p[l4 + 2] << 8) | p[l4 + 3], 9);  // destination port
            EXPECT_EQ((p[l4 + 4] << 8) | p[l4 + 5], 8 + 33);
        }
    }
}

}  // namespace
}  // namespace ioam::probe
