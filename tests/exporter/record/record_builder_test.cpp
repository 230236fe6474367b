#include "exporter/record/record_builder.hpp"
#include "exporter/record/ipfix_header.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/ipfix/record_layouts.hpp"
#include "exporter/decode/event_decoder.hpp"
#include "tests/exporter/support/ipfix_reader.hpp"
#include "tests/exporter/support/nl_message.hpp"

namespace ioam::exporter::record {
namespace {

using test::FieldKey;
using test::IpfixMessage;
using test::IpfixReader;
using test::IpfixRecord;

constexpr std::uint32_t kPen = 10383;
const FieldKey kTime{0, 325}, kDomain{0, 149}, kStl{0, 292};
const FieldKey kNs{kPen, 0}, kHopLim{kPen, 1}, kNodeId{kPen, 2}, kIngress{kPen, 3},
    kEgress{kPen, 4}, kTsSec{kPen, 5}, kTsFrac{kPen, 6}, kNsData{kPen, 7}, kQueue{kPen, 8},
    kFlowId{kPen, 15}, kSeq{kPen, 16}, kTransit{kPen, 17}, kChecksum{kPen, 18},
    kTraceType{kPen, 20}, kTraceData{kPen, 21}, kNodeLen{kPen, 22}, kFlags{kPen, 23},
    kHopCount{kPen, 25}, kDexFlags{kPen, 26}, kExtFlags{kPen, 27};

constexpr std::uint64_t kTimeNs = 1'700'000'000'500'000'000ull;

IoamTrace captured_trace() {
    decode::Event ev;
    auto st = decode::decode_event(test::captured_trace_event().bytes(), {kTimeNs, 9}, ev);
    EXPECT_TRUE(st.ok());
    return std::get<IoamTrace>(ev);
}

IoamTrace bit0_trace(std::uint32_t node_id, std::size_t hops) {
    IoamTrace t;
    t.observation_time_ns = kTimeNs;
    t.observation_domain = 9;
    t.namespace_id = 5;
    t.trace_type = 0x800000;
    t.node_len = 1;
    for (std::size_t i = 0; i < hops; ++i) {
        IoamNode n;
        n.hop_limit = static_cast<std::uint8_t>(64 - i);
        n.node_id = node_id + static_cast<std::uint32_t>(i);
        t.nodes.push_back(n);
        t.raw_data.insert(t.raw_data.end(),
                          {*n.hop_limit, 0, 0, static_cast<std::uint8_t>(*n.node_id)});
    }
    return t;
}

// Collects every message a builder hands on.
struct Collected {
    std::vector<std::vector<std::uint8_t>> messages;
    MessageHandler handler() {
        return
            [this](std::span<const std::uint8_t> m) { messages.emplace_back(m.begin(), m.end()); };
    }
    std::vector<IpfixMessage> parse(IpfixReader& reader) const {
        std::vector<IpfixMessage> out;
        for (const auto& m : messages) {
            out.push_back(reader.read(m));
        }
        return out;
    }
};

TEST(RecordBuilder, TraceRecordWithHopsRoundTrips) {
    Collected c;
    RecordBuilder b({.observation_domain = 9}, c.handler());
    ASSERT_TRUE(b.add(captured_trace()).ok());
    // libfixbuf sends templates in a message of their own; the data record waits for a flush.
    ASSERT_EQ(c.messages.size(), 1u);
    ASSERT_TRUE(b.flush().ok());
    ASSERT_EQ(c.messages.size(), 2u);

    IpfixReader reader;
    const auto tmsg = reader.read(c.messages[0]);
    EXPECT_EQ(tmsg.templates, (std::vector<std::uint16_t>{ipfix::hop_template_id(0xff0000), 257}));
    EXPECT_TRUE(tmsg.records.empty());
    const auto msg = reader.read(c.messages[1]);
    EXPECT_EQ(msg.domain, 9u);
    EXPECT_EQ(msg.sequence, 0u);
    ASSERT_EQ(msg.records.size(), 1u);
    const auto& r = msg.records[0];
    EXPECT_EQ(r.template_id, 257);
    // NTP: seconds since 1900 in the high word, binary fraction in the low word.
    EXPECT_EQ(r.uint(kTime) >> 32, 1'700'000'000ull + 2'208'988'800ull);
    EXPECT_EQ(r.uint(kTime) & 0xffffffffu, 0x80000000u);
    EXPECT_EQ(r.uint(kDomain), 9u);
    EXPECT_EQ(r.uint(kNs), 123u);
    EXPECT_EQ(r.raw(kTraceType)->size(), 3u);
    EXPECT_EQ(r.uint(kTraceType), 0xff0000u);
    EXPECT_EQ(r.uint(kNodeLen), 8u);
    EXPECT_EQ(r.uint(kFlags), 0u);
    EXPECT_EQ(r.uint(kHopCount), 1u);
    EXPECT_EQ(*r.raw(kTraceData), std::vector<std::uint8_t>(std::begin(test::kCapturedTraceData),
                                                            std::end(test::kCapturedTraceData)));

    const auto [semantic, hops] = reader.sub_template_list(*r.raw(kStl));
    EXPECT_EQ(semantic, 3);  // allOf
    ASSERT_EQ(hops.size(), 1u);
    const auto& h = hops[0];
    EXPECT_EQ(h.template_id, ipfix::hop_template_id(0xff0000));
    EXPECT_EQ(h.uint(kHopLim), 63u);
    EXPECT_EQ(h.raw(kNodeId)->size(), 3u);
    EXPECT_EQ(h.uint(kNodeId), 42u);
    EXPECT_EQ(h.uint(kIngress), 7u);
    EXPECT_EQ(h.uint(kEgress), 0xffffu);  // unavailable travels as all ones
    EXPECT_EQ(h.uint(kTsSec), 0x6b0612c7u);
    EXPECT_EQ(h.uint(kTsFrac), 0x00068916u);
    EXPECT_EQ(h.uint(kTransit), 0xffffffffu);
    EXPECT_EQ(h.uint(kNsData), 0xdeadbeefu);
    EXPECT_EQ(h.uint(kQueue), 0xffffffffu);
    EXPECT_EQ(h.uint(kChecksum), 0xffffffffu);
}

TEST(RecordBuilder, OneHopTemplatePerTraceType) {
    Collected c;
    RecordBuilder b({.observation_domain = 1}, c.handler());
    auto short_trace = bit0_trace(10, 2);
    ASSERT_TRUE(b.add(short_trace).ok());
    ASSERT_TRUE(b.add(captured_trace()).ok());
    ASSERT_TRUE(b.add(short_trace).ok());  // known layout: no new template
    ASSERT_TRUE(b.flush().ok());

    IpfixReader reader;
    const auto msgs = c.parse(reader);
    std::vector<std::uint16_t> tids;
    std::vector<test::IpfixRecord> records;
    for (const auto& m : msgs) {
        tids.insert(tids.end(), m.templates.begin(), m.templates.end());
        records.insert(records.end(), m.records.begin(), m.records.end());
    }
    EXPECT_EQ(tids, (std::vector<std::uint16_t>{ipfix::hop_template_id(0x800000), 257,
                                                ipfix::hop_template_id(0xff0000)}));
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(b.stats().template_sends, 3u);
    const auto& first = records[0];
    const auto [sem, hops] = reader.sub_template_list(*first.raw(kStl));
    ASSERT_EQ(hops.size(), 2u);
    EXPECT_EQ(hops[0].uint(kNodeId), 10u);
    EXPECT_EQ(hops[1].uint(kNodeId), 11u);
    EXPECT_EQ(hops[1].uint(kHopLim), 63u);
    EXPECT_EQ(hops[0].fields.size(), 2u);  // bit 0 only: hop limit and node id
}

TEST(RecordBuilder, SequenceNumbersCountDataRecordsAndMessagesRespectTheMtu) {
    Collected c;
    RecordBuilder b({.observation_domain = 4, .mtu = 300}, c.handler());
    const auto t = captured_trace();
    for (int i = 0; i < 40; ++i) {
        ASSERT_TRUE(b.add(t).ok());
    }
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    const auto msgs = c.parse(reader);
    ASSERT_GT(msgs.size(), 3u);
    std::uint32_t expected = 0;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_LE(c.messages[i].size(), 300u);
        EXPECT_EQ(msgs[i].sequence, expected) << "message " << i;
        EXPECT_EQ(msgs[i].domain, 4u);
        expected += static_cast<std::uint32_t>(msgs[i].records.size());
    }
    EXPECT_EQ(expected, 40u);
    EXPECT_EQ(b.sequence_number(), 40u);
    EXPECT_EQ(b.stats().records, 40u);
    EXPECT_EQ(b.stats().messages, msgs.size());
}

TEST(RecordBuilder, BuildersAreIndependentTransportSessions) {
    Collected c1, c2;
    RecordBuilder b1({.observation_domain = 1}, c1.handler());
    RecordBuilder b2({.observation_domain = 1}, c2.handler());
    const auto t = bit0_trace(1, 1);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(b1.add(t).ok());
    }
    ASSERT_TRUE(b1.flush().ok());
    ASSERT_TRUE(b2.add(t).ok());
    ASSERT_TRUE(b2.flush().ok());
    IpfixReader r1, r2;
    EXPECT_EQ(r1.read(c1.messages[0]).sequence, 0u);
    const auto m2 = r2.read(c2.messages[0]);
    EXPECT_EQ(m2.sequence, 0u);
    EXPECT_FALSE(m2.templates.empty());  // b2 announces its templates itself
}

