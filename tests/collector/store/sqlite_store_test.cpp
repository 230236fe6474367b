// What only the SQLite back end does: its schema version, converting older databases, refusing
// newer ones, storing the hops once, the store string.

#include "collector/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "collector/analysis/delay.hpp"
#include "collector/store/record_codec.hpp"
#include "collector/store/sqlite/record_block.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::store {
namespace {

using namespace ioam::collector::test;

StoreConfig config_for(const TempDb& db) {
    StoreConfig c;
    c.path = db.path();
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    return c;
}

std::int64_t scalar(const std::string& path, const char* sql) {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw, sql, -1, &s, nullptr);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW) << sql;
    const auto v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(raw);
    return v;
}

void exec(const std::string& path, const char* sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(raw);
}

// Every record packed in the blocks of the database at `path`, in id order.
struct PackedCopy {
    std::int64_t id;
    std::vector<std::uint8_t> raw, nodes;
};
std::vector<PackedCopy> block_records(const std::string& path) {
    std::vector<PackedCopy> out;
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw, "SELECT first_id, data FROM blocks ORDER BY first_id", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 1));
        sqlite::BlockReader block(sqlite3_column_int64(s, 0),
                                  {p, static_cast<std::size_t>(sqlite3_column_bytes(s, 1))});
        sqlite::PackedRecord r;
        while (block.next(r)) {
            out.push_back({r.id, {r.raw.begin(), r.raw.end()}, {r.nodes.begin(), r.nodes.end()}});
        }
        EXPECT_FALSE(block.corrupt());
    }
    sqlite3_finalize(s);
    sqlite3_close(raw);
    return out;
}

TEST(SqliteStore, HopsAreStoredOnceAsTheRawTraceData) {
    TempDb db;
    {
        SqliteStore store(config_for(db));
        store.start();
        store.consume({"e", 1}, make_trace({1, 2, 3}));
        IoamTrace hop_list = make_trace({4, 5});
        hop_list.raw_data.clear();
        store.consume({"e", 1}, hop_list);
        store.stop();
    }
    EXPECT_EQ(scalar(db.path(), "PRAGMA user_version"), SqliteStore::kSchemaVersion);
    // The trace's hops are in its raw data only; the hop list's (no raw data) in compact form.
    const auto blocks = block_records(db.path());
    ASSERT_EQ(blocks.size(), 2u);
    EXPECT_TRUE(blocks[0].nodes.empty());
    EXPECT_FALSE(blocks[0].raw.empty());
    EXPECT_FALSE(blocks[1].nodes.empty());
    EXPECT_TRUE(blocks[1].raw.empty());
    EXPECT_EQ(scalar(db.path(), "SELECT count(*) FROM exporters"), 1);
    EXPECT_EQ(scalar(db.path(), "SELECT value FROM meta WHERE key = 'high_water'"), 2);
}

// Origin::nodes_from_raw (the decoder's word that it decoded the nodes from the raw data)
// spares the writer decoding the raw data again: what it says is what is stored.
TEST(SqliteStore, NodesDecodedFromTheRawDataAreNotDecodedAgain) {
    TempDb db;
    const IoamTrace t = make_trace({1, 2, 3});
    IoamTrace other = t;  // nodes the raw data does not rebuild
    other.nodes[0].node_id = 9;
    const Origin from_raw{.exporter = "e", .domain = 1, .nodes_from_raw = true};
    {
        SqliteStore store(config_for(db));
        store.start();
        store.consume(from_raw, t);
        store.consume({"e", 1}, other);
        store.consume(from_raw, other);
        store.flush();
        const auto first = store.get(1);
        ASSERT_TRUE(first && *first);
        EXPECT_EQ(std::get<IoamTrace>((*first)->record), t);
        const auto checked = store.get(2);
        ASSERT_TRUE(checked && *checked);
        EXPECT_EQ(std::get<IoamTrace>((*checked)->record), other);
        store.stop();
    }
    const auto blocks = block_records(db.path());
    ASSERT_EQ(blocks.size(), 3u);
    EXPECT_TRUE(blocks[0].nodes.empty());
    EXPECT_FALSE(blocks[1].nodes.empty());  // checked, and found not to rebuild
    EXPECT_TRUE(blocks[2].nodes.empty());   // taken at its word
}

