#include "tools/dex-route/dex_route.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace ioam::tools::dexroute {
namespace {

std::variant<DexRoute, std::string> parse(std::initializer_list<std::string_view> words) {
    const std::vector<std::string_view> args(words);
    return parse_args(args);
}

DexRoute parse_ok(std::initializer_list<std::string_view> words) {
    auto r = parse(words);
    if (const auto* err = std::get_if<std::string>(&r)) {
        ADD_FAILURE() << "unexpected parse error: " << *err;
        return {};
    }
    return std::get<DexRoute>(r);
}

std::string parse_error(std::initializer_list<std::string_view> words) {
    auto r = parse(words);
    const auto* err = std::get_if<std::string>(&r);
    return err ? *err : std::string("<parsed>");
}

Ipv6Address addr(std::initializer_list<std::uint8_t> head, std::uint8_t last) {
    Ipv6Address a{};
    std::copy(head.begin(), head.end(), a.begin());
    a[15] = last;
    return a;
}

TEST(DexRouteParse, ReferenceSyntaxWithEveryOption) {
    const auto r = parse_ok({"add", "2001:db8:4::/64", "freq", "1/2", "mode", "encap", "tunsrc",
                             "2001:db8:1::2", "tundst", "2001:db8:3::2", "dex", "trace-type",
                             "0xd00000", "ns", "123", "ext-flags", "0xc0", "dev", "veth0"});
    EXPECT_EQ(r.prefix, addr({0x20, 0x01, 0x0d, 0xb8, 0x00, 0x04}, 0));
    EXPECT_EQ(r.prefix_len, 64);
    ASSERT_TRUE(r.freq);
    EXPECT_EQ(r.freq->first, 1u);
    EXPECT_EQ(r.freq->second, 2u);
    EXPECT_EQ(r.mode, Mode::kEncap);
    EXPECT_EQ(r.tunsrc, addr({0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01}, 2));
    EXPECT_EQ(r.tundst, addr({0x20, 0x01, 0x0d, 0xb8, 0x00, 0x03}, 2));
    EXPECT_EQ(r.trace_type, 0xd00000u);
    EXPECT_EQ(r.namespace_id, 123);
    EXPECT_EQ(r.ext_flags, 0xc0);
    EXPECT_EQ(r.dev, "veth0");
    EXPECT_FALSE(r.via);
}

TEST(DexRouteParse, DefaultsLeaveKernelDefaults) {
    const auto r = parse_ok({"add", "2001:db8::1", "dex", "ns", "0x10", "trace-type", "0x800000",
                             "via", "fe80::1", "dev", "eth0"});
    EXPECT_EQ(r.prefix_len, 128);
    EXPECT_FALSE(r.freq);
    EXPECT_FALSE(r.mode);
    EXPECT_EQ(r.namespace_id, 16);
    EXPECT_EQ(r.ext_flags, 0);
    EXPECT_EQ(r.via, addr({0xfe, 0x80}, 1));
}

TEST(DexRouteParse, RejectsWhatTheKernelWouldNotUnderstand) {
    EXPECT_EQ(parse_error({"del", "::/0"}), "expected 'add'");
    EXPECT_EQ(parse_error({"add"}), "PREFIX missing");
    EXPECT_EQ(parse_error({"add", "10.0.0.0/8", "dex", "trace-type", "1", "ns", "1", "dev", "x"}),
              "'10.0.0.0/8' is not an IPv6 prefix");
    EXPECT_EQ(parse_error({"add", "::/129", "dex", "trace-type", "1", "ns", "1", "dev", "x"}),
              "'::/129' is not an IPv6 prefix");
    EXPECT_EQ(parse_error({"add", "::/0", "dev", "x"}), "dex trace-type T ns N is required");
    EXPECT_EQ(parse_error({"add", "::/0", "dex", "trace-type", "1", "dev", "x"}),
              "dex trace-type T ns N is required");
    EXPECT_EQ(parse_error({"add", "::/0", "dex", "trace-type", "0x1000000", "ns", "1"}),
              "trace-type: '0x1000000' is not a number in 0..16777215");
    EXPECT_EQ(parse_error({"add", "::/0", "dex", "trace-type", "1", "ns", "65536"}),
              "ns: '65536' is not a number in 0..65535");
    EXPECT_EQ(parse_error({"add", "::/0", "dex", "trace-type", "1", "ns", "1", "ext-flags"}),
              "ext-flags: value missing");
    EXPECT_EQ(parse_error({"add", "::/0", "dex", "trace-type", "1", "ns", "1"}), "dev is required");
    EXPECT_EQ(parse_error({"add", "::/0", "ns", "1"}), "unexpected 'ns'");  // before "dex"
}

TEST(DexRouteParse, ChecksFrequencyAndModeCombinations) {
    const std::string freq_error = "freq: expected K/N with 1 <= K <= N <= 1000000";
    for (const char* f : {"0/1", "2/1", "1/0", "1", "1/1000001", "a/b"}) {
        EXPECT_EQ(parse_error({"add", "::/0", "freq", f}), freq_error) << f;
    }
    EXPECT_EQ(parse_error({"add", "::/0", "mode", "tunnel"}),
              "mode: expected inline, encap or auto");
    EXPECT_EQ(parse_error({"add", "::/0", "tundst", "::1", "dex", "trace-type", "1", "ns", "1",
                           "dev", "x"}),
              "tunsrc and tundst are for the encap and auto modes");
    EXPECT_EQ(parse_error(
                  {"add", "::/0", "mode", "auto", "dex", "trace-type", "1", "ns", "1", "dev", "x"}),
              "the encap and auto modes need tundst");
    EXPECT_EQ(parse_error({"add", "::/0", "mode", "encap", "tundst", "2001:db8::zz"}),
              "tundst: '2001:db8::zz' is not an IPv6 address");
}

// Netlink headers and attribute headers are in host byte order; the expected bytes below are
// written for a little-endian host.
class DexRouteRequest : public ::testing::Test {
  protected:
    void SetUp() override {
        if constexpr (std::endian::native != std::endian::little) {
            GTEST_SKIP() << "expected request bytes are written for little-endian hosts";
        }
    }
};

void append(std::vector<std::uint8_t>& v, std::initializer_list<std::uint8_t> bytes) {
    v.insert(v.end(), bytes);
}

TEST_F(DexRouteRequest, EncapRouteBytes) {
    const auto r = parse_ok({"add",      "2001:db8:4::/64",
                             "freq",     "1/2",
                             "mode",     "encap",
                             "tunsrc",   "2001:db8:1::2",
                             "tundst",   "2001:db8:3::2",
                             "dex",      "trace-type",
                             "0xd00000", "ns",
                             "123",      "ext-flags",
                             "0xc0",     "via",
                             "fe80::1",  "dev",
                             "veth0"});
    const auto got = build_request(r, 7, 42);

    std::vector<std::uint8_t> want;
    // nlmsghdr: length 172, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE, seq 42, pid 0
    append(want, {0xac, 0, 0, 0, 24, 0, 0x05, 0x06, 42, 0, 0, 0, 0, 0, 0, 0});
    // rtmsg: AF_INET6, /64, src 0, tos 0, main table, boot protocol, universe, unicast, flags 0
    append(want, {10, 64, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0});
    // RTA_DST 2001:db8:4::
    append(want, {20, 0, 1, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    // RTA_OIF 7
    append(want, {8, 0, 4, 0, 7, 0, 0, 0});
    // RTA_GATEWAY fe80::1
    append(want, {20, 0, 5, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    // RTA_ENCAP_TYPE LWTUNNEL_ENCAP_IOAM6 (u16, padded)
    append(want, {6, 0, 21, 0, 9, 0, 0, 0});
    // RTA_ENCAP, nested, 88 octets
    append(want, {88, 0, 22, 0x80});
    append(want, {8, 0, 4, 0, 1, 0, 0, 0});  // IOAM6_IPTUNNEL_FREQ_K 1
    append(want, {8, 0, 5, 0, 2, 0, 0, 0});  // IOAM6_IPTUNNEL_FREQ_N 2
    append(want, {5, 0, 1, 0, 2, 0, 0, 0});  // IOAM6_IPTUNNEL_MODE encap
    // IOAM6_IPTUNNEL_SRC 2001:db8:1::2
    append(want, {20, 0, 6, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    // IOAM6_IPTUNNEL_DST 2001:db8:3::2
    append(want, {20, 0, 2, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    append(want, {5, 0, 7, 0, 2, 0, 0, 0});  // IOAM6_OPTION_TYPE DEX
    // IOAM6_IPTUNNEL_DEX: ns 123 (be16), flags 0, ext-flags 0xc0, trace type 0xd00000 << 8
    append(want, {12, 0, 8, 0, 0x00, 0x7b, 0x00, 0xc0, 0xd0, 0x00, 0x00, 0x00});

    EXPECT_EQ(got, want);
}

TEST_F(DexRouteRequest, InlineRouteCarriesOnlyWhatWasGiven) {
    const auto r = parse_ok(
        {"add", "2001:db8::/32", "dex", "trace-type", "0xffffff", "ns", "65535", "dev", "lo"});
    const auto got = build_request(r, 1, 1);

    std::vector<std::uint8_t> want;
    append(want, {88, 0, 0, 0, 24, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0});
    append(want, {10, 32, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0});
    append(want, {20, 0, 1, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    append(want, {8, 0, 4, 0, 1, 0, 0, 0});
    append(want, {6, 0, 21, 0, 9, 0, 0, 0});
    append(want, {24, 0, 22, 0x80});
    append(want, {5, 0, 7, 0, 2, 0, 0, 0});
    append(want, {12, 0, 8, 0, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00});

    EXPECT_EQ(got, want);
}

// An NLMSG_ERROR message as the kernel builds it: error, the request's header, optionally its
// payload (not with NLM_F_CAPPED), then the extended ack attributes.
std::vector<std::uint8_t> error_message(int error, std::uint32_t seq, bool capped,
                                        const std::string& text) {
    const std::uint32_t request_len = 24;  // a header and 8 octets of payload
    std::vector<std::uint8_t> m(16 + 4 + 16);
    std::uint16_t flags = text.empty() ? 0 : 0x200;  // NLM_F_ACK_TLVS
    if (capped) {
        flags |= 0x100;  // NLM_F_CAPPED
    } else {
        m.resize(m.size() + 8, 0xee);
    }
    if (!text.empty()) {
        const auto len = static_cast<std::uint16_t>(4 + text.size() + 1);
        const std::uint16_t type = 1;  // NLMSGERR_ATTR_MSG
        m.resize(m.size() + 4);
        std::memcpy(&m[m.size() - 4], &len, 2);
        std::memcpy(&m[m.size() - 2], &type, 2);
        m.insert(m.end(), text.begin(), text.end());
        m.push_back(0);
        m.resize((m.size() + 3) & ~std::size_t{3}, 0);
    }
    const auto total = static_cast<std::uint32_t>(m.size());
    const std::uint16_t type = 2;  // NLMSG_ERROR
    std::memcpy(&m[0], &total, 4);
    std::memcpy(&m[4], &type, 2);
    std::memcpy(&m[6], &flags, 2);
    std::memcpy(&m[8], &seq, 4);
    std::memcpy(&m[16], &error, 4);
    std::memcpy(&m[20], &request_len, 4);
    return m;
}

TEST(DexRouteAck, SuccessAndPlainError) {
    auto ok = parse_ack(error_message(0, 9, true, ""), 9);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->error, 0);
    EXPECT_EQ(ok->message, "");

    auto refused = parse_ack(error_message(-17, 9, false, ""), 9);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->error, -17);
}

TEST(DexRouteAck, ExtendedAckMessageCappedOrNot) {
    for (bool capped : {true, false}) {
        auto a = parse_ack(error_message(-22, 5, capped, "reserved DEX trace type bits set"), 5);
        ASSERT_TRUE(a) << capped;
        EXPECT_EQ(a->error, -22);
        EXPECT_EQ(a->message, "reserved DEX trace type bits set") << capped;
    }
}

TEST(DexRouteAck, IgnoresOtherMessages) {
    EXPECT_FALSE(parse_ack(error_message(0, 5, true, ""), 6));  // another request
    auto m = error_message(0, 5, true, "");
    EXPECT_FALSE(parse_ack(std::span(m).first(19), 5));  // truncated
    m[4] = 24;                                           // RTM_NEWROUTE, not an ack
    EXPECT_FALSE(parse_ack(m, 5));
}

}  // namespace
}  // namespace ioam::tools::dexroute