TEST(RecordBuilder, TraceRecordWithoutHops) {
    Collected c;
    RecordBuilder b({.observation_domain = 1, .hop_list = false}, c.handler());
    ASSERT_TRUE(b.add(captured_trace()).ok());
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    const auto msgs = c.parse(reader);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].templates, (std::vector<std::uint16_t>{256}));
    const auto& msg = msgs[1];
    ASSERT_EQ(msg.records.size(), 1u);
    EXPECT_FALSE(msg.records[0].has(kStl));
    EXPECT_EQ(msg.records[0].raw(kTraceData)->size(), 32u);
}

TEST(RecordBuilder, DexRecord) {
    DexReport d;
    d.observation_time_ns = kTimeNs;
    d.observation_domain = 3;
    d.namespace_id = 77;
    d.ext_flags = 0x80;
    d.flow_id = 0xabcdef01u;
    d.trace_type = 0xc00000;  // bits 0 and 1
    d.node.hop_limit = 12;
    d.node.node_id = 0x123456;
    d.node.ingress_if_id = 3;

    Collected c;
    RecordBuilder b({.observation_domain = 3}, c.handler());
    ASSERT_TRUE(b.add(d).ok());
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    const auto msgs = c.parse(reader);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].templates, (std::vector<std::uint16_t>{ipfix::dex_template_id(0xc00000)}));
    const auto& msg = msgs[1];
    ASSERT_EQ(msg.records.size(), 1u);
    const auto& r = msg.records[0];
    EXPECT_EQ(r.uint(kNs), 77u);
    EXPECT_EQ(r.uint(kFlowId), 0xabcdef01u);
    EXPECT_EQ(r.uint(kSeq), 0xffffffffu);  // absent: all ones, ext flags say so
    EXPECT_EQ(r.uint(kExtFlags), 0x80u);
    EXPECT_EQ(r.uint(kDexFlags), 0u);
    EXPECT_EQ(r.uint(kTraceType), 0xc00000u);
    EXPECT_EQ(r.uint(kHopLim), 12u);
    EXPECT_EQ(r.uint(kNodeId), 0x123456u);
    EXPECT_EQ(r.uint(kIngress), 3u);
    EXPECT_EQ(r.uint(kEgress), 0xffffu);
    EXPECT_FALSE(r.has(kTsSec));
}