// The writer takes a batch by swapping the queue out (what was queued after the batch goes
// back) or, with a backlog, by moving part of it; enqueue() reuses the entries of the batch
// written before, by kind. Through all of these, ids follow the order of arrival and every
// record reads back as given.
TEST(SqliteStore, BatchesKeepOrderAndContentWhileEntriesAreReused) {
    TempDb db;
    StoreConfig c = config_for(db);
    c.batch_size = 8;
    std::vector<std::variant<IoamTrace, DexReport>> sent;
    const auto queue = [&](SqliteStore& store, std::uint32_t count) {
        for (std::uint32_t i = 0; i < count; ++i) {
            const auto k = static_cast<std::uint32_t>(sent.size());
            if (k % 3 == 0) {
                sent.emplace_back(make_dex(k, k, k + 1, 5));
                store.consume({"e", 1}, std::get<DexReport>(sent.back()));
            } else {
                sent.emplace_back(make_trace({k, k + 1, k + 2}));
                store.consume({.exporter = "f", .domain = 2, .nodes_from_raw = true},
                              std::get<IoamTrace>(sent.back()));
            }
        }
    };
    // `before` records queued before the writer starts, then rounds that reuse entries.
    const auto run = [&](std::uint32_t before) {
        SqliteStore store(c);
        queue(store, before);
        store.start();
        store.flush();
        for (int round = 0; round < 4; ++round) {
            queue(store, 10);
            store.flush();
        }
        store.stop();
    };
    run(50);  // batches moved out of a backlog
    run(10);  // a batch of 8 swapped out, the 2 after it moved back, then swapped out
    SqliteStore store(c);
    auto rows = store.query({.limit = 1000});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), sent.size());
    std::sort(rows->begin(), rows->end(),
              [](const StoredRecord& a, const StoredRecord& b) { return a.id < b.id; });
    for (std::size_t i = 0; i < rows->size(); ++i) {
        const StoredRecord& r = (*rows)[i];
        EXPECT_EQ(r.id, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(r.record, sent[i]) << "record " << i;
        EXPECT_EQ(r.exporter, i % 3 == 0 ? "e" : "f") << "record " << i;
    }
}

// The version 2 schema (per-hop rows), as the collector before issue 14 created it.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE records(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, time_ns INTEGER NOT NULL,
    exporter TEXT NOT NULL, domain INTEGER NOT NULL, namespace INTEGER NOT NULL,
    trace_type INTEGER NOT NULL, node_len INTEGER NOT NULL, flags INTEGER NOT NULL,
    ext_flags INTEGER NOT NULL, flow_id INTEGER, seq INTEGER, path TEXT, path_hash INTEGER,
    e2e_ns INTEGER, raw BLOB);
CREATE TABLE hops(record_id INTEGER NOT NULL, idx INTEGER NOT NULL, node INTEGER,
    hop_limit INTEGER, node_id INTEGER, ingress_if INTEGER, egress_if INTEGER,
    ts_secs INTEGER, ts_frac INTEGER, transit_delay INTEGER, namespace_data INTEGER,
    queue_depth INTEGER, checksum INTEGER, hop_limit_wide INTEGER, node_id_wide INTEGER,
    ingress_if_wide INTEGER, egress_if_wide INTEGER, namespace_data_wide INTEGER,
    buffer_occupancy INTEGER, opaque_schema INTEGER, opaque_data BLOB, segment_ns INTEGER,
    PRIMARY KEY(record_id, idx)) WITHOUT ROWID;
CREATE INDEX records_time ON records(time_ns);
CREATE INDEX records_namespace ON records(namespace, time_ns);
CREATE INDEX records_flow ON records(flow_id, seq) WHERE flow_id IS NOT NULL;
CREATE INDEX records_path ON records(path_hash) WHERE path_hash IS NOT NULL;
CREATE INDEX hops_node ON hops(node) WHERE node IS NOT NULL;
CREATE INDEX hops_node_wide ON hops(node_id_wide) WHERE node_id_wide IS NOT NULL;
PRAGMA user_version=2;
)sql";

