// The store conformance suite on the SQLite back end: a real database file, a second
// connection holding the write lock to make batches fail, the file deleted under the store.

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "tests/collector/store/conformance.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::store::conformance {
namespace {

// Another process's write transaction, as `sqlite3 FILE 'BEGIN IMMEDIATE'` would hold it.
class SqliteWriteLock {
  public:
    explicit SqliteWriteLock(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK ||
            sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
            throw std::runtime_error("cannot lock " + path);
        }
    }
    ~SqliteWriteLock() {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(db_);
    }
    SqliteWriteLock(const SqliteWriteLock&) = delete;
    SqliteWriteLock& operator=(const SqliteWriteLock&) = delete;

  private:
    sqlite3* db_ = nullptr;
};

struct SqliteBackendUnderTest {
    using WriteBlock = SqliteWriteLock;
    test::TempDb db;
    std::unique_ptr<TraceStore> open(StoreConfig c) {
        c.path = "sqlite:" + db.path();
        return make_store(c);
    }
    std::unique_ptr<SqliteWriteLock> block_writes() {
        return std::make_unique<SqliteWriteLock>(db.path());
    }
    void lose_storage() {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(db.path() + suffix);
        }
    }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Types<SqliteBackendUnderTest>);

}  // namespace ioam::collector::store::conformance