TEST(RecordBuilder, TemplateMessagesHoldOnlyTemplates) {
    Collected c;
    RecordBuilder b({.observation_domain = 2}, c.handler());
    ASSERT_TRUE(b.add(captured_trace()).ok());
    ASSERT_TRUE(b.add(bit0_trace(1, 1)).ok());
    auto tm = b.template_messages();
    ASSERT_TRUE(tm.ok());
    const auto handed_on = c.messages.size();  // templates, then the pending data
    ASSERT_EQ(tm->size(), 1u);
    IpfixReader reader;
    const auto msg = reader.read((*tm)[0]);
    EXPECT_TRUE(msg.records.empty());
    EXPECT_EQ(msg.sequence, 2u);
    EXPECT_EQ(std::set<std::uint16_t>(msg.templates.begin(), msg.templates.end()),
              (std::set<std::uint16_t>{257, ipfix::hop_template_id(0xff0000),
                                       ipfix::hop_template_id(0x800000)}));
    EXPECT_EQ(c.messages.size(), handed_on);  // template messages are returned, not handed on
    std::size_t records = 0;
    IpfixReader session;
    for (const auto& m : c.parse(session)) {
        records += m.records.size();
    }
    EXPECT_EQ(records, 2u);
}

TEST(RecordBuilder, ExportTemplatesRefreshesInTheCurrentMessage) {
    Collected c;
    RecordBuilder b({.observation_domain = 2}, c.handler());
    ASSERT_TRUE(b.add(bit0_trace(1, 1)).ok());
    ASSERT_TRUE(b.flush().ok());
    ASSERT_TRUE(b.export_templates().ok());
    ASSERT_TRUE(b.add(bit0_trace(1, 1)).ok());
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    const auto msgs = c.parse(reader);
    // templates, data, the refreshed templates, data.
    ASSERT_EQ(msgs.size(), 4u);
    EXPECT_EQ(msgs[2].templates, msgs[0].templates);
    EXPECT_TRUE(msgs[2].records.empty());
    EXPECT_EQ(msgs[3].records.size(), 1u);
    EXPECT_EQ(msgs[3].sequence, 1u);
    EXPECT_EQ(b.stats().template_sends, 4u);
}

