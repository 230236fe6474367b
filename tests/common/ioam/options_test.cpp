#include "common/ioam/options.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tests/common/ioam/test_util.hpp"

namespace ioam {
namespace {

using test::outcome;
using test::unhex;

using Bytes = std::vector<std::uint8_t>;

PtoOption sample_pto() {
    PtoOption pto;
    pto.namespace_id = 0x1234;
    pto.node_len = 8;
    pto.flags = kPtoFlagOverflow;
    pto.remaining_len = 1;
    pto.trace_type = 0xff0000;
    pto.data = unhex("00000000 01020304");
    return pto;
}

DexOption sample_dex() {
    DexOption dex;
    dex.namespace_id = 0x0102;
    dex.flags = 0x00;
    dex.ext_flags = kDexExtFlowId | kDexExtSequence;
    dex.trace_type = 0x800000;
    dex.flow_id = 0xaabbccdd;
    dex.sequence_number = 5;
    return dex;
}

// ---- Pre-allocated Trace ----------------------------------------------------------------

TEST(PtoOption, EncodesRfcLayout) {
    // reserved, type 0 | namespace | NodeLen 8 (5 bits), Flags 0b1000, RemainingLen 1 | type
    auto data = encode_option_data(sample_pto());
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, unhex("0000 1234 4401 ff000000 00000000 01020304"));
    auto back = decode_option_data(*data);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<PtoOption>(*back), sample_pto());
}

TEST(PtoOption, DecodeIgnoresReservedFields) {
    auto back = decode_option_data(unhex("ff00 1234 4401 ff0000ee 00000000 01020304"));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<PtoOption>(*back), sample_pto());
}

TEST(PtoOption, FilledDataIsAfterRemainingLength) {
    const PtoOption pto = sample_pto();
    const auto filled = filled_data(pto);
    EXPECT_EQ(Bytes(filled.begin(), filled.end()), unhex("01020304"));
    PtoOption bad = sample_pto();
    bad.remaining_len = 3;
    EXPECT_TRUE(filled_data(bad).empty());
}

TEST(PtoOption, DecodeErrors) {
    EXPECT_EQ(outcome(decode_option_data(unhex("00"))), "truncated");
    EXPECT_EQ(outcome(decode_option_data(unhex("0000 1234 4401 ff00"))), "truncated");
    EXPECT_EQ(outcome(decode_option_data(unhex("0000 1234 4400 ff000000 000000"))),
              "bad_option_length");
    EXPECT_EQ(outcome(decode_option_data(unhex("0000 1234 4403 ff000000 00000000 00000000"))),
              "remaining_length_overflow");
    EXPECT_EQ(outcome(decode_option_data(unhex("0002 1234 4403 ff000000"))), "unknown_option");
}

TEST(PtoOption, EncodeErrors) {
    auto fails_with = [](const PtoOption& pto, Errc e) {
        EXPECT_EQ(outcome(encode_option_data(pto)), to_string(e));
    };
    PtoOption p = sample_pto();
    p.data.push_back(0);
    fails_with(p, Errc::bad_option_length);
    p = sample_pto();
    p.data.assign(kMaxTraceDataOctets + 4, 0);
    fails_with(p, Errc::too_large);
    p = sample_pto();
    p.remaining_len = 3;
    fails_with(p, Errc::invalid_argument);
    p = sample_pto();
    p.node_len = 32;
    fails_with(p, Errc::invalid_argument);
    p = sample_pto();
    p.flags = 0x10;
    fails_with(p, Errc::invalid_argument);
    p = sample_pto();
    p.trace_type = 0x1000000;
    fails_with(p, Errc::invalid_argument);
}

TEST(PtoOption, LargestDataFits) {
    PtoOption p = sample_pto();
    p.data.assign(kMaxTraceDataOctets, 0);
    p.remaining_len = kMaxTraceDataOctets / 4;
    auto data = encode_option_data(p);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->size(), 254u);
    EXPECT_EQ(std::get<PtoOption>(*decode_option_data(*data)), p);
}

// ---- Direct Exporting (RFC 9326) --------------------------------------------------------

