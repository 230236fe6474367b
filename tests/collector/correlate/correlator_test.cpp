#include "collector/correlate/correlator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "tests/collector/capture_sink.hpp"
#include "tests/collector/correlate/packet_reports.hpp"

namespace ioam::collector::correlate {
namespace {

using namespace ioam::collector::test;

const std::vector<std::uint32_t> kPath = {1, 2, 3, 4};

class CorrelatorTest : public ::testing::Test {
  protected:
    explicit CorrelatorTest(CorrelatorConfig config = {})
        : correlator(config, {&reports}, {&packets}, clock.clock()) {}

    void report(std::uint32_t k, std::size_t upto) {
        correlator.consume(node_origin(kPath[upto]), node_report(kPath, k, upto));
    }
    // Every node of kPath reports packets [from, to), in path order.
    void send(std::uint32_t from, std::uint32_t to) {
        for (std::uint32_t k = from; k < to; ++k) {
            for (std::size_t i = 0; i < kPath.size(); ++i) {
                report(k, i);
            }
        }
    }
    void close_windows() {
        clock.advance_ms(2001);
        correlator.tick();
    }
    // The first window teaches the correlator where kPath ends.
    void learn() {
        send(1000, 1010);
        close_windows();
        packets.packets.clear();
    }
    std::size_t on_path(const std::string& path, PacketOutcome o) const {
        return static_cast<std::size_t>(
            std::count_if(packets.packets.begin(), packets.packets.end(),
                          [&](const Packet& p) { return p.path == path && p.outcome == o; }));
    }

    ManualClock clock;
    CaptureSink reports;
    PacketCapture packets;
    Correlator correlator;
};

TEST_F(CorrelatorTest, JoinsTheReportsOfEachPacketIntoOne) {
    send(0, 50);
    EXPECT_TRUE(packets.packets.empty()) << "the end of the path is not known yet: wait";
    EXPECT_EQ(correlator.stats().pending, 50u);
    clock.advance_ms(1999);
    correlator.tick();
    EXPECT_TRUE(packets.packets.empty());
    clock.advance_ms(2);
    correlator.tick();
    ASSERT_EQ(packets.packets.size(), 50u);
    for (const Packet& p : packets.packets) {
        EXPECT_EQ(p.path, "1,2,3,4");
        EXPECT_EQ(p.outcome, PacketOutcome::delivered);
        EXPECT_EQ(p.reports, 4u);
        EXPECT_EQ(p.namespace_id, 7);
        EXPECT_EQ(p.weight, 1.0);
        ASSERT_EQ(p.hops.size(), 4u);
        EXPECT_EQ(p.end_to_end_ns, 300'000);
        EXPECT_FALSE(p.hops[0].segment_ns);
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_TRUE(p.hops[i].reported);
            EXPECT_EQ(p.hops[i].node, kPath[i]);
            if (i > 0) {
                EXPECT_EQ(p.hops[i].segment_ns, 100'000);
            }
        }
    }
    EXPECT_EQ(reports.traces.size(), 200u) << "every report goes on to the report sinks";
    EXPECT_EQ(correlator.stats().pending, 0u);
}

TEST_F(CorrelatorTest, CompletesOnTheLastNodesReportOnceThePathIsKnown) {
    learn();
    send(0, 20);
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 20u) << "no window wait";
    EXPECT_EQ(packets.packets.size(), 20u);
    close_windows();
    EXPECT_EQ(packets.packets.size(), 20u);
}

TEST_F(CorrelatorTest, ReorderedReportsAreJoined) {
    std::vector<std::pair<std::uint32_t, std::size_t>> order;
    for (std::uint32_t k = 0; k < 40; ++k) {
        for (std::size_t i = 0; i < 4; ++i) {
            order.emplace_back(k, i);
        }
    }
    std::mt19937 rng(7);
    std::shuffle(order.begin(), order.end(), rng);
    for (auto [k, i] : order) {
        report(k, i);
    }
    close_windows();
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 40u);
    EXPECT_EQ(packets.packets.size(), 40u);

    // Known path, newest report first: the packet completes on it and the others are late.
    packets.packets.clear();
    for (std::uint32_t k = 100; k < 110; ++k) {
        for (std::size_t i = 4; i-- > 0;) {
            report(k, i);
        }
    }
    close_windows();
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 10u);
    EXPECT_EQ(packets.packets.size(), 10u);
    EXPECT_EQ(correlator.stats().late, 30u);
}

