#pragma once
// A TraceStore on SQLite (the batching stage over the SQLite back end), for callers that name
// the back end; everything else uses make_store().

#include "collector/store/batching_store.hpp"
#include "collector/store/sqlite/sqlite_backend.hpp"

namespace ioam::collector::store {

class SqliteStore final : public BatchingStore {
  public:
    static constexpr int kSchemaVersion = kSqliteSchemaVersion;
    // config.path is the file; throws std::runtime_error.
    explicit SqliteStore(const StoreConfig& config)
        : BatchingStore(config, open_sqlite_backend(config.path)) {}
};

}  // namespace ioam::collector::store
