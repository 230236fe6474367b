// The ClickHouse back end beyond the conformance suite: the server killed and restarted under
// a running store, and two collectors writing to two shards of one cluster.

#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "collector/store/rollup.hpp"
#include "collector/store/trace_store.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/packets.hpp"
#include "tests/collector/store/clickhouse_helpers.hpp"

namespace ioam::collector::store {
namespace {

using test::make_packet;
using test::make_trace;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;

std::vector<StoredRecord> all(TraceStore& s) {
    auto rows = s.query({.limit = 1'000'000});
    EXPECT_TRUE(rows);
    return rows ? *rows : std::vector<StoredRecord>{};
}

TEST(ClickhouseStore, BadLocationsAreRefusedWithOneLine) {
    for (const auto& [url, says] : std::vector<std::pair<std::string, std::string>>{
             {"clickhouse:127.0.0.1:8123/db", "no //"},
             {"clickhouse://127.0.0.1:8123", "no database"},
             {"clickhouse://127.0.0.1/db", "bad HOST:PORT"},
             {"clickhouse://127.0.0.1:0/db", "bad HOST:PORT"},
             {"clickhouse://127.0.0.1:8123/db;DROP", "letters, digits and _"},
             {"clickhouse://127.0.0.1:8123/db?collector=8192", "collector must be 0 to 8191"},
             {"clickhouse://127.0.0.1:8123/db?collector=-1", "collector must be 0 to 8191"},
             {"clickhouse://127.0.0.1:8123/db?cluster=a'b", "bad parameter"},
             {"clickhouse://127.0.0.1:8123/db?user=x", "bad parameter"},
             {"clickhouse://127.0.0.1:1/db", "Connection refused"},
         }) {
        try {
            make_store(test::clickhouse_store_config(url));
            ADD_FAILURE() << url << " accepted";
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(says), std::string::npos) << url << ": " << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        }
    }
}

TEST(ClickhouseStore, ServerKilledMidRunEveryRecordArrivesOnce) {
    test::ClickhouseServer server;
    if (!server.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << server.why();
    }
    auto store = make_store(
        test::clickhouse_store_config(test::clickhouse_url(server, test::unique_database())));
    store->start();
    for (std::uint64_t i = 0; i < 1000; ++i) {
        store->consume({"10.0.0.1", 1, true}, make_trace({1, 2}, 5, kT0 + i));
    }
    store->flush();
    ASSERT_EQ(store->stats().written, 1000u);

    server.kill();
    for (std::uint64_t i = 1000; i < 3000; ++i) {
        store->consume({"10.0.0.1", 1, true}, make_trace({1, 2}, 5, kT0 + i));
    }
    store->consume(make_packet({1, 2}, 5, kT0, 1000));
    ASSERT_TRUE(test::wait_for([&] { return store->stats().errors > 0 && !store->ready(); }));
    EXPECT_LT(store->stats().written, 3000u);

    server.start();
    ASSERT_EQ(server.why(), "");
    store->flush();
    EXPECT_TRUE(store->ready());
    const auto s = store->stats();
    EXPECT_EQ(s.written, 3000u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.dropped, 0u);
    const auto rows = all(*store);
    ASSERT_EQ(rows.size(), 3000u);  // each once: nothing lost, nothing written twice
    std::set<std::uint64_t> times;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        times.insert(std::get<IoamTrace>(rows[i].record).observation_time_ns);
        if (i > 0) {
            EXPECT_GT(rows[i].id, rows[i - 1].id);
        }
    }
    EXPECT_EQ(times.size(), 3000u);
    auto paths = store->paths({}, 10);
    ASSERT_TRUE(paths);
    ASSERT_EQ(paths->size(), 1u);
    EXPECT_EQ((*paths)[0].packets, 1u);
}

