#include "collector/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::store {
namespace {

using namespace ioam::collector::test;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;
constexpr std::uint64_t kSec = 1'000'000'000;

DexReport make_dex(std::uint32_t flow, std::uint32_t seq, std::uint32_t node, std::uint32_t usec) {
    DexReport d;
    d.observation_time_ns = kT0 + seq * kSec;
    d.observation_domain = 3;
    d.namespace_id = 9;
    d.ext_flags = 0xc0;
    d.trace_type = kTraceType;
    d.flow_id = flow;
    d.sequence_number = seq;
    d.node = make_node(node, 1'700'000'000, usec);
    return d;
}

StoreConfig config_for(const TempDb& db) {
    StoreConfig c;
    c.path = db.path();
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    return c;
}

TEST(SqliteStore, RoundTripAndFilters) {
    TempDb db;
    SqliteStore store(config_for(db));
    store.start();
    const IoamTrace a = make_trace({1, 2, 3}, 123, kT0);
    IoamTrace b = make_trace({1, 4}, 7, kT0 + 10 * kSec);
    b.nodes[0].opaque_state = OpaqueState{0x123456, {1, 2, 3, 4}};
    b.nodes[1].node_id_wide = 0xabcdef0123ull;
    const DexReport d = make_dex(77, 5, 2, 10);
    store.consume({"10.0.0.1", 1}, a);
    store.consume({"10.0.0.2", 2}, b);
    store.consume({"10.0.0.3", 3}, d);
    store.flush();

    auto all = store.query({});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ(std::get<IoamTrace>((*all)[0].record), a);
    EXPECT_EQ((*all)[0].exporter, "10.0.0.1");
    EXPECT_EQ(std::get<IoamTrace>((*all)[1].record).nodes, b.nodes);
    EXPECT_EQ(std::get<DexReport>((*all)[2].record), d);
    EXPECT_EQ((*all)[2].kind(), RecordKind::dex);

    auto by_ns = store.query({.namespace_id = 7});
    ASSERT_EQ(by_ns->size(), 1u);
    EXPECT_EQ((*by_ns)[0].exporter, "10.0.0.2");
    auto by_node = store.query({.node_id = 2});  // in trace a and the DEX report
    ASSERT_EQ(by_node->size(), 2u);
    auto by_wide = store.query({.node_id = 0xabcdef0123ull});
    ASSERT_EQ(by_wide->size(), 1u);
    auto by_flow = store.query({.flow_id = 77});
    ASSERT_EQ(by_flow->size(), 1u);
    auto by_time = store.query({.from_ns = kT0 + kSec, .to_ns = kT0 + 11 * kSec});
    ASSERT_EQ(by_time->size(), 2u);
    auto traces = store.query({.kind = RecordKind::trace});
    EXPECT_EQ(traces->size(), 2u);

    auto page1 = store.query({.limit = 2});
    ASSERT_EQ(page1->size(), 2u);
    auto page2 = store.query({.after_id = page1->back().id, .limit = 2});
    ASSERT_EQ(page2->size(), 1u);
    EXPECT_EQ((*page2)[0].id, (*all)[2].id);

    auto one = store.get((*all)[1].id);
    ASSERT_TRUE(one && one->has_value());
    EXPECT_EQ((*one)->exporter, "10.0.0.2");
    auto none = store.get(999999);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    EXPECT_EQ(store.stats().written, 3u);
}

TEST(SqliteStore, NodeAndPathSummaries) {
    TempDb db;
    SqliteStore store(config_for(db));
    store.start();
    for (int i = 0; i < 10; ++i) {
        store.consume({"e", 1}, make_trace({1, 2, 3}, 1, kT0 + i));
    }
    store.consume({"e", 1}, make_trace({1, 3}, 1, kT0 + 100));
    store.flush();

    auto nodes = store.nodes(100);
    ASSERT_TRUE(nodes);
    ASSERT_EQ(nodes->size(), 3u);
    const NodeSummary& n2 = (*nodes)[1];
    EXPECT_EQ(n2.node_id, 2u);
    EXPECT_EQ(n2.records, 10u);
    EXPECT_EQ(n2.first_seen_ns, kT0);
    EXPECT_EQ(n2.last_seen_ns, kT0 + 9);
    EXPECT_EQ(n2.segment.count, 10u);
    EXPECT_EQ(n2.segment.min_ns, 100'000);     // hops are 100 us apart
    EXPECT_EQ((*nodes)[0].segment.count, 0u);  // node 1 is always first
    EXPECT_EQ((*nodes)[2].records, 11u);

    auto paths = store.paths(10, 1000);
    ASSERT_TRUE(paths);
    ASSERT_EQ(paths->size(), 2u);
    EXPECT_EQ((*paths)[0].path, "1,2,3");
    EXPECT_EQ((*paths)[0].packets, 10u);
    EXPECT_EQ((*paths)[0].p50_ns, 200'000);
    EXPECT_EQ((*paths)[1].path, "1,3");
    EXPECT_EQ((*paths)[1].p99_ns, 100'000);
}

TEST(SqliteStore, FullQueueDropsAndCounts) {
    TempDb db;
    StoreConfig c = config_for(db);
    c.queue_capacity = 2;
    SqliteStore store(c);
    for (int i = 0; i < 5; ++i) {
        store.consume({"e", 1}, make_trace({1}));
    }
    EXPECT_EQ(store.stats().dropped, 3u);
    EXPECT_EQ(store.stats().queued, 2u);
    store.start();
    store.stop();  // flushes everything queued
    EXPECT_EQ(store.stats().written, 2u);
}

TEST(SqliteStore, StopFlushesEverythingQueued) {
    TempDb db;
    {
        SqliteStore store(config_for(db));
        store.start();
        for (int i = 0; i < 10000; ++i) {
            store.consume({"e", 1}, make_trace({1, 2}));
        }
        store.stop();
    }
    SqliteStore reopened(config_for(db));
    auto all = reopened.query({.limit = 20000});
    EXPECT_EQ(all->size(), 10000u);
}

TEST(SqliteStore, SchemaVersionAndMigrationGuard) {
    TempDb db;
    { SqliteStore store(config_for(db)); }
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &s, nullptr);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(s, 0), SqliteStore::kSchemaVersion);
    sqlite3_finalize(s);
    sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    EXPECT_THROW(SqliteStore store(config_for(db)), std::runtime_error);
}

TEST(SqliteStore, RetentionByAge) {
    TempDb db;
    StoreConfig c = config_for(db);
    c.retention_age_s = 3600;
    SqliteStore store(c);
    const auto now =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    store.consume({"e", 1}, make_trace({1}, 1, now - 7200 * kSec));
    store.consume({"e", 1}, make_trace({2}, 1, now));
    store.start();
    store.stop();  // the writer applies retention after its first batch
    auto all = store.query({});
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(std::get<IoamTrace>((*all)[0].record).nodes[0].node_id, 2u);
    EXPECT_EQ(store.stats().retained_deleted, 1u);
    EXPECT_TRUE(store.query({.node_id = 1})->empty());
}

TEST(SqliteStore, RetentionBySize) {
    TempDb db;
    StoreConfig c = config_for(db);
    c.retention_max_bytes = 64 * 1024;
    SqliteStore store(c);
    for (int i = 0; i < 5000; ++i) {
        store.consume({"e", 1}, make_trace({1, 2, 3, 4}));
    }
    store.start();
    store.stop();
    EXPECT_GT(store.stats().retained_deleted, 0u);
    EXPECT_LE(store.stats().db_bytes, c.retention_max_bytes);
    EXPECT_LT(store.query({.limit = 10000})->size(), 5000u);
}

}  // namespace
}  // namespace ioam::collector::store
