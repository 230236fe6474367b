#include "collector/source/ipfix_processor.hpp"

#include <gtest/gtest.h>

#include "tests/collector/ipfix_builder.hpp"
#include "tests/collector/source/recording_handler.hpp"

namespace ioam::collector::source {
namespace {

using test::MessageBuilder;

std::uint8_t role_known(std::uint32_t, std::uint16_t id) noexcept {
    return id == 999 ? 0 : 1;
}

constexpr std::uint64_t kSec = 1'000'000'000;

class ProcessorTest : public ::testing::Test {
  protected:
    SessionId udp(std::uint8_t last_octet, std::uint16_t port = 5000) {
        UdpPeer p;
        p.address[15] = last_octet;
        p.port = port;
        return *proc.udp_session(p, "10.0.0." + std::to_string(last_octet));
    }
    static std::vector<std::uint8_t> tmpl_and_data(std::uint32_t domain, std::uint32_t seq,
                                                   std::uint32_t first_value, int records) {
        MessageBuilder b(domain, seq);
        b.begin_set(2).template_record(256, {{8, 4}, {12, 4}});
        b.begin_set(256);
        for (int i = 0; i < records; ++i) {
            b.u32(first_value + i).u32(0);
        }
        return b.finish();
    }
    static std::vector<std::uint8_t> data_only(std::uint32_t domain, std::uint32_t seq,
                                               int records) {
        MessageBuilder b(domain, seq);
        b.begin_set(256);
        for (int i = 0; i < records; ++i) {
            b.u32(i).u32(0);
        }
        return b.finish();
    }

    test::RecordingHandler rec;
    ProcessorConfig config;
    IpfixProcessor proc{config, role_known, rec, rec};
};

TEST_F(ProcessorTest, TemplateThenDataSameMessage) {
    const SessionId s = udp(1);
    proc.process(s, tmpl_and_data(5, 0, 100, 3), kSec);
    ASSERT_EQ(rec.records.size(), 3u);
    EXPECT_EQ(rec.records[0].values[0], 100u);
    EXPECT_EQ(rec.records[2].values[0], 102u);
    EXPECT_EQ(rec.records[0].domain, 5u);
    EXPECT_EQ(rec.records[0].exporter, "10.0.0.1");
    const auto ex = proc.exporters();
    ASSERT_EQ(ex.size(), 1u);
    EXPECT_EQ(ex[0].records, 3u);
    EXPECT_EQ(ex[0].templates, 1u);
    EXPECT_EQ(ex[0].messages, 1u);
}

TEST_F(ProcessorTest, EndedSessionsStayVisibleAndBounded) {
    config.max_sessions = 2;
    IpfixProcessor small{config, role_known, rec, rec};
    for (std::uint8_t i = 1; i <= 3; ++i) {
        UdpPeer p;
        p.address[15] = i;
        const SessionId s = *small.udp_session(p, "10.0.0." + std::to_string(i));
        small.process(s, tmpl_and_data(7, 0, 0, 1), kSec);
        small.close_session(s, i * kSec);
    }
    const auto ex = small.exporters();
    ASSERT_EQ(ex.size(), 2u);                      // the oldest ended one was dropped
    EXPECT_EQ(ex[0].session.address, "10.0.0.3");  // most recent first
    EXPECT_EQ(ex[0].ended_ns, 3 * kSec);
    EXPECT_EQ(ex[1].session.address, "10.0.0.2");
    EXPECT_EQ(ex[1].records, 1u);
}

TEST_F(ProcessorTest, TemplatesAreIsolatedBySessionAndDomain) {
    const SessionId a = udp(1);
    const SessionId b = udp(2);
    proc.process(a, tmpl_and_data(1, 0, 0, 1), kSec);
    proc.process(b, data_only(1, 0, 1), kSec);  // same template id, other exporter
    proc.process(a, data_only(2, 0, 1), kSec);  // same exporter, other domain
    EXPECT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.errors["10.0.0.2/unknown_template"], 1);
    EXPECT_EQ(rec.errors["10.0.0.1/unknown_template"], 1);
    proc.process(a, data_only(1, 1, 2), kSec);
    EXPECT_EQ(rec.records.size(), 3u);
}

TEST_F(ProcessorTest, UdpTemplatesExpire) {
    config.udp_template_lifetime_ns = 10 * kSec;
    IpfixProcessor p(config, role_known, rec, rec);
    UdpPeer peer;
    const SessionId s = *p.udp_session(peer, "::");
    p.process(s, tmpl_and_data(1, 0, 0, 1), kSec);
    p.process(s, data_only(1, 1, 1), 5 * kSec);
    EXPECT_EQ(rec.records.size(), 2u);
    p.process(s, data_only(1, 2, 1), 20 * kSec);
    EXPECT_EQ(rec.records.size(), 2u);
    EXPECT_EQ(rec.errors[":://unknown_template"], 0);
    EXPECT_EQ(rec.errors["::/unknown_template"], 1);
}

TEST_F(ProcessorTest, TcpWithdrawalRemovesTemplateUdpWithdrawalIsAnError) {
    const SessionId t = *proc.open_tcp("192.0.2.1", 4000);
    proc.process(t, tmpl_and_data(1, 0, 0, 1), kSec);
    MessageBuilder w(1, 1);
    w.begin_set(2).u16(256).u16(0);
    proc.process(t, w.finish(), kSec);
    proc.process(t, data_only(1, 1, 1), kSec);
    EXPECT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.errors["192.0.2.1/unknown_template"], 1);

