// The double-reallocation model against the worked examples and measurements of the paper
// (seeds 000_d32315cb92a66ee7: x86_64, 64-byte cache line, i40e headroom 192 + 14 = 206) and
// against invariants of the kernel's arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "tools/realloc-calc/realloc_model.hpp"
#include "tools/realloc-calc/report.hpp"

namespace ioam::realloc {
namespace {

Host i40e() {
    Host h;
    h.headroom = 206;
    return h;
}

Encap ioam(Mode m, unsigned pto) {
    return {Proto::ioam, m, pto};
}
Encap srv6(Mode m, unsigned segs, bool hmac = false) {
    return {Proto::srv6, m, segs, hmac};
}
Encap rpl(unsigned segs, unsigned cmpri, unsigned cmpre) {
    return {Proto::rpl, Mode::inline_mode, segs, false, cmpri, cmpre};
}

std::vector<unsigned> nheads(const Outcome& o) {
    std::vector<unsigned> v;
    for (const Expansion& x : o.expansions) {
        v.push_back(x.nhead);
    }
    return v;
}

std::vector<Site> sites(const Outcome& o) {
    std::vector<Site> v;
    for (const Expansion& x : o.expansions) {
        v.push_back(x.site);
    }
    return v;
}

TEST(ReallocModel, LlReservedSpaceRoundsDownToSixteenThenAddsSixteen) {
    EXPECT_EQ(ll_reserved_space({14, 0}), 16u);
    EXPECT_EQ(ll_reserved_space({0, 0}), 16u);
    EXPECT_EQ(ll_reserved_space({14, 2}), 32u);
    EXPECT_EQ(ll_reserved_space({14, 32}), 48u);
}

TEST(ReallocModel, NetSkbPadIsAtLeastThirtyTwo) {
    EXPECT_EQ(net_skb_pad(16), 32u);
    EXPECT_EQ(net_skb_pad(32), 32u);
    EXPECT_EQ(net_skb_pad(64), 64u);
    EXPECT_EQ(net_skb_pad(128), 128u);
}

TEST(ReallocModel, IoamOverheadIsTheHopByHopHeaderPlusTheOuterHeaderInEncap) {
    EXPECT_EQ(overhead(ioam(Mode::inline_mode, 4)), 24u);  // 16 + 8: the trace padded to 8
    EXPECT_EQ(overhead(ioam(Mode::inline_mode, 8)), 24u);
    EXPECT_EQ(overhead(ioam(Mode::inline_mode, 236)), 256u);  // the paper's four 256s
    EXPECT_EQ(overhead(ioam(Mode::inline_mode, 240)), 256u);
    EXPECT_EQ(overhead(ioam(Mode::encap, 196)), 256u);
    EXPECT_EQ(overhead(ioam(Mode::encap, 200)), 256u);
    EXPECT_EQ(overhead(ioam(Mode::encap, 244)), 304u);
}

TEST(ReallocModel, Srv6OverheadFollowsIproute2AndTheReducedEncap) {
    EXPECT_EQ(overhead(srv6(Mode::encap, 21)), 384u);  // the paper's example
    EXPECT_EQ(overhead(srv6(Mode::l2encap, 21)), 384u);
    EXPECT_EQ(overhead(srv6(Mode::inline_mode, 1)), 40u);  // a slot for the destination
    EXPECT_EQ(overhead(srv6(Mode::inline_mode, 21)), 360u);
    EXPECT_EQ(overhead(srv6(Mode::encap, 2, true)), 40u + 8 + 32 + 40);
    EXPECT_EQ(overhead(srv6(Mode::encap_red, 14)), 256u);
    EXPECT_EQ(overhead(srv6(Mode::l2encap_red, 2)), 40u + 8 + 16);
    EXPECT_EQ(overhead(srv6(Mode::encap_red, 1)), 40u);  // no SRH at all
    EXPECT_EQ(overhead(srv6(Mode::encap_red, 1, true)), 40u + 8 + 16 + 40);
}

TEST(ReallocModel, RplOverheadIsTheCompressedHeaderPaddedToEight) {
    EXPECT_EQ(overhead(rpl(1, 0, 0)), 24u);   // the packet's destination, whole
    EXPECT_EQ(overhead(rpl(1, 9, 15)), 16u);  // 1 octet padded to 8
    EXPECT_EQ(overhead(rpl(3, 0, 0)), 56u);   // 8 + 3 * 16
    EXPECT_EQ(overhead(rpl(3, 8, 15)), 32u);  // 8 + align8(2 * 8 + 1)
    EXPECT_EQ(overhead(rpl(127, 15, 15)), 136u);
}

// "After line 1, the headroom becomes 270 (206 + 64) ... now 14 ... a second reallocation is
// performed. As a result, the headroom size becomes 78."
TEST(ReallocModel, PaperIoamCasesReallocateTwiceUnpatchedAndOnceWithTheFix) {
    for (const Encap& e : {ioam(Mode::inline_mode, 236), ioam(Mode::inline_mode, 240),
                           ioam(Mode::encap, 196), ioam(Mode::encap, 200)}) {
        const Outcome u = simulate(e, i40e(), Kernel::unpatched, Packet::cached);
        ASSERT_EQ(u.expansions.size(), 2u) << to_string(e.mode) << " " << e.size;
        EXPECT_EQ(u.expansions[0], (Expansion{Site::encap, 206, 270, 64}));
        EXPECT_EQ(u.expansions[1], (Expansion{Site::post_encap, 14, 16, 64}));
        EXPECT_EQ(u.headroom_after, 78u);
        EXPECT_TRUE(u.reallocated_twice());

        const Outcome p = simulate(e, i40e(), Kernel::patched, Packet::cached);
        ASSERT_EQ(p.expansions.size(), 1u);
        EXPECT_EQ(p.expansions[0], (Expansion{Site::encap, 206, 272, 128}));
        EXPECT_EQ(p.headroom_after, 78u);
        EXPECT_FALSE(p.reallocated_twice());
    }
}

// "headroom size is 22 ... 32-byte cache line ... becomes 54 ... 14 ... becomes 46"
TEST(ReallocModel, PaperThirtyTwoByteCacheLineExample) {
    Host h;
    h.headroom = 22;
    h.cache_line = 32;
    const Outcome u = simulate(srv6(Mode::inline_mode, 1), h, Kernel::unpatched, Packet::cached);
    EXPECT_EQ(nheads(u), (std::vector<unsigned>{32, 32}));
    EXPECT_EQ(u.headroom_after, 46u);
}

std::vector<unsigned> doubled_sizes(Proto p, Mode m, const Host& h) {
    std::vector<unsigned> out;
    Encap e{p, m, 0};
    for (unsigned size : sweep_sizes(e)) {
        e.size = size;
        if (simulate(e, h, Kernel::unpatched, Packet::cached).reallocated_twice()) {
            out.push_back(size);
        }
    }
    return out;
}

// Fig. 6: drops at PTO 196 (encap) and 236 (inline); SRv6 at 13 and 17 segments (encap, L2),
// 14 and 18 (reduced); none for SRv6 inline and RPL.
TEST(ReallocModel, PaperFigureSixSizesAreTheUnpatchedDoubleReallocations) {
    const Host h = i40e();
    EXPECT_EQ(doubled_sizes(Proto::ioam, Mode::encap, h), (std::vector<unsigned>{196, 200}));
    EXPECT_EQ(doubled_sizes(Proto::ioam, Mode::inline_mode, h), (std::vector<unsigned>{236, 240}));
    for (Mode m : {Mode::encap, Mode::l2encap}) {
        const auto sizes = doubled_sizes(Proto::srv6, m, h);
        ASSERT_GE(sizes.size(), 2u);
        EXPECT_EQ(sizes[0], 13u);
        EXPECT_EQ(sizes[1], 17u);
    }
    for (Mode m : {Mode::encap_red, Mode::l2encap_red}) {
        const auto sizes = doubled_sizes(Proto::srv6, m, h);
        ASSERT_GE(sizes.size(), 2u);
        EXPECT_EQ(sizes[0], 14u);
        EXPECT_EQ(sizes[1], 18u);
    }
    EXPECT_TRUE(doubled_sizes(Proto::srv6, Mode::inline_mode, h).empty());
    EXPECT_TRUE(doubled_sizes(Proto::rpl, Mode::inline_mode, h).empty());
}

// "having a 32-byte cache line would trigger the issue twice as frequently"
TEST(ReallocModel, ThirtyTwoByteCacheLineDoublesTwiceAsOften) {
    Host h32 = i40e();
    h32.cache_line = 32;
    const auto at64 = doubled_sizes(Proto::srv6, Mode::encap, i40e());
    const auto at32 = doubled_sizes(Proto::srv6, Mode::encap, h32);
    EXPECT_TRUE(std::ranges::includes(at32, at64));
    // 11, 13, 15 ... 127 against 13, 17 ... 125
    EXPECT_EQ(at32.size(), 59u);
    EXPECT_EQ(at64.size(), 29u);
}

TEST(ReallocModel, PatchedFirstPacketStillReallocatesTwiceWhereTheCacheIsNeeded) {
    const Host h = i40e();
    EXPECT_TRUE(
        simulate(ioam(Mode::encap, 196), h, Kernel::patched, Packet::first).reallocated_twice());
    EXPECT_TRUE(
        simulate(srv6(Mode::encap, 13), h, Kernel::patched, Packet::first).reallocated_twice());
    // Inline IOAM keeps its route: the route's own device sizes even the first packet.
    EXPECT_FALSE(simulate(ioam(Mode::inline_mode, 236), h, Kernel::patched, Packet::first)
                     .reallocated_twice());
}

// Unpatched ioam6 sizes the second skb_cow_head() for the ORIGINAL route's device, so a tunnel
// towards a device with more headroom is grown once more in ip6_finish_output2().
TEST(ReallocModel, IoamEncapTowardsABiggerDeviceIsGrownAgainAtTransmit) {
    Host h;
    h.headroom = 100;
    h.tunnel_dev = {14, 32};               // LL_RESERVED_SPACE 48
    const Encap e = ioam(Mode::encap, 8);  // 64 octets
    const Outcome u = simulate(e, h, Kernel::unpatched, Packet::cached);
    EXPECT_EQ(sites(u), (std::vector<Site>{Site::xmit}));
    EXPECT_EQ(u.expansions[0], (Expansion{Site::xmit, 36, 48, 64}));
    const Outcome p = simulate(e, h, Kernel::patched, Packet::cached);
    EXPECT_EQ(sites(p), (std::vector<Site>{Site::encap}));
    EXPECT_EQ(p.headroom_after, 100u);
}

TEST(ReallocModel, ClonedHeaderIsCopiedOnceEvenWithRoomToSpare) {
    Host h = i40e();
    h.header_cloned = true;
    for (Kernel k : {Kernel::unpatched, Kernel::patched}) {
        const Outcome o = simulate(ioam(Mode::inline_mode, 4), h, k, Packet::cached);
        ASSERT_EQ(o.expansions.size(), 1u);
        EXPECT_EQ(o.expansions[0].site, Site::encap);
        EXPECT_EQ(o.expansions[0].nhead, 0u);
        EXPECT_EQ(o.headroom_after, 206u - 24);
    }
}

TEST(ReallocModel, L2EncapExpandsByTheMacLengthFirst) {
    Host h = i40e();
    const Outcome o = simulate(srv6(Mode::l2encap, 1), h, Kernel::patched, Packet::cached);
    ASSERT_EQ(o.expansions.size(), 1u);
    EXPECT_EQ(o.expansions[0], (Expansion{Site::l2_push, 206, 14, 14}));
    EXPECT_EQ(o.headroom_after, 206u - 64);
    EXPECT_FALSE(o.reallocated_twice());
}

// A packet from a socket behind a veth arrives with LL_RESERVED_SPACE = 16 of headroom: with the
// 14 octets of mac_len the first reallocation always leaves 16 or more, as every header length
// is a multiple of 8.
TEST(ReallocModel, ForwardedPacketsWithHeadroomSixteenNeverDouble) {
    Host h;
    h.headroom = 16;
    for (Proto p : {Proto::ioam, Proto::srv6, Proto::rpl}) {
        for (Mode m : modes_of(p)) {
            EXPECT_TRUE(doubled_sizes(p, m, h).empty()) << to_string(p) << to_string(m);
        }
    }
}

// The same headroom on a locally generated packet (mac_len 0) leaves 16 - r after the first
// reallocation when the header length is 64k + r with r <= 16: 8 or 0 for r = 8 or 16.
TEST(ReallocModel, LocalPacketsWithHeadroomSixteenDoubleAtEightAndSixteenModuloSixtyFour) {
    Host h;
    h.headroom = 16;
    h.mac_len = 0;
    // IOAM inline header lengths 72, 80, 136, 144, 200, 208, 264
    EXPECT_EQ(doubled_sizes(Proto::ioam, Mode::inline_mode, h),
              (std::vector<unsigned>{52, 56, 60, 64, 116, 120, 124, 128, 180, 184, 188, 192, 244}));
    const auto segs = doubled_sizes(Proto::srv6, Mode::encap, h);
    EXPECT_FALSE(segs.empty());
    for (unsigned n : segs) {
        EXPECT_EQ(overhead(srv6(Mode::encap, n)) % 64, 16u) << n;  // 48 + 16n is never 8 mod 64
    }
}

// Invariants over random hosts and encapsulations: the packet always leaves with room for the
// egress device; every octet of headroom is accounted for; with the route cached and one device,
// the fixed kernels never reallocate twice.
TEST(ReallocModel, RandomCasesKeepTheKernelsInvariants) {
    std::mt19937 rng(20261125);
    const auto pick = [&rng](unsigned lo, unsigned hi) {
        return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
    };
    int checked = 0;
    for (int i = 0; i < 20000; ++i) {
        Host h;
        h.headroom = pick(0, 600);
        h.mac_len = pick(0, 1) ? 14 : 0;
        h.cache_line = 16u << pick(0, 4);
        h.route_dev = {pick(0, 1) ? 14u : pick(0, 64), pick(0, 1) ? 0u : pick(0, 64)};
        h.tunnel_dev = pick(0, 1) ? h.route_dev : Device{pick(0, 64), pick(0, 64)};
        const Proto p = static_cast<Proto>(pick(0, 2));
        const auto modes = modes_of(p);
        Encap e{p,           modes[pick(0, static_cast<unsigned>(modes.size()) - 1)],
                0,           pick(0, 1) == 1,
                pick(0, 15), pick(0, 15)};
        const auto sizes = sweep_sizes(e);
        e.size = sizes[pick(0, static_cast<unsigned>(sizes.size()) - 1)];
        const bool l2 = e.mode == Mode::l2encap || e.mode == Mode::l2encap_red;
        if (l2 && h.mac_len == 0) {
            continue;  // the kernel refuses L2 encapsulation without a MAC header
        }
        const Device& egress =
            (p == Proto::ioam && e.mode == Mode::inline_mode) ? h.route_dev : h.tunnel_dev;
        for (Kernel k : {Kernel::unpatched, Kernel::patched}) {
            for (Packet pk : {Packet::cached, Packet::first}) {
                const Outcome o = simulate(e, h, k, pk);
                unsigned grown = 0;
                for (const Expansion& x : o.expansions) {
                    grown += x.nhead;
                }
                const unsigned l2_push = l2 ? h.mac_len : 0;
                ASSERT_EQ(o.headroom_after + overhead(e) + l2_push, h.headroom + grown);
                ASSERT_GE(o.headroom_after, ll_reserved_space(egress));
                if (k == Kernel::patched && pk == Packet::cached &&
                    h.route_dev.hard_header_len == h.tunnel_dev.hard_header_len &&
                    h.route_dev.needed_headroom == h.tunnel_dev.needed_headroom) {
                    ASSERT_FALSE(o.reallocated_twice());
                }
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 50000);
}

TEST(ReallocModel, RplCompressionIsComputedAsTheKernelDoes) {
    const auto c = rpl_compression({"2001:db8::1", "2001:db8::2", "2001:db8::3"}, "2001:db8::99");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->cmpri, 15u);
    EXPECT_EQ(c->cmpre, 15u);
    const auto d = rpl_compression({"2001:db8::1"}, "fd00::1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->cmpri, 15u);  // no address but the last one: the best compression
    EXPECT_EQ(d->cmpre, 0u);
    const auto e = rpl_compression({"2001:db8::1", "2001:db8:1::2", "2001:db8::3"}, "2001:db8::4");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->cmpri, 5u);  // 2001:0db8:0000 vs 2001:0db8:0001: five octets in common
    EXPECT_EQ(e->cmpre, 15u);
    EXPECT_FALSE(rpl_compression({"not-an-address"}, "2001:db8::1"));
    EXPECT_FALSE(rpl_compression({}, "2001:db8::1"));
}

TEST(ReallocModel, InvalidEncapsulationsAndHostsSayWhy) {
    EXPECT_TRUE(invalid(ioam(Mode::inline_mode, 0)));
    EXPECT_TRUE(invalid(ioam(Mode::inline_mode, 6)));
    EXPECT_TRUE(invalid(ioam(Mode::inline_mode, 248)));
    EXPECT_TRUE(invalid(ioam(Mode::l2encap, 8)));
    EXPECT_FALSE(invalid(ioam(Mode::encap, 244)));
    EXPECT_FALSE(invalid(srv6(Mode::encap, 127)));
    EXPECT_TRUE(invalid(srv6(Mode::inline_mode, 127)));
    EXPECT_TRUE(invalid(srv6(Mode::encap, 0)));
    EXPECT_FALSE(invalid(srv6(Mode::encap, 125, true)));
    EXPECT_TRUE(invalid(srv6(Mode::encap, 126, true)));
    EXPECT_TRUE(invalid(rpl(128, 0, 0)));
    EXPECT_TRUE(invalid(rpl(2, 16, 0)));
    EXPECT_TRUE(invalid(Encap{Proto::rpl, Mode::encap, 2}));
    EXPECT_NE(invalid(ioam(Mode::inline_mode, 246))->find("246"), std::string::npos);
    Host h;
    h.cache_line = 48;
    EXPECT_TRUE(invalid(h));
    h.cache_line = 128;
    EXPECT_FALSE(invalid(h));
}

TEST(ReallocModel, SweepCoversEveryValidSize) {
    EXPECT_EQ(sweep_sizes(ioam(Mode::encap, 0)).size(), 61u);  // 4..244 by 4
    EXPECT_EQ(sweep_sizes(srv6(Mode::encap, 0)).size(), 127u);
    EXPECT_EQ(sweep_sizes(srv6(Mode::inline_mode, 0)).size(), 126u);
    EXPECT_EQ(sweep_sizes(rpl(0, 0, 0)).size(), 127u);
    EXPECT_EQ(sweep(std::nullopt, Encap{}).size(), 61u * 2 + 127 * 4 + 126 + 127);
}

TEST(ReallocReport, JsonCarriesEveryExpansionPerKernel) {
    Host h;
    h.headroom = 30;
    const auto cases = evaluate({ioam(Mode::inline_mode, 64)}, h,
                                {Kernel::unpatched, Kernel::patched}, Packet::cached);
    const nlohmann::json j = to_json(cases);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["proto"], "ioam");
    EXPECT_EQ(j[0]["mode"], "inline");
    EXPECT_EQ(j[0]["size"], 64);
    EXPECT_EQ(j[0]["overhead"], 80);
    const auto& u = j[0]["kernels"]["unpatched"];
    EXPECT_EQ(u["reallocations"], 2);
    EXPECT_EQ(u["headroom_after"], 78);
    EXPECT_EQ(u["expansions"][1]["site"], "post_encap");
    EXPECT_EQ(u["expansions"][1]["headroom"], 14);
    EXPECT_EQ(u["expansions"][1]["nhead"], 64);
    EXPECT_EQ(j[0]["kernels"]["patched"]["reallocations"], 1);
}

TEST(ReallocReport, TableMarksTheDoubleReallocations) {
    const auto cases = evaluate({ioam(Mode::encap, 196), ioam(Mode::encap, 4)}, i40e(),
                                {Kernel::unpatched, Kernel::patched}, Packet::cached);
    const std::string t = to_table(cases, i40e(), Packet::cached);
    EXPECT_NE(t.find("*2: +64 +64 -> 78"), std::string::npos) << t;
    EXPECT_NE(t.find(" 1: +128 -> 78"), std::string::npos) << t;
    EXPECT_NE(t.find(" 0 -> 142"), std::string::npos) << t;
    EXPECT_NE(t.find("headroom 206"), std::string::npos);
}

}  // namespace
}  // namespace ioam::realloc
