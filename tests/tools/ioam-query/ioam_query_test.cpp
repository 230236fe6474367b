// ioam-query, the binary, against a fixture store the collector's store wrote: each filter,
// each statistic and output format, the same answers through a collector's API over loopback,
// reading while the store writes, and its errors.

#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/api/routes.hpp"
#include "collector/store/sqlite_store.hpp"
#include "common/net/http_server.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/packets.hpp"
#include "tests/collector/temp_path.hpp"
#include "tools/ioam-query/text.hpp"

namespace ioam::tools::query {
namespace {

using namespace ioam::collector::test;
using nlohmann::json;
namespace store = ioam::collector::store;

constexpr std::uint64_t kS = 1'000'000'000;
constexpr std::uint64_t kT0 = 1'700'000'000 * kS;  // 2023-11-14 22:13:20 UTC

struct Outcome {
    int status = -1;
    std::string out;  // stdout and stderr
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);) {
            v.push_back(l);
        }
        return v;
    }
};

Outcome run(const std::string& args) {
    const std::string cmd =
        std::string(IOAM_BINARY_DIR) + "/tools/ioam-query/ioam-query " + args + " 2>&1";
    Outcome r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) {
        return r;
    }
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
        r.out.append(buf, n);
    }
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

DexReport dex(std::uint32_t seq, std::uint32_t node) {
    DexReport d;
    d.observation_time_ns = kT0 + 4 * kS;
    d.namespace_id = 123;
    d.ext_flags = 0xc0;
    d.trace_type = kTraceType;
    d.flow_id = 77;
    d.sequence_number = seq;
    d.node = make_node(node, 1'700'000'004, 10 * node);
    return d;
}

class IoamQueryTest : public ::testing::Test {
  protected:
    IoamQueryTest() : store(config()) {
        store.start();
        store.consume({"10.0.0.1", 1}, make_trace({1, 2, 3, 4}, 123, kT0));
        store.consume({"10.0.0.1", 1}, make_trace({1, 2, 3, 4}, 123, kT0 + 1 * kS));
        store.consume({"10.0.0.2", 1}, make_trace({1, 2, 3, 4}, 123, kT0 + 2 * kS));
        store.consume({"10.0.0.3", 1}, make_trace({5, 6}, 7, kT0 + 3 * kS));
        for (std::uint32_t seq = 0; seq < 2; ++seq) {
            for (std::uint32_t node = 1; node <= 4; ++node) {
                store.consume({"10.0.0.4", 2}, dex(seq, node));
            }
        }
        // Rollups: minute 22:13 is clean; in minute 22:14 segment 2 -> 3 loses a packet and
        // 1 -> 2 slows down.
        store.consume(make_packet({1, 2, 3, 4}, 123, kT0, 100'000));
        store.consume(make_packet({1, 2, 3, 4}, 123, kT0 + 1, 100'000));
        store.consume(make_packet({5, 6}, 7, kT0, 50'000));
        store.consume(make_packet({1, 2, 3, 4}, 123, kT0 + 61 * kS, 400'000));
        store.consume(make_packet({1, 2}, 123, kT0 + 62 * kS, 400'000, 3));
        store.flush();
    }
    store::StoreConfig config() const {
        store::StoreConfig c;
        c.path = db.path();
        c.retention_age_s = 0;
        return c;
    }
    Outcome q(const std::string& args) { return run("--db " + db.path() + " " + args); }
    // Rows of a table (without its header).
    std::vector<std::string> rows(const std::string& args) {
        const Outcome r = q(args);
        EXPECT_EQ(r.status, 0) << args << ": " << r.out;
        auto l = r.lines();
        if (!l.empty()) {
            l.erase(l.begin());
        }
        return l;
    }
    std::vector<json> json_lines(const Outcome& r) {
        std::vector<json> out;
        for (const auto& l : r.lines()) {
            out.push_back(json::parse(l));
        }
        return out;
    }

    TempDb db;
    store::SqliteStore store;
};

TEST_F(IoamQueryTest, RecordsTableAndEveryFilter) {
    const Outcome all = q("");
    ASSERT_EQ(all.status, 0) << all.out;
    const auto lines = all.lines();
    ASSERT_EQ(lines.size(), 13u);  // header, 4 traces, 8 DEX reports
    EXPECT_EQ(lines[0].substr(0, 8), "id  time");
    EXPECT_NE(lines[1].find("2023-11-14 22:13:20"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("1,2,3,4"), std::string::npos);
    EXPECT_NE(lines[1].find("300us"), std::string::npos) << "end to end: " << lines[1];

    EXPECT_EQ(rows("--namespace 7").size(), 1u);
    EXPECT_EQ(rows("--node 6").size(), 1u);
    EXPECT_EQ(rows("--node 4").size(), 5u);  // 3 traces, 2 DEX reports of node 4
    EXPECT_EQ(rows("--path 1,2,3,4 --kind trace").size(), 3u);
    EXPECT_EQ(rows("--path 5,6").size(), 1u);
    EXPECT_EQ(rows("--path 1,2").size(), 4u);  // the DEX reports of nodes 1 and 2
    EXPECT_EQ(rows("--flow 77").size(), 8u);
    EXPECT_EQ(rows("--flow 78").size(), 0u);
    EXPECT_EQ(rows("--exporter 10.0.0.2").size(), 1u);
    EXPECT_EQ(rows("--exporter 10.0.0.4 --kind dex --node 3").size(), 2u);
    EXPECT_EQ(rows("--kind dex").size(), 8u);
    EXPECT_EQ(rows("--from '2023-11-14 22:13:21' --to '2023-11-14T22:13:23Z'").size(), 2u);
    EXPECT_EQ(rows("--from @1700000003").size(), 9u);
    EXPECT_EQ(rows("--last 1h").size(), 0u);  // 2023 is long ago
    EXPECT_EQ(rows("-n 3").size(), 3u);
    EXPECT_EQ(rows("-n 2 --exporter 10.0.0.4").size(), 2u);
}

TEST_F(IoamQueryTest, CsvAndJsonLines) {
    const Outcome csv = q("--kind trace --format csv");
    ASSERT_EQ(csv.status, 0) << csv.out;
    auto l = csv.lines();
    ASSERT_EQ(l.size(), 5u);
    EXPECT_EQ(l[0], "id,time,kind,exporter,domain,namespace,path,end_to_end,flow,seq");
    EXPECT_EQ(l[1], "1,2023-11-14 22:13:20,trace,10.0.0.1,1,123,\"1,2,3,4\",300us,,");
    const Outcome raw = q("--kind trace -n 1 --format csv --raw");
    EXPECT_EQ(raw.lines().at(1), "1,1700000000000000000,trace,10.0.0.1,1,123,\"1,2,3,4\",300000,,");

    const auto j = json_lines(q("--flow 77 -n 2 --format json"));
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["kind"], "dex");
    EXPECT_EQ(j[0]["flow"], 77);
    EXPECT_EQ(j[0]["seq"], 0);
    EXPECT_EQ(j[0]["path"], "1");
    EXPECT_EQ(j[0]["time"], kT0 + 4 * kS);
    EXPECT_TRUE(j[0]["end_to_end"].is_null());
    EXPECT_EQ(j[0]["exporter"], "10.0.0.4");
}

TEST_F(IoamQueryTest, SegmentStatsWorstFirstAndSinceWhen) {
    const auto seg = json_lines(q("--stat segment --format json"));
    ASSERT_EQ(seg.size(), 4u);     // 1-2, 2-3, 3-4, 5-6
    EXPECT_EQ(seg[0]["from"], 2);  // the lossy one first
    EXPECT_EQ(seg[0]["to"], 3);
    EXPECT_EQ(seg[0]["lost"], 1);
    EXPECT_DOUBLE_EQ(seg[0]["loss"].get<double>(), 0.25);  // 3 crossed, 1 lost
    EXPECT_EQ(seg[0]["first_seen"], kT0);

    const auto slow = json_lines(q("--stat segment --order p99 --top 1 --format json"));
    ASSERT_EQ(slow.size(), 1u);
    EXPECT_EQ(slow[0]["from"], 1);  // 400 us in the second minute
    EXPECT_EQ(slow[0]["p99"], 400000);

    // Since when: per minute, the loss appears in 22:14.
    const auto per_minute = rows(
        "--stat segment --path 1,2,3,4 --from '2023-11-14 22:13' --to '2023-11-14 22:15' "
        "--interval 1m");
    ASSERT_EQ(per_minute.size(), 6u) << q("--stat segment --interval 1m --last 1h").out;
    // interval, from, to, packets, lost, loss
    EXPECT_TRUE(
        std::regex_search(per_minute[0], std::regex("^2023-11-14 22:13:00 +1 +2 +2 +0 +0%")))
        << per_minute[0];
    EXPECT_TRUE(
        std::regex_search(per_minute[3], std::regex("^2023-11-14 22:14:00 +2 +3 +1 +1 +50%")))
        << per_minute[3];
    EXPECT_EQ(rows("--stat segment --node 6").size(), 1u);
    EXPECT_EQ(rows("--stat segment --path 5,6 --format csv").size(), 1u);
}

TEST_F(IoamQueryTest, PathAndNodeStats) {
    const auto paths = json_lines(q("--stat path --order packets --format json"));
    ASSERT_EQ(paths.size(), 3u);  // 1,2,3,4; 1,2 (lost); 5,6
    EXPECT_EQ(paths[0]["path"], "1,2,3,4");
    EXPECT_EQ(paths[0]["namespace"], 123);
    EXPECT_EQ(paths[0]["packets"], 3);
    EXPECT_NEAR(paths[0]["p50"].get<double>(), 300000, 300000 * 0.0625);  // histogram bucket
    EXPECT_EQ(rows("--stat path --namespace 7").size(), 1u);
    EXPECT_EQ(rows("--stat path --node 2").size(), 2u);
    const auto lossy = rows("--stat path --path 1,2");
    ASSERT_EQ(lossy.size(), 1u);
    EXPECT_TRUE(std::regex_search(lossy[0], std::regex("^ +123 +1,2 +1 +1 +100%"))) << lossy[0];

    const auto nodes = json_lines(q("--stat node --format json"));
    ASSERT_EQ(nodes.size(), 6u);
    EXPECT_EQ(nodes[0]["node"], 1);  // by id
    EXPECT_EQ(nodes[1]["packets"], 4);
    EXPECT_EQ(nodes[1]["segment_max"], 400000);
    EXPECT_EQ(rows("--stat node --path 5,6").size(), 2u);
    EXPECT_EQ(rows("--stat node --node 3").size(), 1u);
    EXPECT_EQ(rows("--stat node --order packets --top 2").size(), 2u);
}

TEST_F(IoamQueryTest, SameAnswersThroughTheApi) {
    collector::api::Routes routes(store,
                                  {[] { return std::string(); },
                                   [] { return std::vector<collector::source::ExporterStats>{}; },
                                   [] { return true; },
                                   {}},
                                  {});
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    net::HttpServer server(
        c, [&](const net::HttpRequest& r) { return routes.handle(r.method, r.target); });
    server.start();
    const std::string api = "--api http://127.0.0.1:" + std::to_string(server.port()) + " ";
    for (const char* args :
         {"--format json", "--stat segment --format json", "--stat path --format csv",
          "--stat node", "--node 4 --kind dex --flow 77 --format csv",
          "--path 1,2,3,4 --exporter 10.0.0.1"}) {
        const Outcome from_db = q(args);
        const Outcome from_api = run(api + args);
        EXPECT_EQ(from_db.status, 0) << from_db.out;
        EXPECT_EQ(from_api.out, from_db.out) << args;
    }
    const Outcome refused = run("--api http://127.0.0.1:1 --stat node");
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.out.find("ioam-query: http://127.0.0.1:1"), std::string::npos) << refused.out;
}

TEST_F(IoamQueryTest, ReadsWhileTheStoreWritesAndNeverWrites) {
    // The store is open and writing (WAL) here.
    EXPECT_EQ(rows("--kind trace").size(), 4u);
    store.consume({"10.0.0.1", 1}, make_trace({1, 2, 3, 4}, 123, kT0 + 5 * kS));
    store.flush();
    EXPECT_EQ(rows("--kind trace").size(), 5u);
    store.stop();
    struct stat before {};
    ASSERT_EQ(::stat(db.path().c_str(), &before), 0);
    EXPECT_EQ(rows("--kind trace").size(), 5u);
    struct stat after {};
    ASSERT_EQ(::stat(db.path().c_str(), &after), 0);
    EXPECT_EQ(after.st_size, before.st_size);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_F(IoamQueryTest, ClearErrors) {
    const Outcome missing = run("--db /nonexistent/ioam.db");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.out.find("no such file"), std::string::npos) << missing.out;
    TempDb not_db;
    std::ofstream(not_db.path()) << "not a database";
    const Outcome garbage = run("--db " + not_db.path());
    EXPECT_EQ(garbage.status, 1) << garbage.out;
    for (const char* args :
         {"--stat segment --exporter 10.0.0.1", "--stat node --namespace 7", "--stat path --flow 1",
          "--stat node --order p99", "--stat path --interval 1m"}) {
        const Outcome r = q(args);
        EXPECT_EQ(r.status, 2) << args << ": " << r.out;
        EXPECT_EQ(r.out.rfind("ioam-query: ", 0), 0u) << r.out;
    }
    for (const char* args :
         {"--from yesterday", "--path 1,x", "--stat hop", "--format xml", "--order p99",
          "--last 5parsecs", "--from 2024-01-02 --to 2024-01-01"}) {
        EXPECT_NE(q(args).status, 0) << args;
    }
    EXPECT_NE(run("--stat node").status, 0);  // neither --db nor --api
    const Outcome help = run("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("Examples:"), std::string::npos);
}

TEST(IoamQueryText, TimesAndDurations) {
    EXPECT_EQ(parse_duration("15m"), 15 * 60 * kS);
    EXPECT_EQ(parse_duration("1h30m"), 90 * 60 * kS);
    EXPECT_EQ(parse_duration("250ms"), 250'000'000u);
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("5"));
    EXPECT_FALSE(parse_duration("99999999999w"));
    EXPECT_EQ(parse_time("2023-11-14 22:13:20", 0), kT0);
    EXPECT_EQ(parse_time("2023/11/14.22:13:20.5", 0), kT0 + kS / 2);
    EXPECT_EQ(parse_time("2023-11-14", 0), kT0 - (22 * 3600 + 13 * 60 + 20) * kS);
    EXPECT_EQ(parse_time("now", 42), 42u);
    EXPECT_EQ(parse_time("-1s", 5 * kS), 4 * kS);
    EXPECT_EQ(parse_time("@1700000000", 0), kT0);
    EXPECT_FALSE(parse_time("2023-13-01", 0));
    EXPECT_FALSE(parse_time("2023-11-14 25:00", 0));
    EXPECT_FALSE(parse_time("-1s", 0));
    EXPECT_EQ(format_time(kT0), "2023-11-14 22:13:20");
    EXPECT_EQ(format_time(kT0 + 1500), "2023-11-14 22:13:20.000001");
    EXPECT_EQ(format_duration(139264), "139us");
    EXPECT_EQ(format_duration(1.25e6), "1.25ms");
    EXPECT_EQ(format_duration(-3000), "-3us");
    EXPECT_EQ(format_fraction(0.25), "25%");
}

}  // namespace
}  // namespace ioam::tools::query