TEST_F(CorrelatorTest, LateReportsCorrectAWrongPathEnd) {
    report(0, 0);  // the other nodes' reports come more than a window late
    close_windows();
    ASSERT_EQ(packets.packets.size(), 1u);
    EXPECT_EQ(packets.packets[0].path, "1");
    report(1, 0);  // "1" looks like the path's end: closed at once
    EXPECT_EQ(packets.packets.size(), 2u);
    report(1, 1);
    report(1, 2);
    report(1, 3);
    EXPECT_EQ(correlator.stats().late, 3u);
    send(2, 3);  // the late reports showed the path goes on: wait for the rest
    EXPECT_EQ(packets.packets.size(), 2u);
    close_windows();
    ASSERT_EQ(packets.packets.size(), 3u);
    EXPECT_EQ(packets.packets[2].path, "1,2,3,4");
    send(3, 4);
    EXPECT_EQ(packets.packets.size(), 4u) << "now the end is known";
}

TEST_F(CorrelatorTest, ManyPacketsShuffledAndDuplicatedAreEachCountedOnce) {
    // 20000 packets, 2000 per 500 ms, reports shuffled within each burst and one in ten sent
    // twice: the index grows, closed keys expire and are erased, slots are reused.
    std::mt19937 rng(11);
    std::vector<std::pair<std::uint32_t, std::size_t>> burst;
    std::size_t sent_twice = 0;
    for (std::uint32_t b = 0; b < 10; ++b) {
        burst.clear();
        for (std::uint32_t k = b * 2000; k < (b + 1) * 2000; ++k) {
            for (std::size_t i = 0; i < 4; ++i) {
                burst.emplace_back(k, i);
                if (rng() % 10 == 0) {
                    burst.emplace_back(k, i);
                    ++sent_twice;
                }
            }
        }
        std::shuffle(burst.begin(), burst.end(), rng);
        for (auto [k, i] : burst) {
            report(k, i);
        }
        clock.advance_ms(500);
        correlator.tick();
    }
    close_windows();
    close_windows();
    EXPECT_EQ(packets.packets.size(), 20000u);
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 20000u);
    std::vector<bool> seen(20000);
    for (const Packet& p : packets.packets) {
        const auto k =
            static_cast<std::size_t>((p.first_seen_ns - 1'700'000'000'000'000'000ull) / 1'000'000);
        ASSERT_LT(k, seen.size());
        EXPECT_FALSE(seen[k]) << "packet " << k << " twice";
        seen[k] = true;
    }
    // Every report is joined, a duplicate, or late (after its packet completed on its path's
    // last node): none is lost or double counted.
    std::uint64_t joined = 0;
    for (const Packet& p : packets.packets) {
        joined += p.reports;
    }
    const CorrelatorStats& st = correlator.stats();
    EXPECT_EQ(joined, st.reports);
    EXPECT_EQ(joined + st.duplicates + st.late, 4 * 20000 + sent_twice);
    EXPECT_GT(st.late, 0u) << "bursts after the first window complete early";
    EXPECT_EQ(st.conflicts, 0u);
    EXPECT_EQ(correlator.stats().pending, 0u);
}

TEST_F(CorrelatorTest, DuplicatedReportsAreCountedOnce) {
    for (std::uint32_t k = 0; k < 10; ++k) {
        for (std::size_t i = 0; i < 4; ++i) {
            report(k, i);
            report(k, i);
        }
    }
    close_windows();
    ASSERT_EQ(packets.packets.size(), 10u);
    for (const Packet& p : packets.packets) {
        EXPECT_EQ(p.reports, 4u);
        EXPECT_EQ(p.path, "1,2,3,4");
    }
    EXPECT_EQ(correlator.stats().duplicates, 40u);
    EXPECT_EQ(reports.traces.size(), 80u);
}