// --sample 1/N is announced in an options record scoped to the observation domain, before the
// first data record and again with every template refresh (a restarted collector learns it).
TEST(RecordBuilder, SamplingRatioTravelsInAnOptionsRecord) {
    const FieldKey kInterval{0, 305}, kSpace{0, 306};
    Collected c;
    RecordBuilder b({.observation_domain = 2, .sample_one_in = 8}, c.handler());
    ASSERT_TRUE(b.add(bit0_trace(1, 1)).ok());
    ASSERT_TRUE(b.flush().ok());
    ASSERT_TRUE(b.export_templates().ok());
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    std::vector<IpfixRecord> sent;  // every record, in the order sent
    for (const auto& m : c.parse(reader)) {
        sent.insert(sent.end(), m.records.begin(), m.records.end());
    }
    EXPECT_EQ(reader.scope_counts().at(ipfix::kSamplingTemplateId), 1u);
    const auto& fields = reader.templates().at(ipfix::kSamplingTemplateId);
    ASSERT_EQ(fields.size(), 3u);
    EXPECT_EQ(fields[0].key, kDomain);  // the scope
    ASSERT_EQ(sent.size(), 3u);         // options, trace, options again after the refresh
    for (std::size_t i : {0u, 2u}) {
        ASSERT_EQ(sent[i].template_id, ipfix::kSamplingTemplateId);
        EXPECT_EQ(sent[i].uint(kDomain), 2u);
        EXPECT_EQ(sent[i].uint(kInterval), 1u);
        EXPECT_EQ(sent[i].uint(kSpace), 7u);
    }
    EXPECT_EQ(sent[1].template_id, ipfix::kTraceWithHopsTemplateId);
    // Options records are data records: the sequence number counts them.
    EXPECT_EQ(b.sequence_number(), 3u);

    Collected unsampled;
    RecordBuilder plain({.observation_domain = 2}, unsampled.handler());
    ASSERT_TRUE(plain.add(bit0_trace(1, 1)).ok());
    ASSERT_TRUE(plain.export_templates().ok());
    ASSERT_TRUE(plain.flush().ok());
    IpfixReader r2;
    for (const auto& m : unsampled.parse(r2)) {
        for (const auto& rec : m.records) {
            EXPECT_NE(rec.template_id, ipfix::kSamplingTemplateId);
        }
    }
}

TEST(RecordBuilder, FlushWithNothingPendingSendsNothing) {
    Collected c;
    RecordBuilder b({}, c.handler());
    ASSERT_TRUE(b.flush().ok());
    EXPECT_TRUE(c.messages.empty());
}

TEST(RecordBuilder, RecordLargerThanTheMtuIsRejected) {
    Collected c;
    RecordBuilder b({.mtu = 128, .hop_list = false}, c.handler());
    auto t = bit0_trace(1, 60);  // 240 octets of trace data
    auto st = b.add(t);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(), Errc::too_large);
    // The builder goes on with records that fit.
    ASSERT_TRUE(b.add(bit0_trace(1, 1)).ok());
    ASSERT_TRUE(b.flush().ok());
    IpfixReader reader;
    std::size_t records = 0;
    for (const auto& m : c.parse(reader)) {
        records += m.records.size();
    }
    EXPECT_EQ(records, 1u);
}

TEST(RecordBuilder, RejectsAnMtuOutOfRange) {
    EXPECT_THROW(RecordBuilder({.mtu = 10}, [](auto) {}), std::invalid_argument);
}

TEST(MessageSequence, ReadsAndPatchesTheHeader) {
    std::vector<std::uint8_t> m(16, 0);
    set_message_sequence(m, 0x01020304u);
    EXPECT_EQ(m[8], 1);
    EXPECT_EQ(m[11], 4);
    EXPECT_EQ(message_sequence(m), 0x01020304u);
}

}  // namespace
}  // namespace ioam::exporter::record