TEST(DexOption, EncodesWithBothOptionalFields) {
    auto data = encode_option_data(sample_dex());
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, unhex("0004 0102 00 c0 80000000 aabbccdd 00000005"));
    EXPECT_EQ(std::get<DexOption>(*decode_option_data(*data)), sample_dex());
}

TEST(DexOption, OptionalFieldsFollowExtensionFlags) {
    DexOption only_seq = sample_dex();
    only_seq.ext_flags = kDexExtSequence;
    only_seq.flow_id.reset();
    auto data = encode_option_data(only_seq);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, unhex("0004 0102 00 40 80000000 00000005"));
    EXPECT_EQ(std::get<DexOption>(*decode_option_data(*data)), only_seq);

    DexOption none = sample_dex();
    none.ext_flags = 0;
    none.flow_id.reset();
    none.sequence_number.reset();
    none.flags = 0xa5;
    data = encode_option_data(none);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, unhex("0004 0102 a5 00 80000000"));
    EXPECT_EQ(std::get<DexOption>(*decode_option_data(*data)), none);
}

TEST(DexOption, UnassignedExtensionFlagFieldsAreSkipped) {
    // Bits 0, 1 and 2 set: flow id, sequence number and one unknown 4-octet field.
    auto back = decode_option_data(unhex("0004 0102 00 e0 80000000 aabbccdd 00000005 ffffffff"));
    ASSERT_TRUE(back.ok());
    const auto& dex = std::get<DexOption>(*back);
    EXPECT_EQ(dex.ext_flags, 0xe0);
    EXPECT_EQ(dex.flow_id, 0xaabbccddu);
    EXPECT_EQ(dex.sequence_number, 5u);
    // The encoder cannot invent the unknown field.
    EXPECT_EQ(outcome(encode_option_data(dex)), "invalid_argument");
}

TEST(DexOption, DecodeErrors) {
    EXPECT_EQ(outcome(decode_option_data(unhex("0004 0102 00 c0 800000"))), "truncated");
    EXPECT_EQ(outcome(decode_option_data(unhex("0004 0102 00 c0 80000000 aabbccdd"))),
              "bad_option_length");
    EXPECT_EQ(outcome(decode_option_data(unhex("0004 0102 00 00 80000000 aabbccdd"))),
              "bad_option_length");
}

TEST(DexOption, EncodeRejectsFlagsDisagreeingWithFields) {
    DexOption d = sample_dex();
    d.flow_id.reset();
    EXPECT_EQ(outcome(encode_option_data(d)), "invalid_argument");
    d = sample_dex();
    d.ext_flags = kDexExtFlowId;
    EXPECT_EQ(outcome(encode_option_data(d)), "invalid_argument");
    d = sample_dex();
    d.trace_type = 0x1000000;
    EXPECT_EQ(outcome(encode_option_data(d)), "invalid_argument");
}

// ---- Hop-by-Hop header ------------------------------------------------------------------

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
    ASSERT_EQ(hbh->size(), 48u);
    EXPECT_EQ(Bytes(hbh->begin(), hbh->begin() + 16),
              unhex("11 05 0100 31 2a 0000 007b 4008 ff000000"));

    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->next_header, 17);
    ASSERT_EQ(parsed->options.size(), 1u);
    EXPECT_EQ(std::get<PtoOption>(parsed->options[0]), pto);
}

TEST(HopByHop, TailPaddingToMultipleOfEight) {
    DexOption dex = sample_dex();  // 14 octets of option data: 4 + 16 = 20 -> PadN(2)
    dex.ext_flags = kDexExtFlowId;
    dex.sequence_number.reset();
    const std::vector<IoamOption> options{dex};
    auto hbh = build_hop_by_hop(58, options);
    ASSERT_TRUE(hbh.ok());
    EXPECT_EQ(*hbh, unhex("3a 02 0100 31 0e 0004 0102 00 80 80000000 aabbccdd 0102 0000"));
    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->options, options);
}

TEST(HopByHop, EmptyHeaderIsPadding) {
    auto hbh = build_hop_by_hop(59, {});
    ASSERT_TRUE(hbh.ok());
    EXPECT_EQ(*hbh, unhex("3b 00 0104 00000000"));
    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->options.empty());
}

