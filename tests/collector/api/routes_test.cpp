#include "collector/api/routes.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "collector/store/sqlite_store.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/packets.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::api {
namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000;

std::uint64_t wall_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

using namespace ioam::collector::test;
using nlohmann::json;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;

DexReport dex(std::uint32_t seq, std::uint32_t node, std::uint32_t usec) {
    DexReport d;
    d.observation_time_ns = kT0;
    d.namespace_id = 9;
    d.ext_flags = 0xc0;
    d.trace_type = kTraceType;
    d.flow_id = 4242;
    d.sequence_number = seq;
    d.node = make_node(node, 1'700'000'000, usec);
    return d;
}

class RoutesTest : public ::testing::Test {
  protected:
    RoutesTest() : store(make_config(db)) {
        store.start();
        store.consume({"10.0.0.1", 1}, make_trace({1, 2, 3}, 123, kT0));
        store.consume({"10.0.0.1", 1}, make_trace({1, 2, 3}, 123, kT0 + 1));
        store.consume({"10.0.0.2", 1}, make_trace({1, 4}, 7, kT0 + 2));
        // Flow 4242 over nodes 1 -> 2 -> 3, 50 us per segment; packet 2 never reaches node 3.
        for (std::uint32_t seq = 0; seq < 4; ++seq) {
            for (std::uint32_t node = 1; node <= 3; ++node) {
                if (seq == 2 && node == 3) {
                    continue;
                }
                store.consume({"10.0.0.9", 2}, dex(seq, node, 1000 * seq + 50 * node));
            }
            store.consume(seq == 2 ? make_packet({1, 2}, 9, kT0, 50'000, 3)
                                   : make_packet({1, 2, 3}, 9, kT0, 50'000));
        }
        // The summaries come from correlated packets.
        store.consume(make_packet({1, 2, 3}, 123, kT0, 100'000));
        store.consume(make_packet({1, 2, 3}, 123, kT0 + 1, 100'000));
        store.consume(make_packet({1, 4}, 7, kT0 + 2, 100'000));
        store.flush();
    }
    static store::StoreConfig make_config(const TempDb& d) {
        store::StoreConfig c;
        c.path = d.path();
        c.retention_age_s = 0;
        return c;
    }
    json get(const std::string& target, int expect_status = 200) {
        const Response r = routes.handle("GET", target);
        EXPECT_EQ(r.status, expect_status) << target << ": " << r.body;
        return json::parse(r.body);
    }

    TempDb db;
    store::SqliteStore store;
    bool ready = false;
    Providers providers{[] { return std::string("# metrics\n"); },
                        [] {
                            source::ExporterStats e;
                            e.session.address = "10.0.0.1";
                            e.session.port = 4739;
                            e.domain = 1;
                            e.records = 5;
                            e.lost = 2;
                            e.templates = 3;
                            e.last_seen_ns = wall_ns();
                            source::ExporterStats silent = e;
                            silent.domain = 2;
                            silent.last_seen_ns = wall_ns() - 91 * kNsPerSecond;
                            source::ExporterStats closed = e;
                            closed.domain = 3;
                            closed.session.transport = source::Transport::tcp;
                            closed.ended_ns = wall_ns();
                            return std::vector<source::ExporterStats>{e, silent, closed};
                        },
                        [this] { return ready; }};
    Routes routes{store, providers, RoutesConfig{.default_limit = 100, .max_limit = 50}};
};

TEST_F(RoutesTest, HealthReadyMetrics) {
    EXPECT_EQ(get("/healthz")["status"], "ok");
    EXPECT_EQ(get("/readyz", 503)["status"], "starting");
    ready = true;
    EXPECT_EQ(get("/readyz")["status"], "ready");
    const Response m = routes.handle("GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(m.body, "# metrics\n");
}

TEST_F(RoutesTest, RecordsWithFiltersAndCursor) {
    const json all = get("/api/v1/records?kind=0");
    ASSERT_EQ(all["records"].size(), 3u);
    EXPECT_EQ(all["records"][0]["path"], "1,2,3");
    EXPECT_EQ(all["records"][0]["exporter"], "10.0.0.1");
    EXPECT_EQ(all["records"][0]["trace_type"], "0xf00000");
    EXPECT_EQ(all["records"][0]["end_to_end_ns"], 200000);
    EXPECT_EQ(all["records"][0]["nodes"][0]["node_id"], 3);
    EXPECT_TRUE(all["next_cursor"].is_null());

    EXPECT_EQ(get("/api/v1/records?namespace=7")["records"].size(), 1u);
    EXPECT_EQ(get("/api/v1/records?node=4")["records"].size(), 1u);
    EXPECT_EQ(get("/api/v1/records?flow=4242")["records"].size(), 11u);
    EXPECT_EQ(get("/api/v1/records?kind=0&from=" + std::to_string(kT0 + 1) +
                  "&to=" + std::to_string(kT0 + 2))["records"]
                  .size(),
              1u);

    const json page = get("/api/v1/records?limit=2");
    ASSERT_EQ(page["records"].size(), 2u);
    ASSERT_FALSE(page["next_cursor"].is_null());
    const json next =
        get("/api/v1/records?limit=2&cursor=" + std::to_string(page["next_cursor"].get<int>()));
    EXPECT_EQ(next["records"][0]["id"], page["records"][1]["id"].get<int>() + 1);
    EXPECT_EQ(get("/api/v1/records?limit=100000")["records"].size(), 14u);
}

TEST_F(RoutesTest, BadParametersAre400) {
    EXPECT_TRUE(get("/api/v1/records?node=abc", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/records?bogus=1", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/records?namespace=70000", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/records?limit=-1", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/records?limit=1&limit=2", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/records/xyz", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/dex/flows/99999999999", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/nodes?limit=", 400).contains("error"));
}

TEST_F(RoutesTest, UnknownPathsAndMethods) {
    EXPECT_TRUE(get("/nope", 404).contains("error"));
    EXPECT_TRUE(get("/api/v1/records/999999", 404).contains("error"));
    EXPECT_TRUE(get("/api/v1/dex/flows/1", 404).contains("error"));
    EXPECT_EQ(routes.handle("POST", "/api/v1/records").status, 405);
}

TEST_F(RoutesTest, RecordById) {
    const json first = get("/api/v1/records?limit=1")["records"][0];
    const json one = get("/api/v1/records/" + std::to_string(first["id"].get<int>()));
    EXPECT_EQ(one, first);
}

TEST_F(RoutesTest, NodesPathsExporters) {
    const json nodes = get("/api/v1/nodes")["nodes"];
    ASSERT_EQ(nodes.size(), 4u);
    EXPECT_EQ(nodes[1]["node_id"], 2);
    EXPECT_EQ(nodes[1]["segment_delay"]["min_ns"], 50000);   // DEX packets
    EXPECT_EQ(nodes[1]["segment_delay"]["max_ns"], 100000);  // traces
    EXPECT_EQ(nodes[1]["records"], 6);                       // 2 trace + 4 DEX packets
    const json paths = get("/api/v1/paths")["paths"];
    ASSERT_EQ(paths.size(), 4u);
    EXPECT_EQ(paths[0]["nodes"], json::array({1, 2, 3}));
    EXPECT_EQ(paths[0]["namespace"], 9);
    EXPECT_EQ(paths[0]["packets"], 3);
    EXPECT_EQ(paths[0]["delay_p50_ns"], 100000);  // clamped to the exact min/max
    EXPECT_EQ(paths[1]["packets"], 2);
    EXPECT_EQ(paths[1]["delay_p50_ns"], 200000);
    const json segments = get("/api/v1/segments")["segments"];
    ASSERT_EQ(segments.size(), 3u);  // 1-2, 2-3, 1-4
    EXPECT_EQ(segments[0]["from"], 1);
    EXPECT_EQ(segments[0]["to"], 2);
    EXPECT_EQ(segments[0]["packets"], 6);
    EXPECT_EQ(segments[1]["lost"], 1);  // 2-3: seq 2 never reached node 3
    EXPECT_EQ(get("/api/v1/paths?from=0&to=1")["paths"].size(), 0u);
    const json ex = get("/api/v1/exporters")["exporters"];
    ASSERT_EQ(ex.size(), 3u);
    EXPECT_EQ(ex[0]["address"], "10.0.0.1");
    EXPECT_EQ(ex[0]["lost"], 2);
    EXPECT_EQ(ex[0]["templates"], 3);
    EXPECT_EQ(ex[0]["state"], "active");
    EXPECT_TRUE(ex[0]["ended_ns"].is_null());
    EXPECT_EQ(ex[1]["state"], "silent");  // quiet for longer than the 90 s default
    EXPECT_EQ(ex[2]["state"], "closed");
    EXPECT_TRUE(ex[2]["ended_ns"].is_number());
}

TEST_F(RoutesTest, DexFlowJoinedBySequence) {
    const json f = get("/api/v1/dex/flows/4242");
    EXPECT_EQ(f["reports"], 11);
    EXPECT_EQ(f["nodes"], json::array({1, 2, 3}));
    ASSERT_EQ(f["packets"].size(), 4u);
    EXPECT_EQ(f["packets"][0]["path"], json::array({1, 2, 3}));
    EXPECT_EQ(f["packets"][0]["segment_delay_ns"], json::array({50000, 50000}));
    EXPECT_EQ(f["packets"][2]["missing"], json::array({3}));
    EXPECT_EQ(f["packets"][2]["last_seen"], 2);
    EXPECT_EQ(f["incomplete_packets"], 1);
    EXPECT_EQ(f["loss"], json::parse(R"([{"last_seen_node":2,"packets":1}])"));
}

}  // namespace
}  // namespace ioam::collector::api