TEST_F(CorrelatorTest, AMissingReportOfAMiddleNodeStillDelivers) {
    learn();
    report(0, 0);
    report(0, 2);
    report(0, 3);  // node 2's report never arrives
    ASSERT_EQ(packets.packets.size(), 1u);
    const Packet& p = packets.packets[0];
    EXPECT_EQ(p.outcome, PacketOutcome::delivered);
    EXPECT_EQ(p.path, "1,2,3,4");
    EXPECT_EQ(p.reports, 3u);
    EXPECT_FALSE(p.hops[1].reported);
    EXPECT_TRUE(p.hops[2].reported);
}

TEST_F(CorrelatorTest, APacketEndingShortIsLostOnTheNextSegment) {
    learn();
    report(0, 0);
    report(0, 1);  // never reached node 3
    send(1, 5);    // node 3's exporter keeps reporting other packets
    close_windows();
    ASSERT_EQ(on_path("1,2", PacketOutcome::lost), 1u);
    const auto lost =
        std::find_if(packets.packets.begin(), packets.packets.end(),
                     [](const Packet& p) { return p.outcome == PacketOutcome::lost; });
    EXPECT_EQ(lost->lost_before, 3u);
    EXPECT_EQ(lost->reports, 2u);
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 4u);
    EXPECT_EQ(packets.count(PacketOutcome::incomplete), 0u);
}

TEST_F(CorrelatorTest, IpfixLossOfTheNextExporterIsNotNetworkLoss) {
    learn();
    report(0, 0);
    report(0, 1);
    send(1, 5);
    correlator.on_sequence("10.0.0.1", 3, 2, 0, 0);  // node 3's exporter lost two records
    close_windows();
    EXPECT_EQ(packets.count(PacketOutcome::lost), 0u);
    ASSERT_EQ(packets.count(PacketOutcome::incomplete), 1u);
    for (const Packet& p : packets.packets) {
        if (p.outcome == PacketOutcome::incomplete) {
            EXPECT_EQ(p.incomplete, IncompleteReason::ipfix_loss);
            EXPECT_EQ(p.path, "1,2");
        }
    }
    // Loss of another exporter (node 4's) says nothing about node 3's reports.
    packets.packets.clear();
    clock.advance_ms(5000);
    send(10, 12);
    correlator.on_sequence("10.0.0.1", 4, 2, 0, 0);
    report(20, 0);
    report(20, 1);
    send(21, 22);
    close_windows();
    EXPECT_EQ(packets.count(PacketOutcome::lost), 1u);
}

TEST_F(CorrelatorTest, ASilentExporterIsNotNetworkLoss) {
    learn();
    clock.advance_ms(10);
    for (std::uint32_t k = 0; k < 5; ++k) {  // node 3's and node 4's exporters were killed
        report(k, 0);
        report(k, 1);
    }
    close_windows();
    ASSERT_EQ(packets.packets.size(), 5u);
    for (const Packet& p : packets.packets) {
        EXPECT_EQ(p.outcome, PacketOutcome::incomplete);
        EXPECT_EQ(p.incomplete, IncompleteReason::exporter_silent);
    }
    // A message of the exporter (even without records of this packet) shows it alive.
    packets.packets.clear();
    report(9, 0);
    report(9, 1);
    correlator.on_message("10.0.0.1", 3, 100);
    close_windows();
    ASSERT_EQ(packets.packets.size(), 1u);
    EXPECT_EQ(packets.packets[0].outcome, PacketOutcome::lost);
}

TEST_F(CorrelatorTest, ClockStepsDoNotMoveTheWindow) {
    // The reports' own times step back an hour, then forward a day: only arrival (monotonic)
    // time closes the window.
    IoamTrace a = node_report(kPath, 0, 0);
    IoamTrace b = node_report(kPath, 0, 1);
    b.observation_time_ns = a.observation_time_ns - 3600ull * 1'000'000'000;
    IoamTrace c = node_report(kPath, 0, 2);
    c.observation_time_ns = a.observation_time_ns + 86400ull * 1'000'000'000;
    correlator.consume(node_origin(1), a);
    correlator.consume(node_origin(2), b);
    clock.advance_ms(1500);
    correlator.consume(node_origin(3), c);
    correlator.tick();
    EXPECT_TRUE(packets.packets.empty());
    correlator.consume(node_origin(4), node_report(kPath, 0, 3));
    clock.advance_ms(501);
    correlator.tick();
    ASSERT_EQ(packets.packets.size(), 1u);
    const Packet& p = packets.packets[0];
    EXPECT_EQ(p.reports, 4u);
    EXPECT_EQ(p.first_seen_ns, b.observation_time_ns);
    EXPECT_EQ(p.last_seen_ns, c.observation_time_ns);
}

