// The ioam-collector binary as a process: SIGTERM flushes and exits 0, SIGKILL loses nothing
// that was committed, and a real Prometheus server scrapes /metrics.

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "collector/source/ipfix_processor.hpp"
#include "collector/store/sqlite_store.hpp"
#include "tests/collector/correlate/packet_reports.hpp"
#include "tests/collector/integration/collector_process.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/temp_path.hpp"
#include "tests/common/metrics/exposition.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;
using nlohmann::json;

const std::string kExporter = IOAM_BINARY_DIR "/exporter/ioam-exporter";

store::StoreConfig reopen(const TempDb& db) {
    store::StoreConfig c;
    c.path = db.path();
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    return c;
}

TEST(CollectorDaemon, SigtermFlushesQueuedRecordsAndExitsZero) {
    TempDb db;
    Collector c(db.path(), {"--batch-size", "64"});
    ASSERT_NE(c.tcp_port, 0) << c.child().log();
    const IoamTrace t = make_trace({1, 2, 3});
    constexpr int kMessages = 200;
    constexpr int kPerMessage = 20;
    {
        TcpSender tcp(c.tcp_port);
        for (int i = 0; i < kMessages; ++i) {
            tcp.send(traces_message(static_cast<std::uint32_t>(i * kPerMessage), t, kPerMessage));
        }
        ASSERT_TRUE(wait_for([&] { return c.received() == kMessages * kPerMessage; }));
    }
    c.child().signal(SIGTERM);
    const int status = c.child().wait();
    ASSERT_TRUE(WIFEXITED(status)) << c.child().log();
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(c.child().log().find("stopped: 4000 records written, 0 dropped"), std::string::npos)
        << c.child().log();
    store::SqliteStore store(reopen(db));
    EXPECT_EQ(store.query({.limit = 100000})->size(), std::size_t{kMessages * kPerMessage});
}

TEST(CollectorDaemon, SigkillLosesNothingCommitted) {
    TempDb db;
    std::vector<store::StoredRecord> committed;
    {
        Collector c(db.path());
        ASSERT_NE(c.tcp_port, 0) << c.child().log();
        TcpSender tcp(c.tcp_port);
        for (std::uint32_t i = 0; i < 50; ++i) {
            tcp.send(traces_message(i * 10, make_trace({i, i + 1}), 10));
        }
        // Whatever the API can read is committed.
        ASSERT_TRUE(wait_for([&] {
            auto r = http_get(c.http_port, "/api/v1/records?limit=1000");
            return r && json::parse(r->body)["records"].size() == 500;
        }));
        for (std::uint32_t i = 50; i < 100; ++i) {  // still sending while it dies
            tcp.send(traces_message(i * 10, make_trace({i, i + 1}), 10));
        }
        c.child().signal(SIGKILL);
        c.child().wait();
    }
    store::SqliteStore store(reopen(db));
    auto rows = store.query({.limit = 100000});
    ASSERT_TRUE(rows);
    ASSERT_GE(rows->size(), 500u);
    for (std::size_t i = 0; i < 500; ++i) {
        const auto& t = std::get<IoamTrace>((*rows)[i].record);
        const auto first = static_cast<std::uint32_t>(i / 10);
        EXPECT_EQ(t, make_trace({first, first + 1})) << "record " << i;
    }
}