// A store made by schema 1 (rollups as per-batch rows, histograms encoded) is converted once:
// the summaries it answered before come out the same, from schema 2's minute tables.
TEST(ClickhouseStore, SchemaOneRollupsAreConvertedOnce) {
    test::ClickhouseServer server;
    if (!server.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << server.why();
    }
    const std::string db = test::unique_database();
    const auto hist = [](std::initializer_list<std::int64_t> values) {
        rollup::Histogram h;
        for (const auto v : values) {
            h.add(v);
        }
        std::string out = "'";
        for (const auto byte : h.encode()) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        }
        return out + "'";
    };
    const std::string other_slice = "9223372036854775816";  // 2^63 + 8
    const std::uint64_t minute = kT0 / rollup::kMinuteNs;
    const std::string m = std::to_string(minute);
    for (const std::string& sql : std::vector<std::string>{
             "CREATE DATABASE " + db,
             "CREATE TABLE " + db +
                 ".schema_migrations (version UInt32, applied_ns UInt64) ENGINE = MergeTree() "
                 "ORDER BY version",
             "INSERT INTO " + db + ".schema_migrations VALUES (1, 0)",
             "CREATE TABLE " + db +
                 ".records (id Int64, time_ns UInt64, kind UInt8, exporter String, domain UInt32, "
                 "obs_domain UInt32, namespace UInt16, trace_type UInt32, node_len UInt8, flags "
                 "UInt8, ext_flags UInt8, flow_id Nullable(UInt32), seq Nullable(UInt32), raw "
                 "String, nodes String, path String, node_ids Array(UInt64)) ENGINE = MergeTree() "
                 "ORDER BY id",
             "CREATE TABLE " + db + ".high_water (id Int64) ENGINE = MergeTree() ORDER BY id",
             "CREATE TABLE " + db +
                 ".rollup_paths (batch UInt64, minute UInt64, namespace UInt16, path String, "
                 "packets Float64, first_ns UInt64, last_ns UInt64, lost Float64, d_count UInt64, "
                 "d_sum Float64, d_min Int64, d_max Int64, hist String) ENGINE = MergeTree() "
                 "ORDER BY (minute, namespace, path)",
             "CREATE TABLE " + db +
                 ".rollup_nodes (batch UInt64, minute UInt64, node UInt64, packets Float64, "
                 "first_ns UInt64, last_ns UInt64, t_count UInt64, t_sum Float64, t_min Int64, "
                 "t_max Int64, s_count UInt64, s_sum Float64, s_min Int64, s_max Int64, q_count "
                 "UInt64, q_sum Float64, q_min Int64, q_max Int64) ENGINE = MergeTree() ORDER BY "
                 "(minute, node)",
             "CREATE TABLE " + db +
                 ".rollup_segments (batch UInt64, minute UInt64, src UInt64, dst UInt64, packets "
                 "Float64, first_ns UInt64, last_ns UInt64, lost Float64, d_count UInt64, d_sum "
                 "Float64, d_min Int64, d_max Int64, hist String) ENGINE = MergeTree() ORDER BY "
                 "(minute, src, dst)",
             // Two batches of one path in one minute (the second without delays, its token in
             // another slice of the conversion), one in the next minute.
             "INSERT INTO " + db + ".rollup_paths VALUES (7, " + m +
                 ", 5, '1,2', 3, 10, 20, 1, 3, " + "600, 100, 300, " + hist({100, 200, 300}) +
                 "), (" + other_slice + ", " + m + ", 5, '1,2', 2, 5, 30, " +
                 "0, 0, 0, 0, 0, ''), (" + other_slice + ", " + m +
                 " + 1, 5, '1,2', 1, 70, 80, 0, 1, 50, 50, 50, " + hist({50}) + ")",
             "INSERT INTO " + db + ".rollup_nodes VALUES (7, " + m + ", 1, 4, 10, 20, 2, 60, 20, " +
                 "40, 0, 0, 0, 0, 1, 3, 3, 3)",
             "INSERT INTO " + db + ".rollup_segments VALUES (7, " + m +
                 ", 1, 2, 4, 10, 20, 0, 1, " + "7, 7, 7, " + hist({7}) + ")",
         }) {
        test::clickhouse_sql(server, sql);
    }
    for (int open = 0; open < 2; ++open) {  // the second open finds schema 2 and converts nothing
        auto store = make_store(test::clickhouse_store_config(test::clickhouse_url(server, db)));
        auto paths = store->paths({}, 10);
        ASSERT_TRUE(paths);
        ASSERT_EQ(paths->size(), 1u);
        const PathSummary& p = (*paths)[0];
        EXPECT_EQ(p.path, "1,2");
        EXPECT_EQ(p.namespace_id, 5u);
        EXPECT_EQ(p.packets, 6u);
        EXPECT_EQ(p.lost, 1u);
        EXPECT_EQ(p.first_seen_ns, 5u);
        EXPECT_EQ(p.last_seen_ns, 80u);
        EXPECT_EQ(p.delay.count, 4u);
        EXPECT_EQ(p.delay.min_ns, 50);
        EXPECT_EQ(p.delay.max_ns, 300);
        EXPECT_DOUBLE_EQ(p.delay.mean_ns, 162.5);
        ASSERT_TRUE(p.percentiles.p50_ns);
        EXPECT_NEAR(static_cast<double>(*p.percentiles.p50_ns), 100, 6);
        EXPECT_EQ(p.percentiles.p99_ns, 300);
        auto nodes = store->nodes({}, 10);
        ASSERT_TRUE(nodes);
        ASSERT_EQ(nodes->size(), 1u);
        EXPECT_EQ((*nodes)[0].records, 4u);
        EXPECT_EQ((*nodes)[0].transit.count, 2u);
        EXPECT_EQ((*nodes)[0].transit.min_ns, 20);
        EXPECT_EQ((*nodes)[0].segment.count, 0u);
        EXPECT_EQ((*nodes)[0].queue.max_ns, 3);
        auto segments = store->segments({}, 10);
        ASSERT_TRUE(segments);
        ASSERT_EQ(segments->size(), 1u);
        EXPECT_EQ((*segments)[0].delay.count, 1u);
        EXPECT_EQ((*segments)[0].percentiles.p50_ns, 7);
        EXPECT_EQ(
            test::clickhouse_sql(server, "SELECT max(version) FROM " + db + ".schema_migrations"),
            "2\n");
        EXPECT_EQ(
            test::clickhouse_sql(server, "SELECT count() FROM system.tables WHERE database = '" +
                                             db + "' AND name LIKE 'rollup_%'"),
            "0\n");
    }
    test::clickhouse_sql(server, "DROP DATABASE " + db);
}

