#pragma once
// A database of its own on a test's clickhouse-server, and statements run on it directly (as
// an operator's clickhouse-client would).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "collector/store/clickhouse/http_client.hpp"
#include "collector/store/trace_store.hpp"
#include "tests/collector/store/clickhouse_server.hpp"

namespace ioam::collector::test {

// Runs one statement; its reply body, or "" with a test failure.
inline std::string clickhouse_sql(const ClickhouseServer& server, const std::string& sql) {
    store::clickhouse::Endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = server.http_port();
    endpoint.user = "default";
    store::clickhouse::HttpClient client(endpoint, std::chrono::seconds(30));
    store::clickhouse::HttpReply reply;
    std::string why;
    if (!client.post("/", sql, reply, why) || reply.status != 200) {
        ADD_FAILURE() << sql << ": " << why << reply.body;
        return {};
    }
    return reply.body;
}

inline std::string unique_database() {
    static std::atomic<int> counter{0};
    return "ioam_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// "clickhouse://127.0.0.1:PORT/DATABASE" plus `params` ("?cluster=...").
inline std::string clickhouse_url(const ClickhouseServer& server, const std::string& database,
                                  const std::string& params = "") {
    return "clickhouse://127.0.0.1:" + std::to_string(server.http_port()) + "/" + database + params;
}

// A store at `url` for tests: no retention, small batches.
inline store::StoreConfig clickhouse_store_config(const std::string& url) {
    store::StoreConfig c;
    c.path = url;
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    c.batch_size = 100;
    return c;
}

}  // namespace ioam::collector::test