// Writes one record the way the version 2 store did.
void insert_v2(sqlite3* db, std::int64_t id, const std::string& exporter,
               const std::variant<IoamTrace, DexReport>& rec) {
    const IoamTrace* t = std::get_if<IoamTrace>(&rec);
    const DexReport* d = std::get_if<DexReport>(&rec);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(
        db,
        "INSERT INTO records(id,kind,time_ns,exporter,domain,namespace,trace_type,"
        "node_len,flags,ext_flags,flow_id,seq,raw) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
        -1, &s, nullptr);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, t ? 0 : 1);
    sqlite3_bind_int64(
        s, 3, static_cast<std::int64_t>(t ? t->observation_time_ns : d->observation_time_ns));
    sqlite3_bind_text(s, 4, exporter.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, t ? t->observation_domain : d->observation_domain);
    sqlite3_bind_int(s, 6, t ? t->namespace_id : d->namespace_id);
    sqlite3_bind_int64(s, 7, t ? t->trace_type : d->trace_type);
    sqlite3_bind_int(s, 8, t ? t->node_len : 0);
    sqlite3_bind_int(s, 9, t ? t->flags : d->flags);
    sqlite3_bind_int(s, 10, t ? 0 : d->ext_flags);
    if (d) {
        sqlite3_bind_int64(s, 11, *d->flow_id);
        sqlite3_bind_int64(s, 12, *d->sequence_number);
    }
    if (t) {
        sqlite3_bind_blob(s, 13, t->raw_data.data(), static_cast<int>(t->raw_data.size()),
                          SQLITE_TRANSIENT);
    }
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(s);
    const std::vector<IoamNode> nodes = t ? t->nodes : std::vector<IoamNode>{d->node};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const IoamNode& n = nodes[i];
        sqlite3_prepare_v2(db,
                           "INSERT INTO hops(record_id,idx,hop_limit,node_id,ingress_if,egress_if,"
                           "ts_secs,ts_frac,node_id_wide,opaque_schema,opaque_data) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &s, nullptr);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(i));
        sqlite3_bind_int(s, 3, *n.hop_limit);
        sqlite3_bind_int64(s, 4, *n.node_id);
        sqlite3_bind_int(s, 5, *n.ingress_if_id);
        sqlite3_bind_int(s, 6, *n.egress_if_id);
        sqlite3_bind_int64(s, 7, *n.timestamp_secs);
        sqlite3_bind_int64(s, 8, *n.timestamp_frac);
        if (n.node_id_wide) {
            sqlite3_bind_int64(s, 9, static_cast<std::int64_t>(*n.node_id_wide));
        }
        if (n.opaque_state) {
            sqlite3_bind_int64(s, 10, n.opaque_state->schema_id);
            sqlite3_bind_blob(s, 11, n.opaque_state->data.data(),
                              static_cast<int>(n.opaque_state->data.size()), SQLITE_TRANSIENT);
        }
        ASSERT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db);
        sqlite3_finalize(s);
    }
}

TEST(SqliteStore, ConvertsSchemaVersion2KeepingIds) {
    TempDb db;
    const IoamTrace trace = make_trace({1, 2, 3}, 123);
    IoamTrace hop_list = make_trace({4, 5});
    hop_list.raw_data.clear();
    hop_list.nodes[0].node_id_wide = 0xabcdef;
    DexReport dex;
    dex.observation_time_ns = 1'700'000'000'000'000'000;
    dex.observation_domain = 3;
    dex.namespace_id = 9;
    dex.ext_flags = 0xc0;
    dex.trace_type = kTraceType;
    dex.flow_id = 77;
    dex.sequence_number = 5;
    dex.node = make_node(2, 1'700'000'000, 10);
    dex.node.opaque_state = OpaqueState{0x123456, {1, 2, 3, 4}};
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(raw, kVersion2, nullptr, nullptr, nullptr), SQLITE_OK);
        insert_v2(raw, 5, "10.0.0.1", trace);
        insert_v2(raw, 7, "10.0.0.2", hop_list);
        insert_v2(raw, 9, "10.0.0.3", dex);
        sqlite3_close(raw);
    }
    SqliteStore store(config_for(db));
    store.start();
    store.consume({"10.0.0.1", 1}, make_trace({6}));
    store.flush();
    const auto rows = store.query({.limit = 10});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 4u);
    EXPECT_EQ((*rows)[0].id, 5);
    EXPECT_EQ(std::get<IoamTrace>((*rows)[0].record), trace);
    EXPECT_EQ((*rows)[0].exporter, "10.0.0.1");
    EXPECT_EQ((*rows)[1].id, 7);
    EXPECT_EQ(std::get<IoamTrace>((*rows)[1].record), hop_list);
    EXPECT_EQ((*rows)[2].id, 9);
    EXPECT_EQ(std::get<DexReport>((*rows)[2].record), dex);
    EXPECT_EQ((*rows)[3].id, 10);  // ids go on after the converted ones
    EXPECT_EQ(store.query({.node_id = 0xabcdef})->size(), 1u);
    EXPECT_EQ(store.query({.flow_id = 77})->size(), 1u);
    store.stop();
    EXPECT_EQ(scalar(db.path(), "PRAGMA user_version"), SqliteStore::kSchemaVersion);
    EXPECT_EQ(scalar(db.path(), "SELECT count(*) FROM sqlite_master WHERE name = 'hops'"), 0);
}

