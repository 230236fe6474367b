#pragma once
// The ioam-collector binary run by a test: on free loopback ports, its database where the test
// says, its log in a temporary file, killed at scope exit.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "collector/store/sqlite_store.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/temp_path.hpp"
#include "tests/common/metrics/exposition.hpp"

namespace ioam::collector::test {

inline const std::string kCollector = IOAM_BINARY_DIR "/collector/ioam-collector";

// A path under the temporary directory that no other test (or process) uses.
inline std::string temp_name(const std::string& what) {
    static int counter = 0;
    return (std::filesystem::temp_directory_path() /
            ("ioam-collector-" + what + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++)))
        .string();
}

// One message of `count` copies of `t` (templates included) from observation domain 1.
inline std::vector<std::uint8_t> traces_message(std::uint32_t seq, const IoamTrace& t, int count) {
    MessageBuilder b(1, seq);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    for (int i = 0; i < count; ++i) {
        trace_record(b, t, true);
    }
    return b.finish();
}

// A running collector on free ports, with its database at `db_path`.
class Collector {
  public:
    explicit Collector(const std::string& db_path, std::vector<std::string> extra = {})
        : log_(temp_name("log")), child_(args(db_path, std::move(extra)), log_) {
        const auto tcp = wait_log(child_, R"(tcp \S+ \(port (\d+)\))");
        const auto http = wait_log(child_, R"(HTTP \S+ \(port (\d+)\))");
        if (tcp && http) {
            tcp_port = static_cast<std::uint16_t>(std::stoi(*tcp));
            http_port = static_cast<std::uint16_t>(std::stoi(*http));
        }
    }
    explicit Collector(const TempDb& db, std::vector<std::string> extra = {})
        : Collector(db.path(), std::move(extra)) {}
    ~Collector() {
        child_.signal(SIGKILL);
        child_.wait();
        std::filesystem::remove(log_);
    }
    Collector(const Collector&) = delete;
    Collector& operator=(const Collector&) = delete;
    Child& child() { return child_; }
    // Records received according to /metrics (in the queue or committed).
    double received() const {
        return metric(R"(ioam_collector_decoded_records_total{kind="trace"})");
    }
    // The sample of `series` (name{labels} in any label order) in /metrics, -1 when absent.
    double metric(const std::string& series) const {
        const auto r = http_get(http_port, "/metrics");
        if (!r) {
            return -1;
        }
        const auto wanted = ioam::metrics::test::parse_exposition(series + " 0\n").samples.at(0);
        return ioam::metrics::test::parse_exposition(r->body)
            .value(wanted.name, wanted.labels)
            .value_or(-1);
    }

    std::uint16_t tcp_port = 0;
    std::uint16_t http_port = 0;

  private:
    static std::vector<std::string> args(const std::string& db_path,
                                         std::vector<std::string> extra) {
        // The test records carry 2023 timestamps: no age retention.
        std::vector<std::string> a{kCollector,
                                   "--db",
                                   db_path,
                                   "--udp-listen",
                                   "127.0.0.1:0",
                                   "--tcp-listen",
                                   "127.0.0.1:0",
                                   "--http-listen",
                                   "127.0.0.1:0",
                                   "--retention-age",
                                   "0"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    std::string log_;
    Child child_;
};

// The collector's database opened again by the test, after or beside the collector.
inline store::StoreConfig reopen(const std::string& db_path) {
    store::StoreConfig c;
    c.path = db_path;
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    return c;
}

}  // namespace ioam::collector::test
