#include "tests/common/ioam/kernel_events_check.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/ioam/options.hpp"
#include "common/ioam/trace_type.hpp"
#include "tests/common/ioam/test_util.hpp"

namespace ioam::test {
namespace {

using json = nlohmann::json;
using trace_type::bit;

constexpr std::uint16_t kNamespace = 123;
constexpr std::uint8_t kSenderHopLimit = 64;

// The router: forwarding, egress on a veth (so egress ids and a queue depth), no schema.
IoamNode router_node() {
    IoamNode n;
    n.hop_limit = kSenderHopLimit - 1;
    n.node_id = 1;
    n.ingress_if_id = 11;
    n.egress_if_id = 12;
    n.namespace_data = 0xcafe0001;
    n.queue_depth = 0;
    n.hop_limit_wide = kSenderHopLimit - 1;
    n.node_id_wide = 0x00010203040506;
    n.ingress_if_id_wide = 0x000b000b;
    n.egress_if_id_wide = 0x000c000c;
    n.namespace_data_wide = 0x1111222233334444;
    return n;  // opaque state: all ones header without a schema, so absent
}

// The receiver: local delivery (egress and queue depth unavailable), schema 7 attached.
IoamNode receiver_node() {
    IoamNode n;
    n.hop_limit = kSenderHopLimit - 2;
    n.node_id = 42;
    n.ingress_if_id = 7;
    n.namespace_data = 0xdeadbeef;
    n.hop_limit_wide = kSenderHopLimit - 2;
    n.node_id_wide = 0x00aabbccddeeff;
    n.ingress_if_id_wide = 0x00070007;
    n.namespace_data_wide = 0x0123456789abcdef;
    // "opaque-07" padded with zeros to a multiple of 4 by the kernel.
    n.opaque_state = OpaqueState{7, {'o', 'p', 'a', 'q', 'u', 'e', '-', '0', '7', 0, 0, 0}};
    return n;
}

// The node the capture script pre-filled as the encapsulating node.
IoamNode prefilled_node() {
    IoamNode n;
    n.hop_limit = kSenderHopLimit;
    n.node_id = 1;
    n.egress_if_id = 1;
    n.timestamp_secs = 0;
    n.timestamp_frac = 0;
    n.namespace_data = 0xdeadbeef;
    return n;
}

// Keeps the fields whose trace type bit is set, as a node filling `type` would write them.
IoamNode only(IoamNode n, std::uint32_t type) {
    auto keep = [type](unsigned b, auto&... fields) {
        if ((type & bit(b)) == 0) {
            (fields.reset(), ...);
        }
    };
    keep(0, n.hop_limit, n.node_id);
    keep(1, n.ingress_if_id, n.egress_if_id);
    keep(2, n.timestamp_secs);
    keep(3, n.timestamp_frac);
    keep(4, n.transit_delay);
    keep(5, n.namespace_data);
    keep(6, n.queue_depth);
    keep(7, n.checksum_complement);
    keep(8, n.hop_limit_wide, n.node_id_wide);
    keep(9, n.ingress_if_id_wide, n.egress_if_id_wide);
    keep(10, n.namespace_data_wide);
    keep(11, n.buffer_occupancy);
    keep(22, n.opaque_state);
    return n;
}

// Kernel nodes write their receive time: present, microseconds in the fraction, and taken
// from the decoded node so that the rest compares exactly.
void adopt_timestamps(IoamNode& expected, const IoamNode& got, std::uint32_t type,
                      std::int64_t captured_at) {
    if ((type & bit(2)) != 0) {
        ASSERT_TRUE(got.timestamp_secs.has_value());
        EXPECT_NEAR(static_cast<double>(*got.timestamp_secs), static_cast<double>(captured_at),
                    3600.0);
        expected.timestamp_secs = got.timestamp_secs;
    }
    if ((type & bit(3)) != 0) {
        ASSERT_TRUE(got.timestamp_frac.has_value());
        EXPECT_LT(*got.timestamp_frac, 1000000u);
        expected.timestamp_frac = got.timestamp_frac;
    }
}

std::vector<IoamNode> expected_chain(const std::string& role, const std::string& probe) {
    std::vector<IoamNode> nodes;
    if (role == "rcv" && probe != "overflow") {  // overflow: no room left for the receiver
        nodes.push_back(receiver_node());
    }
    nodes.push_back(router_node());
    if (probe == "prefilled") {
        nodes.push_back(prefilled_node());
    }
    return nodes;
}

std::int64_t captured_at(const json& doc) {
    std::tm tm{};
    std::istringstream(doc.at("captured_at").get<std::string>()) >>
        std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

void check_capture_events(const json& doc, bool require_nodelen_fix) {
    ASSERT_EQ(doc.at("ioam_namespace").get<int>(), kNamespace);
    ASSERT_EQ(doc.at("sender_hop_limit").get<int>(), kSenderHopLimit);
    const std::int64_t when = captured_at(doc);
    for (const json& probe : doc.at("probes")) {
        const std::string name = probe.at("name");
        const auto type = probe.at("type").get<std::uint32_t>();
        for (const std::string role : {"rtr", "rcv"}) {
            SCOPED_TRACE(name + " @ " + role);
            const json& events = probe.at("events").at(role);
            if (name == "undefined-bit12-old-nodelen") {
                // Kernels with 6db8b56eed62 drop a NodeLen that leaves out undefined bits;
                // older ones fill past the node's slot (the heap overflow that commit fixed).
                if (require_nodelen_fix) {
                    EXPECT_TRUE(events.empty());
                } else if (!events.empty()) {
                    std::cerr << "WARNING: this kernel accepts an inconsistent NodeLen: it "
                                 "lacks commit 6db8b56eed62 (ipv6: ioam: fix heap buffer "
                                 "overflow in __ioam6_fill_trace_data())\n";
                }
                continue;
            }
            ASSERT_EQ(events.size(), 1u);
            const json& ev = events.front();
            EXPECT_EQ(ev.at("namespace").get<int>(), kNamespace);
            const std::uint32_t got_type = trace_type::from_word(
                std::stoul(ev.at("trace_type_word").get<std::string>(), nullptr, 16));
            EXPECT_EQ(got_type, type);
            const auto node_len = ev.at("node_len").get<std::uint8_t>();
            EXPECT_EQ(node_len, trace_type::node_len(type));

            const auto data = unhex(ev.at("data").get<std::string>());
            auto nodes = decode_trace_data(got_type, node_len, data);
            ASSERT_TRUE(nodes.ok()) << to_string(nodes.error());
            const auto chain = expected_chain(role, name);
            ASSERT_EQ(nodes->size(), chain.size());
            for (std::size_t i = 0; i < chain.size(); ++i) {
                SCOPED_TRACE("node " + std::to_string(i));
                IoamNode expected = only(chain[i], type);
                if (name != "prefilled" || i + 1 < chain.size()) {
                    adopt_timestamps(expected, (*nodes)[i], type, when);
                }
                EXPECT_EQ((*nodes)[i], expected);
            }
        }
    }
    // The receiver fills after the router: newest node first, so its receive time is not
    // earlier than the router's in the same event.
    for (const json& probe : doc.at("probes")) {
        const auto type = probe.at("type").get<std::uint32_t>();
        const json& events = probe.at("events").at("rcv");
        if (events.empty() || (type & bit(2)) == 0 || (type & bit(3)) == 0 ||
            probe.at("name") == "overflow") {
            continue;
        }
        auto nodes = decode_trace_data(type, trace_type::node_len(type),
                                       unhex(events.front().at("data").get<std::string>()));
        ASSERT_TRUE(nodes.ok());
        ASSERT_GE(nodes->size(), 2u);
        const auto& rcv = (*nodes)[0];
        const auto& rtr = (*nodes)[1];
        EXPECT_EQ(rcv.node_id, 42u);
        EXPECT_GE(std::make_pair(*rcv.timestamp_secs, *rcv.timestamp_frac),
                  std::make_pair(*rtr.timestamp_secs, *rtr.timestamp_frac));
    }
}

void check_sent_options(const json& doc) {
    for (const json& probe : doc.at("probes")) {
        SCOPED_TRACE(probe.at("name").get<std::string>());
        auto option = decode_option_data(unhex(probe.at("option_data_hex").get<std::string>()));
        ASSERT_TRUE(option.ok()) << to_string(option.error());
        const auto& pto = std::get<PtoOption>(*option);
        EXPECT_EQ(pto.namespace_id, kNamespace);
        EXPECT_EQ(pto.trace_type, probe.at("type").get<std::uint32_t>());
        EXPECT_EQ(pto.node_len, probe.at("node_len").get<std::uint8_t>());
        EXPECT_EQ(pto.data.size(), probe.at("space").get<std::size_t>());
        const auto prefill = unhex(probe.value("prefill", std::string{}));
        const auto filled = filled_data(pto);
        EXPECT_EQ(std::vector<std::uint8_t>(filled.begin(), filled.end()), prefill);
    }
}

}  // namespace ioam::test