// Versions 3 and 4 (a row per record; 3 with a per-record DEX flow index instead of
// block_flows), made from an empty database of this version.
constexpr const char* kRowPerRecord = R"sql(
DROP TABLE blocks; DROP TABLE block_paths; DROP TABLE block_flows;
CREATE TABLE records(id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind INTEGER NOT NULL,
    exporter INTEGER NOT NULL, path INTEGER NOT NULL, obs_domain INTEGER NOT NULL,
    trace_type INTEGER NOT NULL, node_len INTEGER NOT NULL, flags INTEGER NOT NULL,
    ext_flags INTEGER NOT NULL, flow_id INTEGER, seq INTEGER, raw BLOB, nodes BLOB);
CREATE TABLE blocks(first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,
    min_time INTEGER NOT NULL, max_time INTEGER NOT NULL);
CREATE TABLE block_paths(first_id INTEGER NOT NULL, path_id INTEGER NOT NULL,
    PRIMARY KEY(first_id, path_id)) WITHOUT ROWID;
INSERT INTO exporters VALUES(1, '10.0.0.1', 1);
)sql";
constexpr const char* kVersion3 =
    "CREATE INDEX records_flow ON records(flow_id, id) WHERE flow_id IS NOT NULL; "
    "PRAGMA user_version=3;";
constexpr const char* kVersion4 =
    "CREATE TABLE block_flows(first_id INTEGER NOT NULL, flow_id INTEGER NOT NULL, "
    "PRIMARY KEY(first_id, flow_id)) WITHOUT ROWID; PRAGMA user_version=4;";

// Writes one record the way the version 3 and 4 store did (exporter 1).
void insert_v4(sqlite3* db, std::int64_t id, const Record& rec) {
    const auto nodes = nodes_of(rec);
    const RecordHeader h = header_of(rec);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO paths(namespace, path) VALUES(?, ?)", -1, &s,
                       nullptr);
    const std::string path = analysis::path_key(nodes);
    sqlite3_bind_int(s, 1, h.namespace_id);
    sqlite3_bind_text(s, 2, path.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db, "SELECT id FROM paths WHERE namespace = ? AND path = ?", -1, &s,
                       nullptr);
    sqlite3_bind_int(s, 1, h.namespace_id);
    sqlite3_bind_text(s, 2, path.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    const auto path_id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    for (const IoamNode& n : nodes) {
        for (const auto node : {analysis::node_identity(n), n.node_id_wide}) {
            if (node) {
                sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO path_nodes VALUES(?, ?)", -1, &s,
                                   nullptr);
                sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(*node));
                sqlite3_bind_int64(s, 2, path_id);
                ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
                sqlite3_finalize(s);
            }
        }
    }
    std::vector<std::uint8_t> compact;
    compact_of(rec, compact);
    const auto raw = raw_of(rec);
    sqlite3_prepare_v2(db, "INSERT INTO records VALUES(?,?,?,1,?,?,?,?,?,?,?,?,?,?)", -1, &s,
                       nullptr);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(h.time_ns));
    sqlite3_bind_int(s, 3, h.dex ? 1 : 0);
    sqlite3_bind_int64(s, 4, path_id);
    sqlite3_bind_int64(s, 5, h.obs_domain);
    sqlite3_bind_int64(s, 6, h.trace_type);
    sqlite3_bind_int(s, 7, h.node_len);
    sqlite3_bind_int(s, 8, h.flags);
    sqlite3_bind_int(s, 9, h.ext_flags);
    if (h.flow_id) {
        sqlite3_bind_int64(s, 10, *h.flow_id);
    }
    if (h.seq) {
        sqlite3_bind_int64(s, 11, *h.seq);
    }
    if (!raw.empty()) {
        sqlite3_bind_blob(s, 12, raw.data(), static_cast<int>(raw.size()), SQLITE_TRANSIENT);
    }
    if (!compact.empty()) {
        sqlite3_bind_blob(s, 13, compact.data(), static_cast<int>(compact.size()),
                          SQLITE_TRANSIENT);
    }
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(s);
}