// Another process holds the database's write lock: the collector retries, /readyz says 503,
// its small queue fills, and the TCP exporter is back-pressured instead of losing records.
TEST(CollectorDaemon, LockedDatabaseBackPressuresTcpAndLosesNothing) {
    TempDb db;
    Collector c(db.path(), {"--queue-size", "32", "--batch-size", "16"});
    ASSERT_NE(c.tcp_port, 0) << c.child().log();
    sqlite3* lock = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &lock), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    const auto metric = [&](const std::string& name) {
        auto r = http_get(c.http_port, "/metrics");
        const auto pos = r ? r->body.find("\n" + name + " ") : std::string::npos;
        return pos == std::string::npos ? -1.0 : std::stod(r->body.substr(pos + name.size() + 2));
    };
    constexpr int kMessages = 100;
    constexpr int kPerMessage = 20;
    {
        TcpSender tcp(c.tcp_port);
        for (int i = 0; i < kMessages; ++i) {
            tcp.send(traces_message(static_cast<std::uint32_t>(i * kPerMessage),
                                    make_trace({1, 2, static_cast<std::uint32_t>(i)}),
                                    kPerMessage));
        }
        ASSERT_TRUE(wait_for([&] { return metric("ioam_collector_store_errors_total") >= 2; }))
            << c.child().log();
        EXPECT_EQ(http_get(c.http_port, "/readyz")->status, 503);
        // The ingest thread waits for room: far fewer records than sent have been read.
        EXPECT_LT(c.received(), kMessages * kPerMessage);
        sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(lock);
        ASSERT_TRUE(wait_for([&] {
            return metric("ioam_collector_store_written_total") == kMessages * kPerMessage;
        })) << c.child().log();
    }
    EXPECT_EQ(http_get(c.http_port, "/readyz")->status, 200);
    EXPECT_EQ(metric("ioam_collector_store_dropped_total"), 0);
    store::SqliteStore store(reopen(db));
    const auto rows = store.query({.limit = 100000});
    ASSERT_EQ(rows->size(), std::size_t{kMessages * kPerMessage});
    EXPECT_EQ(std::get<IoamTrace>(rows->back().record),
              make_trace({1, 2, static_cast<std::uint32_t>(kMessages - 1)}));
}

// Regression: SIGTERM while the database stayed locked and a TCP exporter was back-pressured
// hung (the socket drain waited for room that never came). Now it ends after the stop timeout
// and says what it could not write.
TEST(CollectorDaemon, SigtermEndsWhileTheDatabaseStaysLocked) {
    TempDb db;
    Collector c(db.path(),
                {"--queue-size", "32", "--batch-size", "16", "--store-stop-timeout", "1"});
    ASSERT_NE(c.tcp_port, 0) << c.child().log();
    sqlite3* lock = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &lock), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    TcpSender tcp(c.tcp_port);
    for (std::uint32_t i = 0; i < 100; ++i) {
        tcp.send(traces_message(i * 20, make_trace({1, 2, i}), 20));
    }
    const auto blocked = [&] {
        auto r = http_get(c.http_port, "/metrics");
        const std::string key = "\nioam_collector_store_errors_total ";
        const auto pos = r ? r->body.find(key) : std::string::npos;
        return pos != std::string::npos && std::stod(r->body.substr(pos + key.size())) >= 2;
    };
    ASSERT_TRUE(wait_for(blocked)) << c.child().log();
    c.child().signal(SIGTERM);
    const int status = c.child().wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << c.child().log();
    EXPECT_NE(c.child().log().find("stopped:"), std::string::npos) << c.child().log();
    sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(lock);
}

std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.') {
            out += static_cast<char>(ch);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

