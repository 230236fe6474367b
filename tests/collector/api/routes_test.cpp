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
                        [this] { return ready; },
                        [] {
                            return Dropped{7, 250};
                        }};
    Routes routes{store, providers, RoutesConfig{.default_limit = 100, .max_limit = 50}};
};

TEST_F(RoutesTest, HealthReadyMetrics) {
    EXPECT_EQ(get("/healthz")["status"], "ok");
    EXPECT_EQ(get("/readyz", 503)["status"], "starting");
    ready = true;
    EXPECT_EQ(get("/readyz")["status"], "ready");
    EXPECT_EQ(get("/readyz")["dropped"], json({{"udp_datagrams", 7}, {"records", 250}}));
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

TEST_F(RoutesTest, SeriesPerMinuteBucket) {
    store.consume(make_packet({1, 2, 3}, 123, kT0 + 120 * kNsPerSecond, 300'000));
    store.flush();
    // Three whole minutes, the first holding kT0.
    const std::uint64_t m0 = kT0 / (60 * kNsPerSecond) * (60 * kNsPerSecond);
    const std::string window =
        "from=" + std::to_string(m0) + "&to=" + std::to_string(m0 + 180 * kNsPerSecond);
    const json paths = get("/api/v1/paths/series?points=3&" + window);
    EXPECT_EQ(paths["step_ns"], 60 * kNsPerSecond);
    EXPECT_EQ(paths["from_ns"], m0);
    ASSERT_EQ(paths["points"].size(), 3u);
    EXPECT_EQ(paths["points"][0]["paths"].size(), 4u);
    EXPECT_EQ(paths["points"][1]["paths"].size(), 0u);
    ASSERT_EQ(paths["points"][2]["paths"].size(), 1u);
    EXPECT_EQ(paths["points"][2]["paths"][0]["delay_p50_ns"], 600000);
    EXPECT_EQ(paths["points"][2]["t_ns"], m0 + 120 * kNsPerSecond);

    const json segments = get("/api/v1/segments/series?points=240&" + window);
    ASSERT_EQ(segments["points"].size(), 3u);  // never finer than the rollups' minute
    EXPECT_EQ(segments["points"][0]["segments"][1]["lost"], 1);
    EXPECT_EQ(segments["points"][2]["segments"].size(), 2u);  // 1-2, 2-3
    EXPECT_EQ(
        get("/api/v1/segments/series?points=1&limit=1&" + window)["points"][0]["segments"].size(),
        1u);

    EXPECT_TRUE(get("/api/v1/paths/series?from=5&to=5", 400).contains("error"));
    EXPECT_TRUE(get("/api/v1/paths/series?step=5", 400).contains("error"));
    // A window of centuries in at most max_series_points reads.
    EXPECT_LE(get("/api/v1/segments/series?from=0&points=100000")["points"].size(), 241u);
}

TEST_F(RoutesTest, ConsoleAndEtags) {
    const Response page = routes.handle("GET", "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("/app.js"), std::string::npos);
    ASSERT_FALSE(page.etag.empty());
    EXPECT_EQ(routes.handle("GET", "/index.html").body, page.body);
    for (const char* asset : {"/app.js", "/app.css"}) {
        EXPECT_EQ(routes.handle("GET", asset).status, 200) << asset;
    }
    const Response again = routes.handle("GET", "/", "\"other\", " + page.etag);
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(routes.handle("GET", "/", "W/" + page.etag).status, 304);
    EXPECT_EQ(routes.handle("GET", "/", "\"stale\"").status, 200);
    EXPECT_EQ(routes.handle("POST", "/").status, 405);

    // API answers are tagged by content: unchanged gives 304, a change a new tag.
    const Response paths = routes.handle("GET", "/api/v1/paths");
    ASSERT_FALSE(paths.etag.empty());
    EXPECT_EQ(routes.handle("GET", "/api/v1/paths", paths.etag).status, 304);
    store.consume(make_packet({5, 6}, 1, kT0, 1'000));
    store.flush();
    const Response changed = routes.handle("GET", "/api/v1/paths", paths.etag);
    EXPECT_EQ(changed.status, 200);
    EXPECT_NE(changed.etag, paths.etag);
    EXPECT_TRUE(routes.handle("GET", "/metrics").etag.empty());  // scrapers want every sample
    EXPECT_TRUE(routes.handle("GET", "/nope").etag.empty());
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

// Regression: a non-UTF-8 octet in a parameter name made nlohmann throw type_error.316 while
// writing the 400 answer, which nothing caught: the collector aborted.
TEST_F(RoutesTest, NonUtf8ParameterNamesAre400WithValidJson) {
    for (const std::string target :
         {"/api/v1/nodes", "/api/v1/records", "/api/v1/paths", "/api/v1/exporters",
          "/api/v1/dex/flows/4242", "/api/v1/records/1", "/healthz", "/readyz", "/metrics"}) {
        const json e = get(target + "?\xff\xfe=1", 400);  // json::parse refuses invalid UTF-8
        EXPECT_EQ(e["error"], "unknown parameter '\\xFF\\xFE'") << target;
        EXPECT_EQ(get(target + "?%FF=1", 400)["error"], "unknown parameter '%FF'") << target;
    }
}

TEST_F(RoutesTest, UnknownParametersAre400OnEveryEndpoint) {
    for (const std::string target :
         {"/api/v1/nodes", "/api/v1/records", "/api/v1/paths", "/api/v1/exporters",
          "/api/v1/dex/flows/4242", "/api/v1/records/1", "/healthz", "/readyz", "/metrics"}) {
        EXPECT_EQ(get(target + "?bogus=1", 400)["error"], "unknown parameter 'bogus'") << target;
    }
}

TEST_F(RoutesTest, TimesAboveInt64MaxAre400NotNegative) {
    EXPECT_EQ(get("/api/v1/records?from=9223372036854775807")["records"].size(), 0u);
    for (const char* bound : {"from", "to"}) {
        const json e = get(std::string("/api/v1/records?") + bound + "=9223372036854775808", 400);
        EXPECT_NE(e["error"].get<std::string>().find(bound), std::string::npos) << e;
    }
}

// Counts the rows the API reads from the real store.
class CountingReader : public store::TraceReader {
  public:
    explicit CountingReader(store::TraceReader& inner) : inner_(inner) {}
    Result<std::vector<store::StoredRecord>> query(const store::TraceQuery& q) override {
        auto rows = inner_.query(q);
        if (rows) {
            rows_read += rows->size();
        }
        return rows;
    }
    Result<std::optional<store::StoredRecord>> get(std::int64_t id) override {
        return inner_.get(id);
    }
    Result<std::vector<store::NodeSummary>> nodes(store::Window w, std::size_t limit) override {
        return inner_.nodes(w, limit);
    }
    Result<std::vector<store::PathSummary>> paths(store::Window w, std::size_t limit) override {
        return inner_.paths(w, limit);
    }
    Result<std::vector<store::SegmentSummary>> segments(store::Window w,
                                                        std::size_t limit) override {
        return inner_.segments(w, limit);
    }
    std::size_t rows_read = 0;

  private:
    store::TraceReader& inner_;
};

// Regression: every row up to `limit` was loaded before the budget was applied.
TEST_F(RoutesTest, RecordsStopReadingAtTheResponseBudget) {
    for (std::uint64_t i = 0; i < 300; ++i) {
        store.consume({"10.0.0.3", 1}, make_trace({1, 2, 3, 4, 5, 6, 7, 8}, 5, kT0 + 10 + i));
    }
    store.flush();
    CountingReader counting(store);
    const std::size_t one = routes.handle("GET", "/api/v1/records?limit=1&kind=0").body.size();
    // Room for about ten records in half the budget.
    Routes small(counting, providers, {.max_limit = 1000, .max_response_bytes = 20 * one});
    const Response r = small.handle("GET", "/api/v1/records?limit=1000&kind=0");
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body);
    const std::size_t returned = j["records"].size();
    EXPECT_GE(returned, 5u);
    EXPECT_LE(returned, 12u);
    EXPECT_FALSE(j["next_cursor"].is_null());
    // At most one page beyond what was returned, and the page is sized to the budget.
    EXPECT_LE(counting.rows_read, 2 * returned + 1) << counting.rows_read;
}

// Regression: /api/v1/exporters answered 500 (response too large) beyond ~15 000 sessions.
TEST_F(RoutesTest, ExportersTakeALimit) {
    Providers many = providers;
    many.exporters = [] {
        std::vector<source::ExporterStats> v(20'000);
        for (std::size_t i = 0; i < v.size(); ++i) {
            v[i].session.address = "2001:db8::" + std::to_string(i);
            v[i].session.port = static_cast<std::uint16_t>(i);
        }
        v[0].session.address = "\xff";  // invalid UTF-8 is replaced, not thrown on
        return v;
    };
    Routes r(store, many, {.default_limit = 100, .max_limit = 1000});
    const auto get_from = [&](const std::string& target) {
        const Response res = r.handle("GET", target);
        EXPECT_EQ(res.status, 200) << res.body.substr(0, 200);
        return json::parse(res.body);
    };
    const json def = get_from("/api/v1/exporters");
    EXPECT_EQ(def["exporters"].size(), 100u);
    EXPECT_EQ(def["total"], 20'000);
    EXPECT_EQ(def["exporters"][0]["address"], "\xEF\xBF\xBD");
    EXPECT_EQ(get_from("/api/v1/exporters?limit=7")["exporters"].size(), 7u);
    EXPECT_EQ(get_from("/api/v1/exporters?limit=100000")["exporters"].size(), 1000u);
}

// Regression: every packet listed every other node as missing, O(N^2) in reports (10 000
// reports from distinct nodes: 6.9 s, 2.9 GB). Flows with more nodes than the bound are refused.
TEST_F(RoutesTest, DexFlowWithTooManyNodesIs422) {
    for (std::uint32_t n = 0; n < 300; ++n) {
        DexReport d = dex(n, 100 + n, 0);
        d.flow_id = 77;
        store.consume({"10.0.0.9", 2}, d);
    }
    store.flush();
    const json e = get("/api/v1/dex/flows/77", 422);
    EXPECT_EQ(e["error"], "flow reported by more than 256 nodes: not analysed");
    Routes few(store, providers, {.max_flow_nodes = 2});
    EXPECT_EQ(few.handle("GET", "/api/v1/dex/flows/4242").status, 422);
}

TEST_F(RoutesTest, DexFlowReportsAreCapped) {
    for (std::uint32_t seq = 0; seq < 2000; ++seq) {
        for (std::uint32_t node = 1; node <= 3; ++node) {
            DexReport d = dex(seq, node, 50 * node);
            d.flow_id = 88;
            store.consume({"10.0.0.9", 2}, d);
        }
    }
    store.flush();
    Routes capped(store, providers, {.max_dex_reports = 3000});
    const Response r = capped.handle("GET", "/api/v1/dex/flows/88?limit=100000");
    ASSERT_EQ(r.status, 200);
    const json f = json::parse(r.body);
    EXPECT_EQ(f["reports"], 3000);
    EXPECT_EQ(f["packets"].size(), 1000u);
    EXPECT_EQ(f["incomplete_packets"], 0);
    EXPECT_EQ(json::parse(capped.handle("GET", "/api/v1/dex/flows/88?limit=30").body)["reports"],
              30);
}

}  // namespace
}  // namespace ioam::collector::api