DexReport dex_of_flow(std::uint32_t flow, std::uint32_t seq) {
    DexReport d;
    d.observation_time_ns = 1'700'000'000'000'000'000 + seq;
    d.namespace_id = 9;
    d.trace_type = kTraceType;
    d.flow_id = flow;
    d.sequence_number = seq;
    d.node = make_node(2, 1'700'000'000, 10);
    return d;
}

// Versions 3 and 4 kept a row per record: converted, every record keeps its id and contents,
// the filters find them through the blocks, and new ids go on after theirs.
class ConvertsRowPerRecord : public ::testing::TestWithParam<int> {};

TEST_P(ConvertsRowPerRecord, PacksThemIntoBlocks) {
    TempDb db;
    { SqliteStore store(config_for(db)); }
    std::vector<std::pair<std::int64_t, Record>> records;
    records.emplace_back(3, make_trace({1, 2, 3}));
    IoamTrace hop_list = make_trace({4, 5});
    hop_list.raw_data.clear();
    hop_list.nodes[0].node_id_wide = 0xabcdef;
    records.emplace_back(4, hop_list);
    for (std::uint32_t i = 0; i < 6; ++i) {
        records.emplace_back(5 + i, dex_of_flow(i % 2 == 0 ? 77 : 78, i));
    }
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(raw, kRowPerRecord, nullptr, nullptr, nullptr), SQLITE_OK);
        ASSERT_EQ(
            sqlite3_exec(raw, GetParam() == 3 ? kVersion3 : kVersion4, nullptr, nullptr, nullptr),
            SQLITE_OK);
        for (const auto& [id, rec] : records) {
            insert_v4(raw, id, rec);
        }
        ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO meta VALUES('high_water', 10)", nullptr, nullptr,
                               nullptr),
                  SQLITE_OK);
        sqlite3_close(raw);
    }
    SqliteStore store(config_for(db));
    store.start();
    store.consume({"10.0.0.1", 1}, dex_of_flow(77, 6));
    store.flush();
    const auto rows = store.query({.limit = 20});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), records.size() + 1);
    for (std::size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ((*rows)[i].id, records[i].first);
        EXPECT_EQ((*rows)[i].record, records[i].second) << "record " << records[i].first;
        EXPECT_EQ((*rows)[i].exporter, "10.0.0.1");
    }
    EXPECT_EQ(rows->back().id, 11);
    EXPECT_EQ(store.query({.flow_id = 77, .limit = 10})->size(), 4u);
    EXPECT_EQ(store.query({.flow_id = 78, .limit = 10})->size(), 3u);
    EXPECT_EQ(store.query({.flow_id = 79, .limit = 10})->size(), 0u);
    const auto wide = store.query({.node_id = 0xabcdef});
    ASSERT_EQ(wide->size(), 1u);
    EXPECT_EQ(wide->front().id, 4);
    store.stop();
    EXPECT_EQ(scalar(db.path(), "PRAGMA user_version"), SqliteStore::kSchemaVersion);
    EXPECT_EQ(scalar(db.path(),
                     "SELECT count(*) FROM sqlite_master WHERE name IN ('records', 'records_v4', "
                     "'records_flow')"),
              0);
    EXPECT_EQ(scalar(db.path(), "SELECT sum(count) FROM blocks"), 9);
}

INSTANTIATE_TEST_SUITE_P(Versions, ConvertsRowPerRecord, ::testing::Values(3, 4));

TEST(SqliteStore, RefusesANewerSchemaWithOneLine) {
    TempDb db;
    exec(db.path(), "CREATE TABLE records(id INTEGER PRIMARY KEY)");
    exec(db.path(), "PRAGMA user_version=99");
    try {
        SqliteStore store(config_for(db));
        ADD_FAILURE() << "opened version 99";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.find('\n'), std::string::npos);
        EXPECT_NE(what.find(db.path()), std::string::npos) << what;
        EXPECT_NE(what.find("schema version 99"), std::string::npos) << what;
    }
}

TEST(SqliteStore, StoreStrings) {
    TempDb db;
    StoreConfig c = config_for(db);
    c.path = "sqlite:" + db.path();
    EXPECT_NO_THROW(make_store(c));
    c.path = db.path();  // a bare path is a SQLite file
    EXPECT_NO_THROW(make_store(c));
    c.path = "clickhouse://localhost";
    EXPECT_THROW(make_store(c), std::runtime_error);
    c.path = "sqlite:";
    EXPECT_THROW(make_store(c), std::runtime_error);
}

}  // namespace
}  // namespace ioam::collector::store
