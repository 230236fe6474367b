#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "collector/store/batching_store.hpp"
#include "collector/store/clickhouse/clickhouse_backend.hpp"
#include "collector/store/sqlite/sqlite_backend.hpp"
#include "collector/store/trace_store.hpp"

namespace ioam::collector::store {

namespace {

// Credentials stay off the command line (and out of `ps`): a file or the environment.
ClickhouseCredentials credentials(const StoreConfig& config) {
    ClickhouseCredentials c;
    if (const char* user = std::getenv("IOAM_CLICKHOUSE_USER"); user != nullptr && *user != 0) {
        c.user = user;
    }
    if (!config.password_file.empty()) {
        std::ifstream in(config.password_file);
        if (!in) {
            throw std::runtime_error("store: cannot read --store-password-file " +
                                     config.password_file);
        }
        std::getline(in, c.password);
    } else if (const char* password = std::getenv("IOAM_CLICKHOUSE_PASSWORD")) {
        c.password = password;
    }
    return c;
}

// ClickHouse wants few, large inserts: each makes a new part per table, merged again in the
// background. The server spent 2.8 us per record (mostly merging) with 4096-record inserts,
// 0.75 us with 65536 (docs/benchmarks.md). A setting left at its SQLite-sized default takes
// ClickHouse's; SIGKILL loses at most the delay's worth of records plus the batch in flight.
StoreConfig clickhouse_defaults(StoreConfig c) {
    const StoreConfig sqlite;
    if (c.batch_size == sqlite.batch_size) {
        c.batch_size = 65536;
    }
    if (c.batch_delay_ms == sqlite.batch_delay_ms) {
        c.batch_delay_ms = 250;
    }
    // Room for the batch being written and the ones filling meanwhile.
    if (c.queue_capacity == sqlite.queue_capacity) {
        c.queue_capacity = std::max(sqlite.queue_capacity, 4 * c.batch_size);
    }
    return c;
}

}  // namespace

std::unique_ptr<TraceStore> make_store(const StoreConfig& config) {
    std::string_view where = config.path;
    const auto colon = where.find(':');
    std::string_view scheme = "sqlite";
    // A bare path (even one with a colon further on, after a slash) is a SQLite file.
    if (colon != std::string_view::npos &&
        where.substr(0, colon).find('/') == std::string_view::npos) {
        scheme = where.substr(0, colon);
        where = where.substr(colon + 1);
    }
    if (scheme == "clickhouse") {
        return std::make_unique<BatchingStore>(
            clickhouse_defaults(config),
            open_clickhouse_backend(std::string(where), credentials(config)));
    }
    if (scheme != "sqlite") {
        throw std::runtime_error("unknown store back end '" + std::string(scheme) +
                                 "' (known: sqlite:PATH, clickhouse://HOST:PORT/DATABASE)");
    }
    if (where.empty()) {
        throw std::runtime_error("store: sqlite: needs a file path");
    }
    return std::make_unique<BatchingStore>(config, open_sqlite_backend(std::string(where)));
}

}  // namespace ioam::collector::store
