#pragma once
// The ioam-collector binary as a child process on free loopback ports, and the IPFIX messages
// the daemon tests send it.

#include <filesystem>
#include <string>
#include <vector>

#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/net_helpers.hpp"

namespace ioam::collector::test {

inline const std::string kCollector = IOAM_BINARY_DIR "/collector/ioam-collector";

inline std::string temp_name(const std::string& what) {
    static int counter = 0;
    return (std::filesystem::temp_directory_path() /
            ("ioam-collector-" + what + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++)))
        .string();
}

inline std::vector<std::uint8_t> traces_message(std::uint32_t seq, const IoamTrace& t, int count) {
    MessageBuilder b(1, seq);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    for (int i = 0; i < count; ++i) {
        trace_record(b, t, true);
    }
    return b.finish();
}

// A running collector on free ports, with its store at `store` (--db).
class Collector {
  public:
    explicit Collector(const std::string& store, std::vector<std::string> extra = {})
        : log_(temp_name("log")), child_(args(store, std::move(extra)), log_) {
        const auto tcp = wait_log(child_, R"(tcp \S+ \(port (\d+)\))");
        const auto http = wait_log(child_, R"(HTTP \S+ \(port (\d+)\))");
        if (tcp && http) {
            tcp_port = static_cast<std::uint16_t>(std::stoi(*tcp));
            http_port = static_cast<std::uint16_t>(std::stoi(*http));
        }
    }
    ~Collector() {
        child_.signal(SIGKILL);
        child_.wait();
        std::filesystem::remove(log_);
    }
    Collector(const Collector&) = delete;
    Collector& operator=(const Collector&) = delete;
    Child& child() { return child_; }
    // Records received according to /metrics (in the queue or committed).
    double received() {
        auto r = http_get(http_port, "/metrics");
        if (!r) {
            return -1;
        }
        const std::string key = "ioam_collector_decoded_records_total{kind=\"trace\"} ";
        const auto pos = r->body.find(key);
        return pos == std::string::npos ? -1 : std::stod(r->body.substr(pos + key.size()));
    }

    std::uint16_t tcp_port = 0;
    std::uint16_t http_port = 0;

  private:
    static std::vector<std::string> args(const std::string& store, std::vector<std::string> extra) {
        // The test records carry 2023 timestamps: no age retention.
        std::vector<std::string> a{kCollector,
                                   "--db",
                                   store,
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

}  // namespace ioam::collector::test
