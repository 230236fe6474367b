#include "collector/source/ipfix_parser.hpp"

#include <gtest/gtest.h>

#include "tests/collector/ipfix_builder.hpp"

namespace ioam::collector::source {
namespace {

using test::MessageBuilder;

std::uint8_t role_all(std::uint32_t, std::uint16_t id) noexcept {
    return id == 999 ? 0 : 1;
}

TEST(IpfixParser, HeaderAndSets) {
    MessageBuilder b(7, 42, 1234);
    b.begin_set(2).template_record(256, {{8, 4}, {12, 4}}).begin_set(256).u32(1).u32(2);
    const auto msg = b.finish();
    auto h = parse_header(msg);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->domain, 7u);
    EXPECT_EQ(h->sequence, 42u);
    EXPECT_EQ(h->export_time, 1234u);
    std::vector<SetView> sets;
    ASSERT_TRUE(split_sets(msg, sets));
    ASSERT_EQ(sets.size(), 2u);
    EXPECT_EQ(sets[0].id, 2);
    EXPECT_EQ(sets[1].id, 256);
    EXPECT_EQ(sets[1].body.size(), 8u);
}

TEST(IpfixParser, RejectsBadVersionAndLength) {
    MessageBuilder b(1);
    auto msg = b.finish();
    msg[1] = 9;
    EXPECT_EQ(parse_header(msg).error(), Errc::bad_ipfix);
    msg[1] = 10;
    msg.push_back(0);  // one octet more than the header announces
    EXPECT_EQ(parse_header(msg).error(), Errc::bad_header_length);
    EXPECT_EQ(parse_header(std::span(msg).first(8)).error(), Errc::truncated);
}

TEST(IpfixParser, SetBeyondMessageIsRejected) {
    MessageBuilder b(1);
    b.begin_set(256).u32(1);
    auto msg = b.finish();
    msg[kMessageHeaderLen + 3] = 200;  // set length past the end
    std::vector<SetView> sets;
    EXPECT_FALSE(split_sets(msg, sets));
    msg[kMessageHeaderLen + 3] = 2;  // shorter than a set header
    EXPECT_FALSE(split_sets(msg, sets));
}

TEST(IpfixParser, TemplatesWithEnterpriseVarlenAndUnknownFields) {
    MessageBuilder b(1);
    b.begin_set(2).template_record(300, {{1, 2, 10383}, {999, 4}, {14, kVariableLength, 10383}});
    const auto msg = b.finish();
    std::vector<SetView> sets;
    ASSERT_TRUE(split_sets(msg, sets));
    std::vector<TemplateDef> defs;
    ASSERT_TRUE(parse_template_set(sets[0], {}, role_all, defs));
    ASSERT_EQ(defs.size(), 1u);
    const Template& t = *defs[0].tmpl;
    EXPECT_EQ(t.id, 300);
    ASSERT_EQ(t.fields.size(), 3u);
    EXPECT_EQ(t.fields[0].pen, 10383u);
    EXPECT_EQ(t.fields[0].id, 1);
    EXPECT_EQ(t.fields[1].pen, 0u);
    EXPECT_EQ(t.unknown_fields, 1u);
    EXPECT_EQ(t.min_record_len, 2u + 4u + 1u);
    EXPECT_EQ(t.roles, 0b11u);  // roles 0 (the unknown field) and 1
    EXPECT_TRUE(t.has_role(1));
    EXPECT_FALSE(t.has_role(2));
    EXPECT_FALSE(t.has_role(200));
}

TEST(IpfixParser, OptionsTemplateAndWithdrawals) {
    MessageBuilder b(1);
    b.begin_set(3).template_record(400, {{149, 4}, {41, 8}}, 1).u16(401).u16(0);
    const auto msg = b.finish();
    std::vector<SetView> sets;
    ASSERT_TRUE(split_sets(msg, sets));
    std::vector<TemplateDef> defs;
    ASSERT_TRUE(parse_template_set(sets[0], {}, role_all, defs));
    ASSERT_EQ(defs.size(), 2u);
    EXPECT_TRUE(defs[0].tmpl->options());
    EXPECT_EQ(defs[0].tmpl->scope_count, 1);
    EXPECT_TRUE(defs[1].withdrawal);
    EXPECT_EQ(defs[1].id, 401);
}

TEST(IpfixParser, RejectsBadTemplates) {
    std::vector<TemplateDef> defs;
    std::vector<SetView> sets;
    {
        MessageBuilder b(1);
        b.begin_set(2).template_record(255, {{8, 4}});  // id < 256
        const auto msg = b.finish();
        ASSERT_TRUE(split_sets(msg, sets));
        EXPECT_EQ(parse_template_set(sets[0], {}, role_all, defs).error(), Errc::bad_ipfix);
    }
    {
        MessageBuilder b(1);
        std::vector<test::Field> many(2000, test::Field{8, 4});
        b.begin_set(2).template_record(256, many);
        const auto msg = b.finish();
        ASSERT_TRUE(split_sets(msg, sets));
        EXPECT_EQ(parse_template_set(sets[0], {.max_fields = 512}, role_all, defs).error(),
                  Errc::too_large);
    }
    {
        MessageBuilder b(1);
        b.begin_set(2).u16(256).u16(3).u16(8).u16(4);  // announces 3 fields, carries 1
        const auto msg = b.finish();
        ASSERT_TRUE(split_sets(msg, sets));
        EXPECT_EQ(parse_template_set(sets[0], {}, role_all, defs).error(), Errc::truncated);
    }
    {
        MessageBuilder b(1);
        b.begin_set(3).template_record(300, {{8, 4}}, 2);  // scope count > field count
        const auto msg = b.finish();
        ASSERT_TRUE(split_sets(msg, sets));
        EXPECT_EQ(parse_template_set(sets[0], {}, role_all, defs).error(), Errc::bad_ipfix);
    }
}

TEST(IpfixParser, WalkRecordsWithVariableLengthAndPadding) {
    Template t;
    t.fields = {{0, 1, 4, 1}, {0, 2, kVariableLength, 1}};
    t.min_record_len = 5;
    MessageBuilder b(1);
    std::vector<std::uint8_t> big(300, 0xab);
    b.u32(11).varlen(std::vector<std::uint8_t>{1, 2, 3}).u32(12).varlen(big).u16(0);  // 2 pad
    auto msg = b.finish();
    const Bytes data = Bytes(msg).subspan(kMessageHeaderLen);
    std::vector<Bytes> values;
    std::vector<std::pair<std::uint64_t, std::size_t>> seen;
    auto n = walk_records(t, data, values, [&](std::span<const Bytes> v) {
        seen.emplace_back(load_uint(v[0]), v[1].size());
    });
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2u);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], std::make_pair(std::uint64_t{11}, std::size_t{3}));
    EXPECT_EQ(seen[1], std::make_pair(std::uint64_t{12}, std::size_t{300}));
}

TEST(IpfixParser, WalkRecordsVariableLengthPastTheEnd) {
    Template t;
    t.fields = {{0, 1, 4, 1}, {0, 2, kVariableLength, 1}};
    t.min_record_len = 5;
    MessageBuilder b(1);
    b.u32(11).u8(50).u32(0);  // announces 50 octets, has 4
    auto msg = b.finish();
    std::vector<Bytes> values;
    std::size_t delivered = 0;
    auto n = walk_records(t, Bytes(msg).subspan(kMessageHeaderLen), values,
                          [&](std::span<const Bytes>) { ++delivered; });
    EXPECT_EQ(n.error(), Errc::truncated);
    EXPECT_EQ(delivered, 0u);
}

}  // namespace
}  // namespace ioam::collector::source