// Node `pos` of 1,2,3,4 (exporter domain 101 + pos) reports packets [from, to).
std::vector<std::uint8_t> node_message(std::size_t pos, std::uint32_t seq, std::uint32_t from,
                                       std::uint32_t to) {
    MessageBuilder b(101 + static_cast<std::uint32_t>(pos), seq);
    trace_templates(b, kTraceType, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    for (std::uint32_t k = from; k < to; ++k) {
        trace_record(b, node_report({1, 2, 3, 4}, k, pos, 123), true);
    }
    return b.finish();
}

// The sample of `series` (name{labels} in any label order) in the collector's /metrics, -1 when
// absent.
double metric(const Collector& c, const std::string& series) {
    const auto r = http_get(c.http_port, "/metrics");
    if (!r) {
        return -1;
    }
    const auto wanted = ioam::metrics::test::parse_exposition(series + " 0\n").samples.at(0);
    return ioam::metrics::test::parse_exposition(r->body)
        .value(wanted.name, wanted.labels)
        .value_or(-1);
}

TEST(CollectorDaemon, FourExportersReportEachPacketOnceAndLossIsLocalized) {
    TempDb db;
    Collector c(db.path(), {"--correlation-window", "0.3"});
    ASSERT_NE(c.http_port, 0) << c.child().log();
    std::vector<std::unique_ptr<TcpSender>> nodes;
    for (int i = 0; i < 4; ++i) {
        nodes.push_back(std::make_unique<TcpSender>(c.tcp_port));
    }
    // Phase 1: ten packets, every node reports each.
    for (std::size_t pos = 0; pos < 4; ++pos) {
        nodes[pos]->send(node_message(pos, 0, 0, 10));
    }
    const std::string full = R"(ioam_path_packets_total{namespace="123",path="1,2,3,4"})";
    ASSERT_TRUE(wait_for([&] { return metric(c, full) == 10; })) << metric(c, full);
    const auto exposition =
        ioam::metrics::test::parse_exposition(http_get(c.http_port, "/metrics")->body);
    for (const char* prefix : {"1", "1,2", "1,2,3"}) {
        EXPECT_TRUE(exposition.find("ioam_path_packets_total", {{"path", prefix}}).empty())
            << prefix;
    }
    for (int d = 101; d <= 104; ++d) {
        EXPECT_EQ(metric(c, "ioam_collector_ipfix_messages_total{exporter=\"127.0.0.1/" +
                                std::to_string(d) + "\"}"),
                  1)
            << "exporters on one address are told apart by their domain";
    }
    EXPECT_EQ(metric(c, R"(ioam_segment_delay_seconds_count{namespace="123",from="2",to="3"})"),
              10);

    // Phase 2: packets 10-14 never get past node 2 while node 3 goes on reporting 15-19.
    nodes[0]->send(node_message(0, 10, 10, 20));
    nodes[1]->send(node_message(1, 10, 10, 20));
    ASSERT_TRUE(wait_for([&] { return c.received() == 60; }));
    nodes[2]->send(node_message(2, 10, 15, 20));
    nodes[3]->send(node_message(3, 10, 15, 20));
    const std::string seg_lost =
        R"(ioam_segment_lost_packets_total{namespace="123",from="2",to="3"})";
    ASSERT_TRUE(wait_for([&] { return metric(c, seg_lost) == 5; })) << metric(c, seg_lost);
    EXPECT_EQ(metric(c, full), 15);
    EXPECT_EQ(metric(c, R"(ioam_path_lost_packets_total{namespace="123",path="1,2"})"), 5);

    // Phase 3: the exporters of nodes 3 and 4 are gone: incomplete data, not network loss.
    nodes[0]->send(node_message(0, 20, 20, 25));
    nodes[1]->send(node_message(1, 20, 20, 25));
    const std::string silent = R"(ioam_packets_incomplete_total{reason="exporter_silent"})";
    ASSERT_TRUE(wait_for([&] { return metric(c, silent) == 5; })) << metric(c, silent);
    EXPECT_EQ(metric(c, seg_lost), 5);
    EXPECT_EQ(metric(c, full), 15);
    EXPECT_EQ(metric(c,
                     "ioam_collector_sequence_lost_records_total{exporter=\"127.0.0.1\","
                     "domain=\"103\"}"),
              0)
        << "no IPFIX loss was sent, and the series is there at zero";
}

TEST(CollectorDaemon, PrometheusScrapesTheCollector) {
    if (!std::filesystem::exists("/usr/bin/prometheus")) {
        GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/prometheus not installed "
                        "(Debian package prometheus, scripts/install-deps.sh)";
    }
    TempDb db;
    Collector c(db.path());
    ASSERT_NE(c.http_port, 0) << c.child().log();
    {
        TcpSender tcp(c.tcp_port);
        // Seven packets, each reported by the last node of its path: seven on 1,2,3.
        MessageBuilder b(1, 0);
        trace_templates(b, kTraceType, true);
        b.begin_set(ipfix::kTraceWithHopsTemplateId);
        for (std::uint32_t k = 0; k < 7; ++k) {
            trace_record(b, node_report({1, 2, 3}, k, 2, 123), true);
        }
        tcp.send(b.finish());
        ASSERT_TRUE(wait_for([&] { return c.received() == 7; }));
    }

    // The exporter too, when this kernel has the IOAM netlink family (it exits otherwise).
    const std::uint16_t exporter_port = free_port();
    const std::string exporter_log = temp_name("exporter-log");
    Child exporter({kExporter, "--collector", "udp://127.0.0.1:9", "--metrics-listen",
                    "127.0.0.1:" + std::to_string(exporter_port)},
                   exporter_log);
    const bool exporter_up =
        wait_for([&] {
            return !exporter.running() || http_get(exporter_port, "/metrics").has_value();
        }) &&
        exporter.running();
    if (!exporter_up) {
        std::cerr << "SKIPPED LOUDLY: the exporter does not run here (no IOAM6 netlink family?); "
                     "Prometheus scrapes the collector only\n"
                  << exporter.log();
    }

    const std::string dir = temp_name("prometheus");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/data");
    {
        std::ofstream cfg(dir + "/prometheus.yml");
        cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
               "scrape_configs:\n  - job_name: ioam-collector\n    static_configs:\n"
               "      - targets: ['127.0.0.1:"
            << c.http_port << "']\n";
        if (exporter_up) {
            cfg << "  - job_name: ioam-exporter\n    static_configs:\n"
                   "      - targets: ['127.0.0.1:"
                << exporter_port << "']\n";
        }
    }
    const std::uint16_t prom_port = free_port();
    {
        Child prom({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir + "/data",
                    "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                   dir + "/prometheus.log");
        // The result of an instant query once it has series.
        const auto query = [&](const std::string& promql) {
            json result;
            const bool found = wait_for(
                [&] {
                    auto r = http_get(prom_port, "/api/v1/query?query=" + url_encode(promql));
                    if (!r || r->status != 200) {
                        return false;
                    }
                    result = json::parse(r->body);
                    return !result["data"]["result"].empty();
                },
                std::chrono::seconds(90));
            EXPECT_TRUE(found) << promql << "\n" << prom.log();
            return found ? result["data"]["result"] : json::array();
        };
        const json paths = query(R"(ioam_path_packets_total{namespace="123",path="1,2,3"})");
        ASSERT_EQ(paths.size(), 1u);
        EXPECT_EQ(paths[0]["metric"]["job"], "ioam-collector");
        EXPECT_EQ(paths[0]["metric"]["path"], "1,2,3");
        EXPECT_EQ(paths[0]["metric"]["namespace"], "123");
        EXPECT_EQ(paths[0]["value"][1], "7");
        // An error counter of a healthy run is there, at zero, for every reason: 16 series.
        const json errors =
            query(R"(count(ioam_collector_ingest_errors_total{job="ioam-collector"} == 0))");
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0]["value"][1], std::to_string(source::kIngestErrorCount));
        const json build = query(R"(ioam_build_info{job="ioam-collector"})");
        ASSERT_EQ(build.size(), 1u);
        EXPECT_EQ(build[0]["metric"]["program"], "ioam-collector");
        EXPECT_EQ(query(R"(process_open_fds{job="ioam-collector"} > 0)").size(), 1u);
        if (exporter_up) {
            const json up = query(R"(up{job="ioam-exporter"})");
            ASSERT_EQ(up.size(), 1u);
            EXPECT_EQ(up[0]["value"][1], "1");
            const json drops = query(R"(ioam_exporter_kernel_drops_total{job="ioam-exporter"})");
            ASSERT_EQ(drops.size(), 1u);
            EXPECT_EQ(drops[0]["value"][1], "0");
        }
        prom.signal(SIGTERM);
        prom.wait();
    }
    exporter.signal(SIGTERM);
    exporter.wait();
    std::filesystem::remove(exporter_log);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ioam::collector
