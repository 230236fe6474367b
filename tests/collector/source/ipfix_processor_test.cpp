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

// A UDP exporter as the listener reports it.
struct Udp {
    UdpPeer peer;
    std::string address;
};

Udp udp(std::uint8_t last_octet, std::uint16_t port = 5000) {
    Udp u{{}, "10.0.0." + std::to_string(last_octet)};
    u.peer.address[15] = last_octet;
    u.peer.port = port;
    return u;
}

void send(IpfixProcessor& p, const Udp& u, const std::vector<std::uint8_t>& m,
          std::uint64_t now_ns) {
    p.process_udp(u.peer, u.address, m, now_ns);
}

class ProcessorTest : public ::testing::Test {
  protected:
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
    const Udp s = udp(1);
    send(proc, s, tmpl_and_data(5, 0, 100, 3), kSec);
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

// The observer counts a message's data records in one call (its series lookups are per call);
// a message without data records is not counted, one whose set is unknown counts the others.
TEST_F(ProcessorTest, RecordsAreCountedOncePerMessage) {
    const Udp s = udp(1);
    MessageBuilder b(5, 0);
    b.begin_set(2).template_record(256, {{8, 4}, {12, 4}});
    b.begin_set(256).u32(1).u32(0).u32(2).u32(0).u32(3).u32(0);
    b.begin_set(256).u32(4).u32(0).u32(5).u32(0);
    b.begin_set(300).u32(6).u32(0);  // no such template
    send(proc, s, b.finish(), kSec);
    MessageBuilder t(5, 5);
    t.begin_set(2).template_record(257, {{8, 4}});
    send(proc, s, t.finish(), kSec);
    send(proc, s, data_only(5, 5, 1), kSec);
    EXPECT_EQ(rec.records.size(), 6u);
    EXPECT_EQ(rec.records_counted, (std::vector<std::size_t>{5, 1}));
    EXPECT_EQ(rec.messages, 3);
}

TEST_F(ProcessorTest, EndedSessionsStayVisibleAndBounded) {
    config.max_sessions = 2;
    IpfixProcessor small{config, role_known, rec, rec};
    for (std::uint8_t i = 1; i <= 3; ++i) {
        const SessionId s = *small.open_tcp("10.0.0." + std::to_string(i), 4000);
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
    const Udp a = udp(1);
    const Udp b = udp(2);
    send(proc, a, tmpl_and_data(1, 0, 0, 1), kSec);
    send(proc, b, data_only(1, 0, 1), kSec);  // same template id, other exporter
    send(proc, a, data_only(2, 0, 1), kSec);  // same exporter, other domain
    EXPECT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.errors["10.0.0.2/unknown_template"], 1);
    EXPECT_EQ(rec.errors["10.0.0.1/unknown_template"], 1);
    send(proc, a, data_only(1, 1, 2), kSec);
    EXPECT_EQ(rec.records.size(), 3u);
}

TEST_F(ProcessorTest, UdpTemplatesExpire) {
    config.udp_template_lifetime_ns = 10 * kSec;
    IpfixProcessor p(config, role_known, rec, rec);
    const Udp s{{}, "::"};
    send(p, s, tmpl_and_data(1, 0, 0, 1), kSec);
    send(p, s, data_only(1, 1, 1), 5 * kSec);
    EXPECT_EQ(rec.records.size(), 2u);
    send(p, s, data_only(1, 2, 1), 20 * kSec);
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

    const Udp u = udp(3);
    send(proc, u, tmpl_and_data(1, 0, 0, 1), kSec);
    MessageBuilder w2(1, 1);
    w2.begin_set(2).u16(256).u16(0);
    send(proc, u, w2.finish(), kSec);
    send(proc, u, data_only(1, 1, 1), kSec);
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

// What the operator log reports (collector/oplog): a template sent again with the same fields
// is a refresh; other fields under its id, a redefinition; a withdrawal counts each template.
TEST_F(ProcessorTest, TemplatesRedefinedAndWithdrawnAreCounted) {
    const SessionId t = *proc.open_tcp("192.0.2.1", 4000);
    const auto templates = [&](std::initializer_list<test::Field> fields) {
        MessageBuilder b(1, 0);
        b.begin_set(2).template_record(256, fields).template_record(257, {{8, 4}});
        proc.process(t, b.finish(), kSec);
    };
    templates({{8, 4}});
    templates({{8, 4}});
    EXPECT_EQ(proc.exporters()[0].templates_redefined, 0u);
    templates({{8, 4}, {12, 4}});
    templates({{12, 4}});
    EXPECT_EQ(proc.exporters()[0].templates_redefined, 2u);
    MessageBuilder w(1, 0);
    w.begin_set(2).u16(2).u16(0);
    proc.process(t, w.finish(), kSec);
    EXPECT_EQ(proc.exporters()[0].templates_withdrawn, 2u);
    EXPECT_EQ(proc.exporters()[0].templates, 0u);
}

TEST_F(ProcessorTest, OptionsTemplatesAccepted) {
    const Udp s = udp(1);
    MessageBuilder b(1, 0);
    b.begin_set(3).template_record(300, {{149, 4}, {41, 8}}, 1);
    b.begin_set(300).u32(1).u64(99);
    send(proc, s, b.finish(), kSec);
    ASSERT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.records[0].values[1], 99u);
    EXPECT_EQ(proc.exporters()[0].options_records, 1u);
    EXPECT_TRUE(rec.errors.empty());
}

TEST_F(ProcessorTest, UnknownFieldsCountedNotFatal) {
    const Udp s = udp(1);
    MessageBuilder b(1, 0);
    b.begin_set(2).template_record(256, {{999, 4}, {8, 4}});
    b.begin_set(256).u32(1).u32(2);
    send(proc, s, b.finish(), kSec);
    EXPECT_EQ(rec.unknown_fields, 1u);
    EXPECT_EQ(rec.records.size(), 1u);
}

TEST_F(ProcessorTest, SequenceGapsReorderingAndRestarts) {
    const Udp s = udp(1);
    send(proc, s, tmpl_and_data(1, 0, 0, 2), kSec);  // next expected: 2
    send(proc, s, data_only(1, 2, 3), kSec);         // in order, next 5
    send(proc, s, data_only(1, 9, 1), kSec);         // 4 lost, next 10
    EXPECT_EQ(rec.lost, 4u);
    send(proc, s, data_only(1, 5, 4), kSec);  // the late message: reordered
    EXPECT_EQ(rec.reordered, 1u);
    EXPECT_EQ(rec.lost, 4u);
    send(proc, s, data_only(1, 10, 1), kSec);  // still in order after it
    EXPECT_EQ(rec.lost, 4u);
    send(proc, s, data_only(1, 4000000000u, 1), kSec);  // far backward: restart
    EXPECT_EQ(rec.restarts, 1u);
    send(proc, s, data_only(1, 4000000001u, 1), kSec);
    EXPECT_EQ(rec.lost, 4u);
    EXPECT_EQ(proc.exporters()[0].lost, 4u);
    EXPECT_EQ(proc.exporters()[0].reordered, 1u);
    EXPECT_EQ(proc.exporters()[0].restarts, 1u);
}

TEST_F(ProcessorTest, SequenceWrapsAround) {
    const Udp s = udp(1);
    send(proc, s, tmpl_and_data(1, 0xfffffffeu, 0, 3), kSec);
    send(proc, s, data_only(1, 1, 1), kSec);
    EXPECT_EQ(rec.lost, 0u);
    EXPECT_EQ(rec.restarts, 0u);
}

TEST_F(ProcessorTest, MalformedMessageDisturbsNoOtherExporter) {
    const Udp bad = udp(1);
    const Udp good = udp(2);
    send(proc, good, tmpl_and_data(1, 0, 0, 1), kSec);
    send(proc, bad, tmpl_and_data(1, 0, 0, 1), kSec);

    auto broken = data_only(1, 1, 1);
    broken[kMessageHeaderLen + 3] = 250;  // set length beyond the message
    send(proc, bad, broken, kSec);
    auto badver = data_only(1, 1, 1);
    badver[1] = 5;
    send(proc, bad, badver, kSec);
    MessageBuilder lowid(1, 1);
    lowid.begin_set(2).template_record(100, {{8, 4}});
    send(proc, bad, lowid.finish(), kSec);
    MessageBuilder varlen(1, 1);
    varlen.begin_set(2).template_record(260, {{8, 4}, {82, kVariableLength}});
    varlen.begin_set(260).u32(1).u8(200).u32(0);
    send(proc, bad, varlen.finish(), kSec);

    send(proc, good, data_only(1, 1, 1), kSec);
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
    const SessionId s = *p.open_tcp("a", 4000);
    // Only TCP sessions hold the table: nothing can be evicted.
    EXPECT_FALSE(p.open_tcp("b", 4001).has_value());
    send(p, Udp{{}, "c"}, tmpl_and_data(1, 0, 0, 1), kSec);
    EXPECT_EQ(rec.errors["b/too_many_sessions"], 1);
    EXPECT_EQ(rec.errors["c/too_many_sessions"], 1);
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
    const Udp s{{}, "x"};
    send(p, s, tmpl_and_data(1, 0, 0, 1), kSec);
    p.expire(5 * kSec);
    ASSERT_EQ(p.exporters().size(), 1u);
    EXPECT_EQ(p.exporters()[0].ended_ns, 0u);
    p.expire(20 * kSec);
    ASSERT_EQ(p.exporters().size(), 1u);  // still shown, as ended
    EXPECT_EQ(p.exporters()[0].ended_ns, 20 * kSec);
    EXPECT_EQ(p.session_counts().udp, 0u);
    send(p, s, data_only(1, 1, 1), 21 * kSec);  // a new session: its templates are gone
    EXPECT_EQ(rec.errors["x/unknown_template"], 1);
    ASSERT_EQ(p.exporters().size(), 2u);
    EXPECT_NE(p.exporters()[0].session.id, p.exporters()[1].session.id);
}

// Issue 12.3: one junk datagram per source port used to take a session slot for an hour.
TEST_F(ProcessorTest, InvalidDatagramsCreateNoSession) {
    config.max_sessions = 4;
    IpfixProcessor p(config, role_known, rec, rec);
    for (std::uint16_t port = 1; port <= 2000; ++port) {
        const Udp junk = udp(static_cast<std::uint8_t>(port % 200), port);
        send(p, junk, {0x00}, kSec);        // one octet: too short
        send(p, junk, {0x00, 0x05}, kSec);  // not version 10
        auto bad_sets = data_only(1, 0, 1);
        bad_sets[kMessageHeaderLen + 3] = 200;  // set length past the message
        send(p, junk, bad_sets, kSec);
    }
    EXPECT_EQ(p.session_counts().udp, 0u);
    EXPECT_TRUE(p.exporters().empty());
    EXPECT_EQ(rec.errors["10.0.0.7/bad_length"], 10);  // counted against the address
    EXPECT_EQ(rec.errors["10.0.0.7/bad_version"], 10);
    EXPECT_EQ(rec.errors["10.0.0.7/set_overrun"], 10);
    const Udp good = udp(250);
    send(p, good, tmpl_and_data(1, 0, 0, 1), kSec);
    EXPECT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(p.session_counts().udp, 1u);
}

// The reference Go exporter opens a new source port for every message: one session keyed by
// address keeps its templates, and more messages than max_sessions never lock it out.
TEST_F(ProcessorTest, NewSourcePortPerMessageKeepsTemplatesAndOneSession) {
    config.max_sessions = 8;
    IpfixProcessor p(config, role_known, rec, rec);
    send(p, udp(1, 40000), tmpl_and_data(1, 0, 0, 1), kSec);
    for (std::uint16_t i = 1; i <= 3000; ++i) {
        send(p, udp(1, static_cast<std::uint16_t>(40000 + i)), data_only(1, i, 1), kSec);
    }
    EXPECT_EQ(rec.records.size(), 3001u);
    EXPECT_TRUE(rec.errors.empty());
    EXPECT_EQ(rec.lost, 0u);
    EXPECT_EQ(p.session_counts().udp, 1u);
    ASSERT_EQ(p.exporters().size(), 1u);
    EXPECT_EQ(p.exporters()[0].session.port, 43000);  // the latest port is shown
}

TEST_F(ProcessorTest, FullTableEvictsLeastRecentlyUsedUdpSession) {
    config.max_sessions = 3;
    IpfixProcessor p(config, role_known, rec, rec);
    const SessionId tcp = *p.open_tcp("192.0.2.9", 4000);
    send(p, udp(1), tmpl_and_data(1, 0, 0, 1), kSec);
    send(p, udp(2), tmpl_and_data(1, 0, 0, 1), 2 * kSec);
    send(p, udp(1), data_only(1, 1, 1), 3 * kSec);         // 1 is now the most recent
    send(p, udp(3), tmpl_and_data(1, 0, 0, 1), 4 * kSec);  // evicts 2, not the TCP session
    EXPECT_TRUE(rec.errors.empty());
    const SessionCounts counts = p.session_counts();
    EXPECT_EQ(counts.udp, 2u);
    EXPECT_EQ(counts.tcp, 1u);
    EXPECT_EQ(counts.udp_evicted, 1u);
    send(p, udp(1), data_only(1, 2, 1), 5 * kSec);
    EXPECT_TRUE(rec.errors.empty());
    const auto evicted = p.exporters().back();  // ended, shown at its last message
    EXPECT_EQ(evicted.session.address, "10.0.0.2");
    EXPECT_EQ(evicted.ended_ns, 2 * kSec);
    send(p, udp(2), data_only(1, 1, 1), 5 * kSec);  // back, as a new session
    EXPECT_EQ(rec.errors["10.0.0.2/unknown_template"], 1);
    EXPECT_EQ(p.session_counts().udp_evicted, 2u);
    p.process(tcp, tmpl_and_data(1, 0, 0, 1), 6 * kSec);
    EXPECT_EQ(rec.records.size(), 6u);
}

// Issue 12.5: now - refreshed wrapped when the wall clock stepped back, expiring everything.
TEST_F(ProcessorTest, BackwardClockStepExpiresNothing) {
    config.udp_template_lifetime_ns = 1800 * kSec;
    config.udp_session_idle_ns = 3600 * kSec;
    IpfixProcessor p(config, role_known, rec, rec);
    send(p, udp(1), tmpl_and_data(1, 0, 0, 1), 100'000 * kSec);
    send(p, udp(1), data_only(1, 1, 1), 99'000 * kSec);  // the clock went back 1000 s
    p.expire(99'000 * kSec);
    send(p, udp(1), data_only(1, 2, 1), 99'001 * kSec);
    EXPECT_EQ(rec.records.size(), 3u);
    EXPECT_TRUE(rec.errors.empty());
    EXPECT_EQ(p.session_counts().udp, 1u);
    EXPECT_EQ(p.exporters()[0].templates, 1u);
}

// Issue 12.6: one jump of the sequence number added 2^31 - 1 lost records.
TEST_F(ProcessorTest, HugeForwardSequenceJumpIsARestartNotALoss) {
    const Udp s = udp(1);
    send(proc, s, tmpl_and_data(1, 0, 0, 1), kSec);
    send(proc, s, data_only(1, 0x7fffffffu, 1), kSec);
    EXPECT_EQ(rec.lost, 0u);
    EXPECT_EQ(rec.restarts, 1u);
    send(proc, s, data_only(1, 0x80000000u + 5, 1), kSec);  // a real gap after it
    EXPECT_EQ(rec.lost, 5u);
    send(proc, s, data_only(1, 0x80000006u + config.max_sequence_gap, 1), kSec);
    EXPECT_EQ(rec.lost, 5u + config.max_sequence_gap);  // the largest gap still a loss
}

// Issue 12.2: per-session template memory is bounded in octets, not only in counts.
TEST_F(ProcessorTest, TemplateMemoryIsBoundedPerSession) {
    config.max_template_bytes_per_session = 64 * 1024;
    IpfixProcessor p(config, role_known, rec, rec);
    const Udp s = udp(1);
    std::size_t accepted = 0;
    for (std::uint16_t id = 256; id < 356; ++id) {
        MessageBuilder b(id % 4, 0);  // spread over domains: the budget is per session
        b.begin_set(2).u16(id).u16(500);
        for (int f = 0; f < 500; ++f) {
            b.u16(8).u16(4);
        }
        send(p, s, b.finish(), kSec);
    }
    for (const auto& e : p.exporters()) {
        accepted += e.templates;
    }
    // 500 fields cost ~6 KB each: ten fit in 64 KiB.
    EXPECT_GE(accepted, 9u);
    EXPECT_LE(accepted, 11u);
    EXPECT_EQ(rec.errors["10.0.0.1/template_memory"], static_cast<int>(100 - accepted));
    // Replacing a template within the budget still works.
    MessageBuilder again(0, 1);
    again.begin_set(2).template_record(256, {{8, 4}});
    send(p, s, again.finish(), kSec);
    EXPECT_EQ(rec.errors["10.0.0.1/template_memory"], static_cast<int>(100 - accepted));
    // The defaults bound all template memory to max_sessions * budget.
    const ProcessorConfig defaults;
    EXPECT_LE(defaults.max_sessions * defaults.max_template_bytes_per_session, 256u << 20);
}

}  // namespace
}  // namespace ioam::collector::source