class BoundedCorrelatorTest : public CorrelatorTest {
  protected:
    BoundedCorrelatorTest() : CorrelatorTest({.max_pending = 8}) {}
};

TEST_F(BoundedCorrelatorTest, TheOldestPacketIsEvictedBeyondTheEntryBound) {
    send(1000, 1001);  // shows that the path goes on past node 1
    for (std::uint32_t k = 0; k < 20; ++k) {
        clock.advance_ms(1);
        report(k, 0);
    }
    EXPECT_EQ(correlator.stats().pending, 8u);
    ASSERT_EQ(packets.packets.size(), 13u);
    EXPECT_EQ(packets.packets[0].path, "1,2,3,4");
    for (std::uint32_t k = 0; k < 13; ++k) {
        EXPECT_EQ(packets.packets[k].outcome, PacketOutcome::incomplete);
        EXPECT_EQ(packets.packets[k].incomplete, IncompleteReason::evicted);
        if (k > 0) {
            EXPECT_EQ(packets.packets[k].first_seen_ns,
                      node_report(kPath, k - 1, 0).observation_time_ns)
                << "oldest first";
        }
    }
    // A late report of an evicted packet is not a new packet.
    report(0, 1);
    EXPECT_EQ(correlator.stats().late, 1u);
}

TEST(CorrelatorBound, StateStaysWithinTheByteBound) {
    constexpr std::size_t kMaxBytes = 256 * 1024;
    ManualClock clock;
    PacketCapture packets;
    Correlator c({.max_bytes = kMaxBytes}, {}, {&packets}, clock.clock());
    for (std::uint32_t k = 0; k < 20000; ++k) {
        c.consume(node_origin(1), node_report(kPath, k, 0));
        c.consume(node_origin(2), node_report(kPath, k, 1));
        ASSERT_LE(c.stats().bytes, kMaxBytes) << "packet " << k;
    }
    EXPECT_GT(packets.count(PacketOutcome::incomplete), 0u);
    EXPECT_EQ(packets.packets.size() + c.stats().pending, 20000u) << "each packet once";
}

TEST_F(CorrelatorTest, TracesWithoutTimestampsAreNeverCountedTwice) {
    constexpr std::uint32_t kNoTime = 0xc00000;  // node ids and interfaces only
    const auto timeless = [&](std::uint32_t k, std::size_t upto) {
        correlator.consume(node_origin(kPath[upto]), node_report(kPath, k, upto, 7, kNoTime));
    };
    for (std::uint32_t k = 0; k < 30; ++k) {
        for (std::size_t i = 0; i < 4; ++i) {
            timeless(k, i);
        }
    }
    // One more that stopped at node 2, and reports of a path that ends at node 2.
    timeless(30, 0);
    timeless(30, 1);
    correlator.consume(node_origin(1), node_report({1, 9}, 0, 0, 7, kNoTime));
    correlator.consume(node_origin(9), node_report({1, 9}, 0, 1, 7, kNoTime));
    close_windows();
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 30u);
    EXPECT_EQ(on_path("1,9", PacketOutcome::delivered), 1u);
    EXPECT_EQ(packets.packets.size(), 31u) << "no prefix counted; the short packet is not counted";
    EXPECT_EQ(correlator.stats().timeless_prefix, 30u * 3 + 2 + 1);

    // Its reports split across windows: the prefix is known continued, still counted once.
    packets.packets.clear();
    timeless(40, 0);
    timeless(40, 1);
    close_windows();
    timeless(40, 2);
    timeless(40, 3);
    close_windows();
    EXPECT_EQ(packets.packets.size(), 1u);
    EXPECT_EQ(on_path("1,2,3,4", PacketOutcome::delivered), 1u);
}

