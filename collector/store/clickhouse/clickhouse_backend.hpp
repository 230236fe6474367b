#pragma once
// The ClickHouse back end, over ClickHouse's HTTP interface (RowBinary in and out). One row per
// report in a MergeTree `records` table ordered by id (hops as the raw trace data, decoded on
// read, like SQLite), per-minute rollup rows summed at query time, and a versioned
// `schema_migrations` table. Tested with ClickHouse 18.16 (Debian 12).
//
// Location: "//HOST:PORT/DATABASE[?cluster=NAME&collector=N]". With a cluster, reads go
// through Distributed tables over every shard's tables, so that any collector answers for the
// whole cluster, while writes and retention stay on the shard the collector names. Collector
// N (0 to 8191) assigns ids from N * 2^40 + 1, so ids never collide across collectors.
// secure=1: HTTPS, the server's certificate verified against ca=FILE or the system's CA store;
// compress=1: gzip bodies both ways, the default unless the host is a loopback address (it
// pays off across a network, not on loopback); compress=0 turns it off.
//
// Threading: as StoreBackend.

#include <memory>
#include <string>

#include "collector/store/backend.hpp"

namespace ioam::collector::store {

constexpr int kClickhouseSchemaVersion = 1;

struct ClickhouseCredentials {
    std::string user = "default";
    std::string password;
};

// Connects, creates or migrates the schema; throws std::runtime_error with a one-line
// message (bad location, server unreachable, newer schema).
std::unique_ptr<StoreBackend> open_clickhouse_backend(const std::string& location,
                                                      const ClickhouseCredentials& credentials);

}  // namespace ioam::collector::store