    const SessionId u = udp(3);
    proc.process(u, tmpl_and_data(1, 0, 0, 1), kSec);
    MessageBuilder w2(1, 1);
    w2.begin_set(2).u16(256).u16(0);
    proc.process(u, w2.finish(), kSec);
    proc.process(u, data_only(1, 1, 1), kSec);
    EXPECT_EQ(rec.errors["10.0.0.3/withdrawal_on_udp"], 1);
    EXPECT_EQ(rec.records.size(), 3u);
}

TEST_F(ProcessorTest, WithdrawAllTemplatesOverTcp) {
    const SessionId t = *proc.open_tcp("192.0.2.1", 4000);
    MessageBuilder b(1, 0);
    b.begin_set(2).template_record(256, {{8, 4}}).template_record(257, {{8, 4}});
    proc.process(t, b.finish(), kSec);
    EXPECT_EQ(proc.exporters()[0].templates, 2u);
    MessageBuilder w(1, 0);
    w.begin_set(2).u16(2).u16(0);
    proc.process(t, w.finish(), kSec);
    EXPECT_EQ(proc.exporters()[0].templates, 0u);
}

TEST_F(ProcessorTest, OptionsTemplatesAccepted) {
    const SessionId s = udp(1);
    MessageBuilder b(1, 0);
    b.begin_set(3).template_record(300, {{149, 4}, {41, 8}}, 1);
    b.begin_set(300).u32(1).u64(99);
    proc.process(s, b.finish(), kSec);
    ASSERT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.records[0].values[1], 99u);
    EXPECT_EQ(proc.exporters()[0].options_records, 1u);
    EXPECT_TRUE(rec.errors.empty());
}

TEST_F(ProcessorTest, UnknownFieldsCountedNotFatal) {
    const SessionId s = udp(1);
    MessageBuilder b(1, 0);
    b.begin_set(2).template_record(256, {{999, 4}, {8, 4}});
    b.begin_set(256).u32(1).u32(2);
    proc.process(s, b.finish(), kSec);
    EXPECT_EQ(rec.unknown_fields, 1u);
    EXPECT_EQ(rec.records.size(), 1u);
}

TEST_F(ProcessorTest, SequenceGapsReorderingAndRestarts) {
    const SessionId s = udp(1);
    proc.process(s, tmpl_and_data(1, 0, 0, 2), kSec);  // next expected: 2
    proc.process(s, data_only(1, 2, 3), kSec);         // in order, next 5
    proc.process(s, data_only(1, 9, 1), kSec);         // 4 lost, next 10
    EXPECT_EQ(rec.lost, 4u);
    proc.process(s, data_only(1, 5, 4), kSec);  // the late message: reordered
    EXPECT_EQ(rec.reordered, 1u);
    EXPECT_EQ(rec.lost, 4u);
    proc.process(s, data_only(1, 10, 1), kSec);  // still in order after it
    EXPECT_EQ(rec.lost, 4u);
    proc.process(s, data_only(1, 4000000000u, 1), kSec);  // far backward: restart
    EXPECT_EQ(rec.restarts, 1u);
    proc.process(s, data_only(1, 4000000001u, 1), kSec);
    EXPECT_EQ(rec.lost, 4u);
    EXPECT_EQ(proc.exporters()[0].lost, 4u);
    EXPECT_EQ(proc.exporters()[0].reordered, 1u);
    EXPECT_EQ(proc.exporters()[0].restarts, 1u);
}

