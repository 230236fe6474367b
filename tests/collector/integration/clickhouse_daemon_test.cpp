// ioam-collector processes on real clickhouse-servers: two collectors on the two shards of a
// cluster, each API answering for both; the server killed under a collector receiving over
// TCP, /readyz 503 meanwhile, and every record stored once it is back.

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "tests/collector/collector_process.hpp"
#include "tests/collector/store/clickhouse_helpers.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;
using nlohmann::json;

// The records the collector's API returns (at most 1000), or none.
json api_records(std::uint16_t port) {
    const auto r = http_get(port, "/api/v1/records?limit=1000");
    if (!r || r->status != 200) {
        return json::array();
    }
    return json::parse(r->body)["records"];
}

int readyz(std::uint16_t port) {
    const auto r = http_get(port, "/readyz");
    return r ? r->status : 0;
}

void send_traces(std::uint16_t port, std::uint32_t first_seq, const IoamTrace& t, int messages) {
    TcpSender tcp(port);
    for (int i = 0; i < messages; ++i) {
        tcp.send(traces_message(first_seq + static_cast<std::uint32_t>(i * 10), t, 10));
    }
}

TEST(ClickhouseDaemon, TwoCollectorsOnTwoShardsEachApiAnswersTheUnion) {
    const std::vector<std::uint16_t> shards = {free_port(), free_port()};
    ClickhouseServer one(shards, shards[0]);
    ClickhouseServer two(shards, shards[1]);
    for (const auto* server : {&one, &two}) {
        if (!server->why().empty()) {
            GTEST_SKIP() << "SKIPPED: " << server->why();
        }
    }
    const std::string db = unique_database();
    Collector a(clickhouse_url(one, db, "?cluster=ioam&collector=1"));
    Collector b(clickhouse_url(two, db, "?cluster=ioam&collector=2"));
    ASSERT_NE(a.tcp_port, 0) << a.child().log();
    ASSERT_NE(b.tcp_port, 0) << b.child().log();
    send_traces(a.tcp_port, 0, make_trace({1, 2, 3}), 30);
    send_traces(b.tcp_port, 0, make_trace({4, 5}), 20);
    for (Collector* c : {&a, &b}) {
        ASSERT_TRUE(wait_for([&] { return api_records(c->http_port).size() == 500; }))
            << api_records(c->http_port).size();
        std::set<std::int64_t> ids;
        int first_path = 0;
        for (const auto& r : api_records(c->http_port)) {
            ids.insert(r["id"].get<std::int64_t>());
            first_path += r["id"].get<std::int64_t>() < (std::int64_t{2} << 40) ? 1 : 0;
        }
        EXPECT_EQ(ids.size(), 500u);
        EXPECT_EQ(first_path, 300);  // collector 1's ids
        EXPECT_EQ(readyz(c->http_port), 200);
    }
}

TEST(ClickhouseDaemon, ServerDownIsNotReadyThenEveryRecordArrives) {
    ClickhouseServer server;
    if (!server.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << server.why();
    }
    Collector c(clickhouse_url(server, unique_database()), {"--batch-size", "64"});
    ASSERT_NE(c.tcp_port, 0) << c.child().log();
    send_traces(c.tcp_port, 0, make_trace({1, 2}), 10);
    ASSERT_TRUE(wait_for([&] { return api_records(c.http_port).size() == 100; }));
    server.kill();
    send_traces(c.tcp_port, 100, make_trace({1, 2}), 20);
    ASSERT_TRUE(wait_for([&] { return readyz(c.http_port) == 503; })) << c.child().log();
    server.start();
    ASSERT_EQ(server.why(), "");
    ASSERT_TRUE(wait_for([&] { return readyz(c.http_port) == 200; })) << c.child().log();
    ASSERT_TRUE(wait_for([&] { return api_records(c.http_port).size() == 300; }))
        << api_records(c.http_port).size();
    std::set<std::int64_t> ids;
    for (const auto& r : api_records(c.http_port)) {
        ids.insert(r["id"].get<std::int64_t>());
    }
    EXPECT_EQ(ids.size(), 300u);
}

}  // namespace
}  // namespace ioam::collector
