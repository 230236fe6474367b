#pragma once
// The SQLite back end: the only sqlite3 user. One row per written batch with its reports
// packed (sqlite/record_block.hpp; hops as the raw trace data, decoded on read), dictionaries
// for exporters and paths, per-minute rollup tables, WAL with synchronous=NORMAL. A writer
// connection (the batching stage's thread) and a reader connection (serialised by a mutex).
//
// Schema versions live in PRAGMA user_version; version 5 is this layout. Versions 1 to 4 are
// converted in place at open; a newer version is refused with a one-line message.
//
// Threading: as StoreBackend.

#include <memory>
#include <string>

#include "collector/analysis/delay.hpp"
#include "collector/store/backend.hpp"

namespace ioam::collector::store {

constexpr int kSqliteSchemaVersion = 5;

// Opens (creating if needed) the database at `path`; throws std::runtime_error.
std::unique_ptr<StoreBackend> open_sqlite_backend(const std::string& path);
// Opens an existing database of this schema version read-only (a "file:PATH?mode=ro" URI),
// safe while a collector writes it; throws std::runtime_error.
std::unique_ptr<TraceReader> open_sqlite_reader(const std::string& path);

}  // namespace ioam::collector::store
