#include "common/json/ioam_json.hpp"

#include <gtest/gtest.h>

namespace ioam::json {
namespace {

TEST(IoamJson, NodeLeavesUnavailableFieldsOut) {
    IoamNode n;
    n.hop_limit = 63;
    n.node_id = 42;
    n.ingress_if_id = 7;
    n.opaque_state = OpaqueState{7, {0xde, 0xad, 0xbe, 0xef}};
    const auto j = to_json(n);
    EXPECT_EQ(j["hop_limit"], 63);
    EXPECT_EQ(j["node_id"], 42);
    EXPECT_EQ(j["ingress_if_id"], 7);
    EXPECT_FALSE(j.contains("egress_if_id"));
    EXPECT_FALSE(j.contains("transit_delay"));
    EXPECT_EQ(j["opaque_state"]["schema_id"], 7);
    EXPECT_EQ(j["opaque_state"]["data"], "deadbeef");
}

TEST(IoamJson, TraceAndDex) {
    IoamTrace t;
    t.observation_domain = 3;
    t.namespace_id = 123;
    t.trace_type = 0xf00000;
    t.node_len = 4;
    t.raw_data = {0x3f, 0x00, 0x00, 0x2a};
    t.nodes.resize(2);
    auto j = to_json(t);
    EXPECT_EQ(j["kind"], "trace");
    EXPECT_EQ(j["domain"], 3);
    EXPECT_EQ(j["trace_type"], "0xf00000");
    EXPECT_EQ(j["raw_data"], "3f00002a");
    EXPECT_EQ(j["nodes"].size(), 2u);

    DexReport d;
    d.trace_type = 0x800000;
    d.flow_id = 0xffffffff;  // a real all-ones flow id is a value, not "unavailable"
    j = to_json(d);
    EXPECT_EQ(j["kind"], "dex");
    EXPECT_EQ(j["flow_id"], 0xffffffffu);
    EXPECT_FALSE(j.contains("sequence_number"));
}

}  // namespace
}  // namespace ioam::json
