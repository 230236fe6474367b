// What only the SQLite back end does: its schema version, refusing older databases, storing the
// hops once, the store string.

#include "collector/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

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
    EXPECT_EQ(scalar(db.path(), "SELECT count(*) FROM records WHERE nodes IS NULL"), 1);
    EXPECT_EQ(scalar(db.path(), "SELECT count(*) FROM exporters"), 1);
    EXPECT_EQ(scalar(db.path(), "SELECT value FROM meta WHERE key = 'high_water'"), 2);
}

TEST(SqliteStore, RefusesOtherSchemaVersionsWithOneLine) {
    for (const char* version : {"PRAGMA user_version=2", "PRAGMA user_version=99"}) {
        TempDb db;
        exec(db.path(), "CREATE TABLE records(id INTEGER PRIMARY KEY)");
        exec(db.path(), version);
        try {
            SqliteStore store(config_for(db));
            ADD_FAILURE() << "opened " << version;
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.find('\n'), std::string::npos);
            EXPECT_NE(what.find(db.path()), std::string::npos) << what;
            EXPECT_NE(what.find("schema version"), std::string::npos) << what;
        }
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
