// The reference Go exporter's stream (Advanced-Observability/ioam-exporter), built byte for
// byte as its ipfix.go builds it: template 293 in every message, one data record per node,
// node ids and the opaque schema id little-endian, a long snapshot's length little-endian,
// the sequence number advanced by the field count per record, a new source port per message.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "collector/decode/record_decoder.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/trace_type.hpp"
#include "tests/collector/capture_sink.hpp"
#include "tests/collector/source/recording_handler.hpp"

namespace ioam::collector::decode {
namespace {

using namespace ioam::collector::test;
using trace_type::bit;

// Its IoamNode (ipfix_types.go), with the trace type it derives from the kernel event.
struct RefNode {
    std::uint32_t trace_type = 0;
    std::uint16_t ns = 0;
    std::uint8_t hop_limit = 0;
    std::uint32_t node_id = 0;
    std::uint16_t ingress = 0, egress = 0;
    std::uint32_t secs = 0, frac = 0, ns_data = 0, queue = 0;
    std::uint64_t node_id_wide = 0;
    std::uint32_t ingress_wide = 0, egress_wide = 0;
    std::uint64_t ns_data_wide = 0;
    std::uint32_t oss_schema = 0;
    std::vector<std::uint8_t> snapshot;
    std::optional<std::uint32_t> flow_id, seq;
};

class RefEncoder {
  public:
    // createIPFIXMessage(nodes)
    std::vector<std::uint8_t> message(const std::vector<RefNode>& nodes) {
        out_.clear();
        be(10, 2);
        be(0, 2);  // length, filled below
        be(1'700'000'000, 4);
        be(seq_, 4);
        be(1, 4);  // IPFIX_DOMAIN_ID
        const std::size_t fields = template_set(nodes[0]);
        const std::size_t set = out_.size();
        be(293, 2);
        be(0, 2);
        for (const RefNode& n : nodes) {
            encode(n);
            seq_ += static_cast<std::uint32_t>(fields);
        }
        patch(set + 2, out_.size() - set);
        patch(2, out_.size());
        return out_;
    }

  private:
    void be(std::uint64_t v, int octets) {
        for (int i = octets - 1; i >= 0; --i) {
            out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    }
    void le(std::uint64_t v, int octets) {
        for (int i = 0; i < octets; ++i) {
            out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    }
    void patch(std::size_t at, std::size_t v) {
        out_[at] = static_cast<std::uint8_t>(v >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(v);
    }
    // createIOAMTemplateSet: (id | 0x8000, length, PEN 10383) per field.
    std::size_t template_set(const RefNode& n) {
        std::vector<std::pair<std::uint16_t, std::uint16_t>> f = {{0, 2}};
        const std::uint32_t t = n.trace_type;
        if (t & (bit(0) | bit(8)))
            f.push_back({1, 1});
        if (t & bit(0))
            f.push_back({2, 3});
        if (t & bit(1))
            f.insert(f.end(), {{3, 2}, {4, 2}});
        if (t & bit(2))
            f.push_back({5, 4});
        if (t & bit(3))
            f.push_back({6, 4});
        if (t & bit(5))
            f.push_back({7, 4});
        if (t & bit(6))
            f.push_back({8, 4});
        if (t & bit(8))
            f.push_back({9, 7});
        if (t & bit(9))
            f.insert(f.end(), {{10, 4}, {11, 4}});
        if (t & bit(10))
            f.push_back({12, 8});
        if (t & bit(22))
            f.insert(f.end(), {{13, 3}, {14, 65535}});
        if (n.flow_id)
            f.push_back({15, 4});
        if (n.seq)
            f.push_back({16, 4});
        const std::size_t set = out_.size();
        be(2, 2);
        be(0, 2);
        be(293, 2);
        be(f.size(), 2);
        for (auto [id, len] : f) {
            be(id | 0x8000u, 2);
            be(len, 2);
            be(10383, 4);
        }
        patch(set + 2, out_.size() - set);
        return f.size();
    }
    // encodeIoam
    void encode(const RefNode& d) {
        const std::uint32_t t = d.trace_type;
        be(d.ns, 2);
        if (t & (bit(0) | bit(8)))
            be(d.hop_limit, 1);
        if (t & bit(0))
            le(d.node_id, 3);
        if (t & bit(1))
            be(d.ingress, 2), be(d.egress, 2);
        if (t & bit(2))
            be(d.secs, 4);
        if (t & bit(3))
            be(d.frac, 4);
        if (t & bit(5))
            be(d.ns_data, 4);
        if (t & bit(6))
            be(d.queue, 4);
        if (t & bit(8))
            le(d.node_id_wide, 7);
        if (t & bit(9))
            be(d.ingress_wide, 4), be(d.egress_wide, 4);
        if (t & bit(10))
            be(d.ns_data_wide, 8);
        if (t & bit(22)) {
            le(d.oss_schema, 3);
            if (d.snapshot.size() < 255) {
                be(d.snapshot.size(), 1);
            } else {
                be(255, 1);
                le(d.snapshot.size(), 2);
            }
            out_.insert(out_.end(), d.snapshot.begin(), d.snapshot.end());
        }
        if (d.flow_id)
            be(*d.flow_id, 4);
        if (d.seq)
            be(*d.seq, 4);
    }

    std::vector<std::uint8_t> out_;
    std::uint32_t seq_ = 0;  // its global seqNum
};

constexpr std::uint32_t kTraceType = bit(0) | bit(1) | bit(2) | bit(3);

RefNode trace_node(std::uint32_t id, std::uint32_t frac) {
    RefNode n;
    n.trace_type = kTraceType;
    n.ns = 123;
    n.hop_limit = 64;
    n.node_id = id;
    n.ingress = 1;
    n.egress = 2;
    n.secs = 1'700'000'000;
    n.frac = frac;
    return n;
}

class ReferenceExporterTest : public ::testing::Test {
  protected:
    // A new source port per message, as net.Dial per message gives it.
    void send(const std::vector<std::uint8_t>& msg) {
        source::UdpPeer peer;
        peer.address = {192, 0, 2, 9};
        peer.port = port_++;
        proc.process_udp(peer, "192.0.2.9", msg, 1);
    }

    RefEncoder ref;
    CaptureSink sink;
    RecordDecoder decoder{{&sink}};
    RecordingHandler observer;
    source::IpfixProcessor proc{{}, role_of, decoder, observer};
    std::uint16_t port_ = 40000;
};

TEST_F(ReferenceExporterTest, TraceMessagesBecomeOneTraceEachWithNoFalseLoss) {
    for (std::uint32_t i = 0; i < 1000; ++i) {
        send(ref.message({trace_node(0x010203, 2000 + i), trace_node(0x0a0b0c, 1000 + i)}));
    }
    ASSERT_EQ(sink.traces.size(), 1000u);
    const IoamTrace& t = sink.traces.back();
    EXPECT_EQ(t.namespace_id, 123);
    EXPECT_EQ(t.observation_domain, 1u);
    EXPECT_EQ(t.trace_type, kTraceType);
    ASSERT_EQ(t.nodes.size(), 2u);
    EXPECT_EQ(t.nodes[0].node_id, 0x010203u);  // not 0x030201
    EXPECT_EQ(t.nodes[1].node_id, 0x0a0b0cu);
    EXPECT_EQ(t.nodes[0].hop_limit, 64);
    EXPECT_EQ(t.nodes[1].timestamp_frac, 1000u + 999u);
    // The raw trace data is rebuilt, so that it decodes to the same nodes.
    auto decoded = ioam::decode_trace_data(t.trace_type, t.node_len, t.raw_data);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, t.nodes);
    EXPECT_EQ(observer.lost, 0u);
    EXPECT_EQ(observer.restarts, 0u);
    EXPECT_EQ(proc.session_counts().udp, 1u);
    EXPECT_TRUE(observer.errors.empty());
    EXPECT_EQ(decoder.stats().ignored, 0u);
}

TEST_F(ReferenceExporterTest, DexReportsKeepTheirIdsAndSequenceIsNotLoss) {
    for (std::uint32_t i = 0; i < 1000; ++i) {
        RefNode n;
        n.trace_type = bit(0) | bit(8) | bit(22);
        n.ns = 7;
        n.hop_limit = 60;
        n.node_id = 0x010203;
        n.node_id_wide = 0x01020304050607;
        n.oss_schema = 0x0a0b0c;
        n.snapshot.assign(i % 2 == 0 ? 8 : 300, 0x5a);  // 300: its length little-endian
        n.flow_id = 42;
        n.seq = i;
        send(ref.message({n}));
    }
    ASSERT_EQ(sink.dex.size(), 1000u);
    for (std::size_t i : {std::size_t{0}, std::size_t{999}}) {
        const DexReport& d = sink.dex[i];
        EXPECT_EQ(d.node.node_id, 0x010203u);
        EXPECT_EQ(d.node.node_id_wide, 0x01020304050607u);
        EXPECT_EQ(d.node.hop_limit, 60);
        EXPECT_EQ(d.node.hop_limit_wide, 60);
        ASSERT_TRUE(d.node.opaque_state);
        EXPECT_EQ(d.node.opaque_state->schema_id, 0x0a0b0cu);
        EXPECT_EQ(d.node.opaque_state->data.size(), i % 2 == 0 ? 8u : 300u);
        EXPECT_EQ(d.flow_id, 42u);
        EXPECT_EQ(d.sequence_number, i);
        EXPECT_EQ(d.trace_type, bit(0) | bit(8) | bit(22));
    }
    EXPECT_EQ(observer.lost, 0u);
    EXPECT_EQ(proc.session_counts().udp, 1u);
    EXPECT_TRUE(observer.errors.empty());
}

}  // namespace
}  // namespace ioam::collector::decode
