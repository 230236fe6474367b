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

// An exporter's templates as IpfixProcessor counts them.
source::ExporterStats with_templates(source::ExporterStats e, std::uint64_t redefined,
                                     std::uint64_t withdrawn) {
    e.templates_redefined = redefined;
    e.templates_withdrawn = withdrawn;
    return e;
}

TEST(OperatorLog, TemplatesDefinedRedefinedWithdrawnAndATcpClose) {
    OperatorLog log(90 * kS, 10 * kS);
    const auto tcp = source::Transport::tcp;
    log.observe({exporter(3, tcp, kS, 1)}, {}, kS);
    EXPECT_EQ(texts(log.observe({exporter(3, tcp, 2 * kS, 3)}, {}, 2 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (tcp) templates: 1 -> 3 (2 defined)"});
    // Sent again with the same fields: nothing to say.
    EXPECT_TRUE(log.observe({exporter(3, tcp, 13 * kS, 3)}, {}, 13 * kS).empty());
    EXPECT_EQ(texts(log.observe({with_templates(exporter(3, tcp, 14 * kS, 3), 1, 0)}, {}, 14 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (tcp) templates: 3 -> 3 (1 redefined with other "
                "fields)"});
    EXPECT_EQ(texts(log.observe({with_templates(exporter(3, tcp, 25 * kS, 2), 1, 2)}, {}, 25 * kS)),
              V{"I exporter 192.0.2.1 domain 7 (tcp) templates: 3 -> 2 (1 defined, 2 withdrawn)"});
    EXPECT_EQ(texts(log.observe({with_templates(exporter(3, tcp, 25 * kS, 2, 26 * kS), 1, 2)}, {},
                                26 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (tcp) closed its connection"});
    // Gone from the snapshot, then a new session: it appears again.
    EXPECT_TRUE(log.observe({}, {}, 27 * kS).empty());
    EXPECT_EQ(log.observe({exporter(4, tcp, 28 * kS, 1)}, {}, 28 * kS).size(), 1u);
}

// An exporter that redefines its templates in every message gets one line per period, with
// the sum; UDP templates that expire are a warning (the exporter stopped refreshing them).
TEST(OperatorLog, TemplateChangesAreRateLimitedAndUdpExpiryWarns) {
    OperatorLog log(90 * kS, 10 * kS);
    const auto udp = source::Transport::udp;
    log.observe({exporter(5, udp, kS, 2)}, {}, kS);
    EXPECT_EQ(texts(log.observe({with_templates(exporter(5, udp, 2 * kS, 2), 1, 0)}, {}, 2 * kS)),
              V{"W exporter 192.0.2.1 domain 7 (udp) templates: 2 -> 2 (1 redefined with other "
                "fields)"});
    for (std::uint64_t t = 3; t < 12; ++t) {
        EXPECT_TRUE(log.observe({with_templates(exporter(5, udp, t * kS, 2), t - 1, 0)}, {}, t * kS)
                        .empty())
            << t;
    }
    EXPECT_EQ(
        texts(log.observe({with_templates(exporter(5, udp, 12 * kS, 2), 11, 0)}, {}, 12 * kS)),
        V{"W exporter 192.0.2.1 domain 7 (udp) templates: 2 -> 2 (10 redefined with other "
          "fields)"});
    EXPECT_TRUE(
        log.observe({with_templates(exporter(5, udp, 30 * kS, 2), 11, 0)}, {}, 30 * kS).empty());
    EXPECT_EQ(
        texts(log.observe({with_templates(exporter(5, udp, 31 * kS, 0), 11, 2)}, {}, 31 * kS)),
        V{"W exporter 192.0.2.1 domain 7 (udp) templates: 2 -> 0 (2 expired)"});
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
