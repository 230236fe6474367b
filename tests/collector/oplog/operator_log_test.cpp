// collector/oplog: one line per change an operator cares about, none while nothing changes.
#include "collector/oplog/operator_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ioam::collector::oplog {
namespace {

constexpr std::uint64_t kS = 1'000'000'000;

source::ExporterStats exporter(std::uint64_t id, source::Transport t, std::uint64_t last_seen,
                               std::size_t templates, std::uint64_t ended = 0) {
    source::ExporterStats e;
    e.session = {.id = id, .transport = t, .address = "192.0.2.1", .port = 4000};
    e.domain = 7;
    e.last_seen_ns = last_seen;
    e.templates = templates;
    e.ended_ns = ended;
    return e;
}

std::vector<std::string> texts(const std::vector<Line>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
        out.push_back((l.warning ? "W " : "I ") + l.text);
    }
    return out;
}

using V = std::vector<std::string>;

TEST(OperatorLog, AnExporterAppearsGoesSilentComesBackAndExpires) {
    OperatorLog log(90 * kS, 10 * kS);
    const auto udp = source::Transport::udp;
    EXPECT_EQ(texts(log.observe({exporter(1, udp, 100 * kS, 2)}, {}, 100 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (udp) appeared, 2 template(s)"});
    EXPECT_TRUE(log.observe({exporter(1, udp, 150 * kS, 2)}, {}, 151 * kS).empty());
    EXPECT_EQ(texts(log.observe({exporter(1, udp, 150 * kS, 2)}, {}, 241 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (udp) went silent: no message for 90 s"});
    EXPECT_TRUE(log.observe({exporter(1, udp, 150 * kS, 2)}, {}, 300 * kS).empty());
    EXPECT_EQ(texts(log.observe({exporter(1, udp, 301 * kS, 2)}, {}, 301 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (udp) came back"});
    EXPECT_EQ(texts(log.observe({exporter(1, udp, 301 * kS, 2, 400 * kS)}, {}, 400 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (udp) session expired or was evicted"});
    EXPECT_TRUE(log.observe({exporter(1, udp, 301 * kS, 2, 400 * kS)}, {}, 401 * kS).empty());
}

TEST(OperatorLog, TemplatesDefinedAndExpiredAndATcpClose) {
    OperatorLog log(90 * kS, 10 * kS);
    const auto tcp = source::Transport::tcp;
    log.observe({exporter(3, tcp, kS, 1)}, {}, kS);
    EXPECT_EQ(texts(log.observe({exporter(3, tcp, 2 * kS, 3)}, {}, 2 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (tcp) templates: 1 -> 3 (defined)"});
    EXPECT_EQ(texts(log.observe({exporter(3, tcp, 3 * kS, 2)}, {}, 3 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (tcp) templates: 3 -> 2 (expired)"});
    EXPECT_EQ(texts(log.observe({exporter(3, tcp, 3 * kS, 2, 4 * kS)}, {}, 4 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (tcp) closed its connection"});
    // Gone from the snapshot, then a new session: it appears again.
    EXPECT_TRUE(log.observe({}, {}, 5 * kS).empty());
    EXPECT_EQ(log.observe({exporter(4, tcp, 6 * kS, 1)}, {}, 6 * kS).size(), 1u);
}

TEST(OperatorLog, StoreDropsAreSummedOverThePeriod) {
    OperatorLog log(90 * kS, 10 * kS);
    store::StoreStats s;
    EXPECT_TRUE(log.observe({}, s, kS).empty());
    s.dropped = 5;
    s.queued = 65536;
    EXPECT_EQ(texts(log.observe({}, s, 2 * kS)),
              V{"W store falling behind: 5 records dropped (queue full, 65536 queued)"});
    s.dropped = 9;
    EXPECT_TRUE(log.observe({}, s, 5 * kS).empty());  // within the period
    s.dropped = 12;
    EXPECT_EQ(texts(log.observe({}, s, 12 * kS)),
              V{"W store falling behind: 7 records dropped (queue full, 65536 queued)"});
    EXPECT_TRUE(log.observe({}, s, 30 * kS).empty());  // no new drop
}

}  // namespace
}  // namespace ioam::collector::oplog