TEST(HopByHop, SeveralOptionsEachAlignedFourN) {
    const std::vector<IoamOption> options{sample_dex(), sample_pto(), sample_dex()};
    auto hbh = build_hop_by_hop(17, options);
    ASSERT_TRUE(hbh.ok());
    EXPECT_EQ(hbh->size() % 8, 0u);
    EXPECT_EQ((*hbh)[1], hbh->size() / 8 - 1);
    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->options, options);
}

TEST(HopByHop, ParsesPad1AndSkipsOtherOptions) {
    // Router Alert (type 5) at 2, Pad1 Pad1, DEX at 8, an IOAM E2E option (IOAM type 2) at
    // 20, PadN(2) tail: only the DEX is returned.
    const Bytes hdr = unhex(
        "11 03 05020000 00 00 31 0a 0004 0102 00 00 80000000"
        "31 06 0002 00000000 0102 0000");
    ASSERT_EQ(hdr.size(), 32u);
    auto parsed = parse_hop_by_hop(hdr);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    ASSERT_EQ(parsed->options.size(), 1u);
    DexOption dex = sample_dex();
    dex.ext_flags = 0;
    dex.flow_id.reset();
    dex.sequence_number.reset();
    EXPECT_EQ(std::get<DexOption>(parsed->options[0]), dex);
}

TEST(HopByHop, OctetsAfterTheHeaderAreIgnored) {
    Bytes hdr = unhex("3b 00 0104 00000000 deadbeef");
    auto parsed = parse_hop_by_hop(hdr);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->next_header, 59);
}

TEST(HopByHop, Truncated) {
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("11"))), "truncated");
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("11 01 0104 00000000"))), "truncated");
}

TEST(HopByHop, BadPadding) {
    // PadN with a non-zero payload octet.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 00 0104 00000100"))), "bad_padding");
    // More than 7 consecutive padding octets: PadN(6) alone is 8; Pad1 + PadN(3) + PadN(6)
    // is 14.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 01 0106 000000000000 0104 00000000"))),
              "bad_padding");
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 01 00 0103 000000 0106 000000000000"))),
              "bad_padding");
    // Pad1 + PadN(3) is 6: fine.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 00 00 0103 000000"))), "ok");
}

TEST(HopByHop, BadOptionLength) {
    // PadN announcing more octets than the header has.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 00 0105 00000000"))), "bad_option_length");
    // IOAM option announcing 8 octets with 2 left.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 00 0100 3108 0000"))), "bad_option_length");
    // Option type octet as the header's last octet.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("3b 00 0103 000000 05"))), "bad_option_length");
}

TEST(HopByHop, BadAlignment) {
    // IOAM option type at offset 2 (4n + 2).
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("11 01 31 0a 0004 0102 00 00 80000000 0100"))),
              "bad_alignment");
}

TEST(HopByHop, OptionDecodeErrorsPropagate) {
    // PTO whose RemainingLen points past its data.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("11 01 0100 31 0a 0000 007b 4002 ff000000"))),
              "remaining_length_overflow");
    // IOAM option too short to hold the IOAM option type.
    EXPECT_EQ(outcome(parse_hop_by_hop(unhex("11 00 0100 31 00 0000"))), "truncated");
}

TEST(HopByHop, BuildErrors) {
    PtoOption bad = sample_pto();
    bad.data.push_back(0);
    const std::vector<IoamOption> one_bad{bad};
    EXPECT_EQ(outcome(build_hop_by_hop(17, one_bad)), "bad_option_length");

    PtoOption big = sample_pto();
    big.data.assign(kMaxTraceDataOctets, 0);
    const std::vector<IoamOption> eight_big(8, big);  // 4 + 8 * 256 octets > 2048
    EXPECT_EQ(outcome(build_hop_by_hop(17, eight_big)), "too_large");
    const std::vector<IoamOption> seven_big(7, big);
    auto ok = build_hop_by_hop(17, seven_big);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(outcome(decode_option_data(std::span(*ok).subspan(6, 254))), "ok");
}

}  // namespace
}  // namespace ioam