TEST_F(ProcessorTest, SequenceWrapsAround) {
    const SessionId s = udp(1);
    proc.process(s, tmpl_and_data(1, 0xfffffffeu, 0, 3), kSec);
    proc.process(s, data_only(1, 1, 1), kSec);
    EXPECT_EQ(rec.lost, 0u);
    EXPECT_EQ(rec.restarts, 0u);
}

TEST_F(ProcessorTest, MalformedMessageDisturbsNoOtherExporter) {
    const SessionId bad = udp(1);
    const SessionId good = udp(2);
    proc.process(good, tmpl_and_data(1, 0, 0, 1), kSec);
    proc.process(bad, tmpl_and_data(1, 0, 0, 1), kSec);

    auto broken = data_only(1, 1, 1);
    broken[kMessageHeaderLen + 3] = 250;  // set length beyond the message
    proc.process(bad, broken, kSec);
    auto badver = data_only(1, 1, 1);
    badver[1] = 5;
    proc.process(bad, badver, kSec);
    MessageBuilder lowid(1, 1);
    lowid.begin_set(2).template_record(100, {{8, 4}});
    proc.process(bad, lowid.finish(), kSec);
    MessageBuilder varlen(1, 1);
    varlen.begin_set(2).template_record(260, {{8, 4}, {82, kVariableLength}});
    varlen.begin_set(260).u32(1).u8(200).u32(0);
    proc.process(bad, varlen.finish(), kSec);

    proc.process(good, data_only(1, 1, 1), kSec);
    EXPECT_EQ(rec.errors["10.0.0.1/set_overrun"], 1);
    EXPECT_EQ(rec.errors["10.0.0.1/bad_version"], 1);
    EXPECT_EQ(rec.errors["10.0.0.1/bad_template"], 1);
    EXPECT_EQ(rec.errors["10.0.0.1/record_overrun"], 1);
    int good_records = 0;
    for (const auto& r : rec.records) {
        good_records += r.exporter == "10.0.0.2" ? 1 : 0;
    }
    EXPECT_EQ(good_records, 2);
    for (const auto& [key, count] : rec.errors) {
        EXPECT_EQ(key.rfind("10.0.0.2", 0), std::string::npos) << key;
    }
}

TEST_F(ProcessorTest, BoundedTablesCountDrops) {
    config.max_sessions = 1;
    config.max_templates_per_domain = 1;
    config.max_domains_per_session = 1;
    IpfixProcessor p(config, role_known, rec, rec);
    UdpPeer a;
    UdpPeer b;
    b.port = 1;
    const SessionId s = *p.udp_session(a, "a");
    EXPECT_FALSE(p.udp_session(b, "b").has_value());
    EXPECT_EQ(rec.errors["b/too_many_sessions"], 1);
    MessageBuilder m(1, 0);
    m.begin_set(2).template_record(256, {{8, 4}}).template_record(257, {{8, 4}});
    p.process(s, m.finish(), kSec);
    EXPECT_EQ(rec.errors["a/too_many_templates"], 1);
    p.process(s, data_only(2, 0, 1), kSec);
    EXPECT_EQ(rec.errors["a/too_many_domains"], 1);
}

TEST_F(ProcessorTest, IdleUdpSessionsExpire) {
    config.udp_session_idle_ns = 10 * kSec;
    IpfixProcessor p(config, role_known, rec, rec);
    UdpPeer peer;
    const SessionId s = *p.udp_session(peer, "x");
    p.process(s, tmpl_and_data(1, 0, 0, 1), kSec);
    p.expire(5 * kSec);
    ASSERT_EQ(p.exporters().size(), 1u);
    EXPECT_EQ(p.exporters()[0].ended_ns, 0u);
    p.expire(20 * kSec);
    ASSERT_EQ(p.exporters().size(), 1u);  // still shown, as ended
    EXPECT_EQ(p.exporters()[0].ended_ns, 20 * kSec);
    EXPECT_NE(*p.udp_session(peer, "x"), s);
}

}  // namespace
}  // namespace ioam::collector::source