TEST_F(CorrelatorTest, DexReportsAreJoinedByFlowAndSequence) {
    const auto dex = [&](std::uint32_t seq, std::uint32_t node) {
        correlator.consume(node_origin(node), make_dex(77, seq, node, 1000 + 100 * node));
    };
    for (std::uint32_t seq = 0; seq < 10; ++seq) {
        for (std::uint32_t node : {3u, 1u, 2u, 2u}) {  // out of order, node 2 twice
            dex(seq, node);
        }
    }
    close_windows();
    ASSERT_EQ(packets.packets.size(), 10u);
    for (const Packet& p : packets.packets) {
        EXPECT_EQ(p.kind, PacketKind::dex);
        EXPECT_EQ(p.path, "1,2,3") << "ordered by node time";
        EXPECT_EQ(p.flow_id, 77u);
        EXPECT_EQ(p.reports, 3u);
        EXPECT_EQ(p.outcome, PacketOutcome::delivered);
        EXPECT_EQ(p.hops[2].segment_ns, 100'000);
    }
    EXPECT_EQ(correlator.stats().duplicates, 10u);

    packets.packets.clear();
    for (std::uint32_t node : {1u, 2u, 3u}) {
        dex(10, node);
    }
    EXPECT_EQ(packets.packets.size(), 1u) << "known path: complete on its last node";
    dex(11, 1);
    dex(11, 2);
    dex(12, 1);
    dex(12, 2);
    dex(12, 3);
    close_windows();
    ASSERT_EQ(packets.count(PacketOutcome::lost), 1u);
    for (const Packet& p : packets.packets) {
        if (p.outcome == PacketOutcome::lost) {
            EXPECT_EQ(p.sequence, 11u);
            EXPECT_EQ(p.lost_before, 3u);
        }
    }
}

// The ingest thread hands over the records of one data set at a time (one exporter): the
// packets joined, their order and every counter are the same as with one report per call.
TEST(CorrelatorBatches, JoinTheSamePacketsAsSingleReports) {
    struct Run {
        ManualClock clock;
        CaptureSink reports;
        PacketCapture packets;
        Correlator correlator{CorrelatorConfig{}, {&reports}, {&packets}, clock.clock()};
    };
    Run single;
    Run batched;
    // Batches of reports from one node: traces (some sent twice, some missing, later ones on a
    // path already learned) and DEX reports.
    std::mt19937 rng(5);
    std::vector<std::pair<std::uint32_t, std::vector<IoamTrace>>> trace_runs;
    std::vector<std::pair<std::uint32_t, std::vector<DexReport>>> dex_runs;
    for (std::uint32_t block = 0; block < 300; ++block) {
        // Each node reports ten packets in one batch; the nodes' batches come in any order.
        std::vector<std::size_t> nodes = {0, 1, 2, 3};
        std::shuffle(nodes.begin(), nodes.end(), rng);
        for (std::size_t i : nodes) {
            trace_runs.emplace_back(kPath[i], std::vector<IoamTrace>{});
            for (std::uint32_t k = block * 10; k < block * 10 + 10; ++k) {
                if (rng() % 50 == 0) {
                    continue;
                }
                const std::size_t copies = rng() % 20 == 0 ? 2 : 1;
                for (std::size_t c = 0; c < copies; ++c) {
                    trace_runs.back().second.push_back(node_report(kPath, k, i));
                }
            }
        }
        for (std::uint32_t node : {2u, 1u, 3u}) {
            dex_runs.emplace_back(node, std::vector<DexReport>{});
            for (std::uint32_t k = block * 10; k < block * 10 + 10; ++k) {
                dex_runs.back().second.push_back(make_dex(77, k, node, 1000 + 100 * node));
            }
        }
    }
    std::shuffle(trace_runs.begin() + 100, trace_runs.begin() + 400, rng);
    const auto feed = [&](Run& r, bool batches) {
        std::size_t t = 0;
        std::size_t d = 0;
        while (t < trace_runs.size() || d < dex_runs.size()) {
            if (t < trace_runs.size()) {
                const auto& [node, traces] = trace_runs[t++];
                if (batches) {
                    std::vector<IoamTrace> scratch = traces;  // the last report sink takes them
                    r.correlator.take(node_origin(node), std::span<IoamTrace>(scratch));
                } else {
                    for (const IoamTrace& x : traces) {
                        r.correlator.consume(node_origin(node), x);
                    }
                }
            }
            if (d < dex_runs.size() && (t % 3 == 0 || t == trace_runs.size())) {
                const auto& [node, reports] = dex_runs[d++];
                if (batches) {
                    r.correlator.consume(node_origin(node), std::span<const DexReport>(reports));
                } else {
                    for (const DexReport& x : reports) {
                        r.correlator.consume(node_origin(node), x);
                    }
                }
            }
            if (t % 300 == 0) {
                r.clock.advance_ms(900);
                r.correlator.tick();
            }
        }
        r.clock.advance_ms(5000);
        r.correlator.tick();
    };
    feed(single, false);
    feed(batched, true);

    ASSERT_GT(single.packets.packets.size(), 3000u);
    ASSERT_EQ(batched.packets.packets.size(), single.packets.packets.size());
    for (std::size_t i = 0; i < single.packets.packets.size(); ++i) {
        const Packet& a = single.packets.packets[i];
        const Packet& b = batched.packets.packets[i];
        EXPECT_EQ(a.path, b.path) << i;
        EXPECT_EQ(a.kind, b.kind) << i;
        EXPECT_EQ(a.outcome, b.outcome) << i;
        EXPECT_EQ(a.reports, b.reports) << i;
        EXPECT_EQ(a.first_seen_ns, b.first_seen_ns) << i;
        EXPECT_EQ(a.sequence, b.sequence) << i;
        EXPECT_EQ(a.end_to_end_ns, b.end_to_end_ns) << i;
    }
    const CorrelatorStats& x = single.correlator.stats();
    const CorrelatorStats& y = batched.correlator.stats();
    EXPECT_EQ(x.reports, y.reports);
    EXPECT_EQ(x.duplicates, y.duplicates);
    EXPECT_GT(y.duplicates, 0u);
    EXPECT_EQ(x.late, y.late);
    EXPECT_GT(y.late, 0u);
    EXPECT_EQ(x.packets, y.packets);
    EXPECT_EQ(y.packets, batched.packets.packets.size());
    EXPECT_EQ(y.pending, 0u);
    EXPECT_EQ(batched.reports.traces, single.reports.traces);
    EXPECT_EQ(batched.reports.dex.size(), single.reports.dex.size());
    EXPECT_EQ(batched.reports.batches.size(), trace_runs.size() + dex_runs.size())
        << "the report sinks get each batch whole";
}

// The store takes the decoder's traces rather than copying them: the correlator joins them and
// the other report sinks see them before the last sink may take them.
TEST(CorrelatorBatches, TheLastReportSinkMayTakeTheTraces) {
    struct Taking final : TraceSink {
        void consume(const Origin&, const IoamTrace&) override { ADD_FAILURE() << "copied"; }
        void consume(const Origin&, const DexReport&) override {}
        void take(const Origin&, std::span<IoamTrace> traces) override {
            for (IoamTrace& t : traces) {
                taken.push_back(std::move(t));
                t = IoamTrace{};
            }
        }
        std::vector<IoamTrace> taken;
    };
    ManualClock clock;
    CaptureSink first;
    Taking last;
    PacketCapture packets;
    Correlator c({}, {&first, &last}, {&packets}, clock.clock());
    std::vector<IoamTrace> batch;
    for (std::uint32_t k = 0; k < 5; ++k) {
        batch.push_back(node_report(kPath, k, 3));
    }
    const std::vector<IoamTrace> sent = batch;
    c.take(node_origin(4), std::span<IoamTrace>(batch));
    EXPECT_EQ(first.traces, sent);
    EXPECT_EQ(last.taken, sent);
    clock.advance_ms(2001);
    c.tick();
    ASSERT_EQ(packets.packets.size(), 5u);
    for (const Packet& p : packets.packets) {
        EXPECT_EQ(p.path, "1,2,3,4");
    }
}

TEST(CorrelatorTicker, ClosesWindowsWithoutTraffic) {
    std::atomic<std::size_t> seen{0};
    struct Counting final : PacketSink {
        std::atomic<std::size_t>& n;
        explicit Counting(std::atomic<std::size_t>& c) : n(c) {}
        void consume(const Packet&) override { ++n; }
    } counting(seen);
    Correlator c({.window_ns = 50'000'000}, {}, {&counting});
    c.start();
    c.consume(node_origin(1), node_report(kPath, 0, 0));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    c.stop();
    EXPECT_EQ(seen, 1u);
}

}  // namespace
}  // namespace ioam::collector::correlate