// Each collector writes to its own shard; both read the whole cluster through its
// Distributed tables. Packets are correlated per collector (all nodes of a path report to
// the same collector), so each path's rollups come from one shard and add up exactly.
TEST(ClickhouseStore, TwoCollectorsOnTwoShardsEachAnswerForTheCluster) {
    const std::vector<std::uint16_t> shards = {test::free_port(), test::free_port()};
    test::ClickhouseServer one(shards, shards[0]);
    test::ClickhouseServer two(shards, shards[1]);
    for (const auto* server : {&one, &two}) {
        if (!server->why().empty()) {
            GTEST_SKIP() << "SKIPPED: " << server->why();
        }
    }
    const std::string db = test::unique_database();
    auto a = make_store(
        test::clickhouse_store_config(test::clickhouse_url(one, db, "?cluster=ioam&collector=1")));
    auto b = make_store(
        test::clickhouse_store_config(test::clickhouse_url(two, db, "?cluster=ioam&collector=2")));
    a->start();
    b->start();
    for (std::uint64_t i = 0; i < 300; ++i) {
        a->consume({"10.0.0.1", 1}, make_trace({1, 2}, 5, kT0 + i));
    }
    for (std::uint64_t i = 0; i < 200; ++i) {
        b->consume({"10.0.0.2", 1}, make_trace({3, 4}, 5, kT0 + i));
    }
    for (int i = 0; i < 10; ++i) {
        a->consume(make_packet({1, 2}, 5, kT0, 1000));
    }
    for (int i = 0; i < 20; ++i) {
        b->consume(make_packet({3, 4}, 5, kT0, 1000));
    }
    a->flush();
    b->flush();
    for (TraceStore* store : {a.get(), b.get()}) {
        const auto rows = all(*store);
        ASSERT_EQ(rows.size(), 500u);
        std::map<std::string, int> by_exporter;
        std::set<std::int64_t> ids;
        for (const auto& r : rows) {
            by_exporter[r.exporter]++;
            ids.insert(r.id);
        }
        EXPECT_EQ(by_exporter, (std::map<std::string, int>{{"10.0.0.1", 300}, {"10.0.0.2", 200}}));
        EXPECT_EQ(ids.size(), 500u);
        // Collector N's ids are N * 2^40 + 1 on.
        EXPECT_EQ(rows.front().id, (std::int64_t{1} << 40) + 1);
        EXPECT_EQ(rows.back().id, (std::int64_t{2} << 40) + 200);
        auto other = store->get(rows.back().id);
        ASSERT_TRUE(other && other->has_value());
        EXPECT_EQ((*other)->exporter, "10.0.0.2");
        EXPECT_EQ(store->query({.node_id = 3, .limit = 1000})->size(), 200u);

        auto paths = store->paths({}, 10);
        ASSERT_TRUE(paths);
        ASSERT_EQ(paths->size(), 2u);
        EXPECT_EQ((*paths)[0].path, "3,4");
        EXPECT_EQ((*paths)[0].packets, 20u);
        EXPECT_EQ((*paths)[1].packets, 10u);
        EXPECT_EQ(store->nodes({}, 10)->size(), 4u);
        EXPECT_EQ(store->segments({}, 10)->size(), 2u);
    }
    // A collector started again continues its own id range.
    a->stop();
    a = make_store(
        test::clickhouse_store_config(test::clickhouse_url(one, db, "?cluster=ioam&collector=1")));
    a->start();
    a->consume({"10.0.0.1", 1}, make_trace({1, 2}, 5, kT0));
    a->flush();
    auto next = a->get((std::int64_t{1} << 40) + 301);
    ASSERT_TRUE(next && next->has_value());
    EXPECT_EQ((*next)->exporter, "10.0.0.1");
    EXPECT_EQ(all(*b).size(), 501u);
}

}  // namespace
}  // namespace ioam::collector::store
