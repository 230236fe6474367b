#pragma once
// The conformance suite every store back end must pass, as a typed GoogleTest suite. A back
// end instantiates it with a Backend type that provides:
//   std::unique_ptr<TraceStore> open(StoreConfig c)  -- the store at one fixed location
//   std::unique_ptr<WriteBlock> block_writes()        -- writes fail while it lives
//   void lose_storage()                               -- the stored data disappears (file
//                                                        deleted); writing must recover
// and, for a back end on a server the test starts, std::string unavailable() -- why the
// server is not there (empty when it is): the tests are then skipped with that reason
// (see conformance_sqlite.cpp, conformance_clickhouse.cpp).

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <span>
#include <thread>

#include "collector/store/trace_store.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/trace_type.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/packets.hpp"

namespace ioam::collector::store::conformance {

using namespace ioam::collector::test;
using namespace std::chrono_literals;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;
constexpr std::uint64_t kSec = 1'000'000'000;
constexpr std::uint64_t kMinute = 60 * kSec;

inline std::uint64_t wall_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// Polls `done` until it holds or 20 s pass: waits for a state, never for a fixed time.
template <typename F>
bool eventually(F&& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// Every node data field (bits 0-11 and the opaque state), values that fill their widths.
inline IoamNode full_node(std::uint32_t id) {
    IoamNode n;
    n.hop_limit = 63;
    n.node_id = id;
    n.ingress_if_id = 0x1234;
    n.egress_if_id = 0x4321;
    n.timestamp_secs = 1'700'000'000;
    n.timestamp_frac = 1000 + id;
    n.transit_delay = 0x7fffffff;
    n.namespace_data = 0xdeadbeef;
    n.queue_depth = 77;
    n.checksum_complement = 0x01020304;
    n.hop_limit_wide = 200;
    n.node_id_wide = 0x00ab'cdef'0123'4567ull + id;
    n.ingress_if_id_wide = 0xfffffffe;
    n.egress_if_id_wide = 5;
    n.namespace_data_wide = 0x00ff'ffff'ffff'fff0ull;
    n.buffer_occupancy = 9;
    n.opaque_state = OpaqueState{0x123456, {1, 2, 3, 4, 5, 6, 7, 8}};
    return n;
}

constexpr std::uint32_t kFullType = 0xfff002;  // bits 0-11 and 22

inline IoamTrace full_trace(std::uint64_t time_ns) {
    IoamTrace t;
    t.observation_time_ns = time_ns;
    t.observation_domain = 0xfffffff0;
    t.namespace_id = 0xfffe;
    t.trace_type = kFullType;
    t.node_len = ioam::trace_type::node_len(kFullType);
    t.flags = 0x80;
    for (std::uint32_t id : {3u, 2u, 1u}) {
        t.nodes.push_back(full_node(id));
        EXPECT_TRUE(encode_node(t.trace_type, t.nodes.back(), t.raw_data));
    }
    return t;
}

inline DexReport full_dex(std::uint32_t flow, std::uint32_t seq, std::uint32_t node,
                          std::uint64_t time_ns = kT0) {
    DexReport d;
    d.observation_time_ns = time_ns;
    d.observation_domain = 3;
    d.namespace_id = 9;
    d.flags = 0x40;
    d.ext_flags = 0xc0;
    d.trace_type = kFullType;
    d.flow_id = flow;
    d.sequence_number = seq;
    d.node = full_node(node);
    return d;
}

template <typename Backend>
class StoreConformance : public ::testing::Test {
  protected:
    void SetUp() override {
        if constexpr (requires { backend.unavailable(); }) {
            if (const std::string why = backend.unavailable(); !why.empty()) {
                GTEST_SKIP() << "SKIPPED: " << why;
            }
        }
    }
    static StoreConfig base_config() {
        StoreConfig c;
        c.retention_age_s = 0;
        c.retention_max_bytes = 0;
        return c;
    }
    std::unique_ptr<TraceStore> open(StoreConfig c = base_config()) {
        return backend.open(std::move(c));
    }
    static std::vector<StoredRecord> all(TraceStore& s) {
        auto rows = s.query({.limit = 1'000'000});
        EXPECT_TRUE(rows);
        return rows ? *rows : std::vector<StoredRecord>{};
    }

    Backend backend;
};

TYPED_TEST_SUITE_P(StoreConformance);

TYPED_TEST_P(StoreConformance, RoundTripsEveryField) {
    auto store = this->open();
    EXPECT_FALSE(store->ready());
    store->start();
    EXPECT_TRUE(store->ready());
    const IoamTrace full = full_trace(kT0);
    IoamTrace hop_list = make_trace({5, 6});  // arrived as a hop list: no raw data
    hop_list.raw_data.clear();
    IoamTrace disagreeing = make_trace({7, 8});  // raw data and nodes differ: both kept
    disagreeing.nodes[0].opaque_state = OpaqueState{1, {9, 9, 9, 9}};
    IoamTrace empty = make_trace({});
    const DexReport dex = full_dex(77, 5, 2);
    DexReport bare;  // nothing optional present
    bare.observation_time_ns = kT0;
    store->consume({"2001:db8::1", 7, true}, full);
    store->consume({"10.0.0.2", 2}, hop_list);
    store->consume({"10.0.0.2", 2}, disagreeing);
    store->consume({"10.0.0.2", 3}, empty);
    store->consume({"10.0.0.3", 3}, dex);
    store->consume({"10.0.0.3", 3}, bare);
    store->flush();

    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_EQ(std::get<IoamTrace>(rows[0].record), full);
    EXPECT_EQ(rows[0].exporter, "2001:db8::1");
    EXPECT_EQ(rows[0].domain, 7u);
    EXPECT_EQ(std::get<IoamTrace>(rows[1].record), hop_list);
    EXPECT_EQ(std::get<IoamTrace>(rows[2].record), disagreeing);
    EXPECT_EQ(std::get<IoamTrace>(rows[3].record), empty);
    EXPECT_EQ(rows[3].domain, 3u);
    EXPECT_EQ(std::get<DexReport>(rows[4].record), dex);
    EXPECT_EQ(rows[4].kind(), RecordKind::dex);
    EXPECT_EQ(std::get<DexReport>(rows[5].record), bare);
    for (std::size_t i = 1; i < rows.size(); ++i) {
        EXPECT_GT(rows[i].id, rows[i - 1].id);
    }
    auto one = store->get(rows[4].id);
    ASSERT_TRUE(one && one->has_value());
    EXPECT_EQ(std::get<DexReport>((*one)->record), dex);
    auto none = store->get(rows.back().id + 1000);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    EXPECT_EQ(store->stats().written, 6u);
}

TYPED_TEST_P(StoreConformance, FiltersAndCursors) {
    auto store = this->open();
    store->start();
    const IoamTrace a = make_trace({1, 2, 3}, 123, kT0);
    IoamTrace b = make_trace({1, 4}, 7, kT0 + 10 * kSec);
    b.nodes[1].node_id_wide = 0xabcdef0123ull;  // its identity stays node 1
    const DexReport d = full_dex(77, 5, 2, kT0 + 5 * kSec);
    store->consume({"10.0.0.1", 1}, a);
    store->consume({"10.0.0.2", 2}, b);
    store->consume({"10.0.0.3", 3}, d);
    for (std::uint32_t i = 0; i < 50; ++i) {
        store->consume({"10.0.0.4", 1}, make_trace({9, 8}, 123, kT0 + 20 * kSec + i));
    }
    store->flush();
    const auto ids = [&](const TraceQuery& q) {
        std::vector<std::int64_t> out;
        auto rows = store->query(q);
        EXPECT_TRUE(rows);
        for (const auto& r : *rows) {
            out.push_back(r.id);
        }
        return out;
    };
    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 53u);
    const auto id = [&](std::size_t i) { return rows[i].id; };
    using V = std::vector<std::int64_t>;
    EXPECT_EQ(ids({.namespace_id = 7}), V{id(1)});
    EXPECT_EQ(ids({.node_id = 2}), (V{id(0), id(2)}));  // trace a and the DEX report
    EXPECT_EQ(ids({.node_id = 0xabcdef0123ull}), V{id(1)});
    EXPECT_EQ(ids({.node_id = 1, .limit = 2}), (V{id(0), id(1)}));
    EXPECT_EQ(ids({.node_id = 1, .after_id = id(0)}), V{id(1)});
    EXPECT_EQ(ids({.namespace_id = 123, .node_id = 2}), V{id(0)});
    EXPECT_EQ(ids({.node_id = 99}), V{});
    EXPECT_EQ(ids({.flow_id = 77}), V{id(2)});
    EXPECT_EQ(ids({.kind = RecordKind::dex}), V{id(2)});
    EXPECT_EQ(ids({.kind = RecordKind::trace, .limit = 2}), (V{id(0), id(1)}));
    EXPECT_EQ(ids({.from_ns = kT0 + kSec, .to_ns = kT0 + 11 * kSec}), (V{id(1), id(2)}));
    EXPECT_EQ(ids({.from_ns = UINT64_MAX}), V{});
    // Paging with the cursor visits every record once, in id order.
    V paged;
    for (std::int64_t after = 0;;) {
        auto page = ids({.namespace_id = 123, .after_id = after, .limit = 7});
        if (page.empty()) {
            break;
        }
        paged.insert(paged.end(), page.begin(), page.end());
        after = page.back();
    }
    ASSERT_EQ(paged.size(), 51u);
    EXPECT_TRUE(std::is_sorted(paged.begin(), paged.end()));
}

// The ingest thread hands the store its decoded traces (take()); those whose nodes it decoded
// from their raw data (Origin::nodes_from_raw) go on without the nodes, which stay with it for
// the next data set: the back end rebuilds them from the raw data for the stored record and
// its node filter.
TYPED_TEST_P(StoreConformance, TakenTracesKeepTheirNodesWithTheCaller) {
    auto store = this->open();
    store->start();
    const std::vector<IoamTrace> sent = {make_trace({1, 2, 3}, 123, kT0),
                                         make_trace({4, 5}, 123, kT0 + kSec)};
    std::vector<IoamTrace> taken = sent;
    store->take({.exporter = "10.0.0.1", .domain = 1, .nodes_from_raw = true},
                std::span<IoamTrace>(taken));
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(taken[i].nodes, sent[i].nodes) << "the caller decodes into them again";
    }
    store->flush();
    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(std::get<IoamTrace>(rows[0].record), sent[0]);
    EXPECT_EQ(std::get<IoamTrace>(rows[1].record), sent[1]);
    auto by_node = store->query({.node_id = 5});
    ASSERT_TRUE(by_node);
    ASSERT_EQ(by_node->size(), 1u);
    EXPECT_EQ((*by_node)[0].id, rows[1].id);
}

TYPED_TEST_P(StoreConformance, IdsContinueAfterRetentionAndRestart) {
    StoreConfig c = this->base_config();
    c.retention_age_s = 3600;
    std::int64_t last = 0;
    {
        auto store = this->open(c);
        store->consume({"e", 1}, make_trace({1}, 1, wall_ns()));
        store->consume({"e", 1}, make_trace({2}, 1, wall_ns()));
        // The newest record is the oldest observation: retention deletes it.
        store->consume({"e", 1}, make_trace({3}, 1, wall_ns() - 7200 * kSec));
        store->start();
        store->stop();  // the writer applies retention after its first batch
        const auto rows = this->all(*store);
        ASSERT_EQ(rows.size(), 2u);
        EXPECT_EQ(store->stats().retained_deleted, 1u);
        last = rows.back().id + 1;  // the deleted one
    }
    auto store = this->open(c);
    store->start();
    store->consume({"e", 1}, make_trace({4}, 1, wall_ns()));
    store->flush();
    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_GT(rows.back().id, last);
    EXPECT_EQ(std::get<IoamTrace>(rows.back().record).nodes[0].node_id, 4u);
}

// A 4-hop trace whose hop timestamps vary with `time_ns` (raw data encoded again).
inline IoamTrace varied_trace(std::uint64_t time_ns) {
    IoamTrace t = make_trace({1, 2, 3, 4}, 1, time_ns);
    t.raw_data.clear();
    std::uint64_t h = time_ns * 0x9e3779b97f4a7c15ull;
    for (IoamNode& n : t.nodes) {
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        n.timestamp_frac = static_cast<std::uint32_t>(h % 1'000'000);
        (void)encode_node(t.trace_type, n, t.raw_data);
    }
    return t;
}

TYPED_TEST_P(StoreConformance, RetentionBySize) {
    // The limit is half of what 20000 records take in this back end (they compress unlike;
    // their timestamps vary, as real ones do, so that they are more than the schema's pages).
    StoreConfig c = this->base_config();
    c.batch_size = 20000;  // one batch, then retention
    {
        auto store = this->open(c);
        for (int i = 0; i < 20000; ++i) {
            store->consume({"e", 1}, varied_trace(kT0 + static_cast<std::uint64_t>(i)));
        }
        store->start();
        store->stop();
        c.retention_max_bytes = store->stats().db_bytes / 2;
    }
    ASSERT_GT(c.retention_max_bytes, 0u);
    auto store = this->open(c);
    store->consume({"e", 1}, make_trace({1, 2, 3, 4}, 1, kT0 + 20000));
    store->start();
    store->stop();
    const auto s = store->stats();
    EXPECT_GT(s.retained_deleted, 0u);
    EXPECT_LE(s.db_bytes, c.retention_max_bytes);
    const auto rows = this->all(*store);
    EXPECT_GT(rows.size(), 0u);
    EXPECT_EQ(rows.size() + s.retained_deleted, 20001u);
    EXPECT_EQ(std::get<IoamTrace>(rows.back().record).observation_time_ns,
              kT0 + 20000);  // the newest stay
    EXPECT_EQ(std::get<IoamTrace>(rows.front().record).observation_time_ns,
              kT0 + s.retained_deleted);  // the oldest went
}

TYPED_TEST_P(StoreConformance, StopWritesEverythingAndRestartReadsIt) {
    {
        auto store = this->open();
        store->start();
        for (int i = 0; i < 10000; ++i) {
            store->consume({"e", 1, true}, make_trace({1, 2}));
        }
        for (int i = 0; i < 10; ++i) {
            store->consume(make_packet({1, 2}, 123, kT0, 100'000));
        }
        store->stop();
        EXPECT_EQ(store->stats().written, 10000u);
        // After stop() nothing would write a record: it is counted, even a reliable one.
        store->consume({"e", 1, true}, make_trace({1, 2}));
        EXPECT_EQ(store->stats().dropped, 1u);
    }
    auto store = this->open();
    EXPECT_EQ(this->all(*store).size(), 10000u);
    auto paths = store->paths({}, 10);
    ASSERT_TRUE(paths);
    ASSERT_EQ(paths->size(), 1u);
    EXPECT_EQ((*paths)[0].packets, 10u);
}

TYPED_TEST_P(StoreConformance, RollupsAnswerFromPackets) {
    constexpr std::uint64_t kM0 = kT0 / kMinute * kMinute;
    auto store = this->open();
    store->start();
    // Minute 0: 10 packets 1-2-3 (100 us per segment), one of them lost before 3; minute 1:
    // 90 packets with growing delays, in two batches, and one 1-4 packet.
    for (int i = 0; i < 9; ++i) {
        store->consume(make_packet({1, 2, 3}, 5, kM0, 100'000));
    }
    store->consume(make_packet({1, 2}, 5, kM0 + 1, 100'000, 3));
    store->flush();
    for (int i = 1; i <= 90; ++i) {
        store->consume(make_packet({1, 2, 3}, 5, kM0 + kMinute, 1000 * i));
        if (i == 45) {
            store->flush();
        }
    }
    Packet other = make_packet({1, 4}, 6, kM0 + kMinute, 7);
    other.hops[1].transit_delay_ns = 40;
    other.hops[1].queue_depth = 12;
    other.weight = 4;  // sampled 1/4
    store->consume(other);
    store->flush();

    auto paths = store->paths({}, 10);
    ASSERT_TRUE(paths);
    ASSERT_EQ(paths->size(), 3u);
    const PathSummary& p = (*paths)[0];
    EXPECT_EQ(p.path, "1,2,3");
    EXPECT_EQ(p.namespace_id, 5u);
    EXPECT_EQ(p.packets, 99u);
    EXPECT_EQ(p.first_seen_ns, kM0);
    EXPECT_EQ(p.last_seen_ns, kM0 + kMinute);
    EXPECT_EQ(p.delay.count, 99u);
    EXPECT_EQ(p.delay.min_ns, 2000);
    EXPECT_EQ(p.delay.max_ns, 200'000);
    // Exact p50 is 100 000 (rank 50 of 2000, 4000, ... 180 000 and 9 x 200 000); buckets are
    // within 6.25 %.
    ASSERT_TRUE(p.percentiles.p50_ns);
    EXPECT_NEAR(static_cast<double>(*p.percentiles.p50_ns), 100'000, 100'000 * 0.0625);
    EXPECT_EQ(p.percentiles.p99_ns, 200'000);
    EXPECT_EQ((*paths)[1].packets, 4u);  // weighted
    EXPECT_EQ((*paths)[2].path, "1,2");
    EXPECT_EQ((*paths)[2].lost, 1u);

    // Windows are whole minutes.
    auto first_minute = store->paths({kM0, kM0 + kMinute}, 10);
    ASSERT_TRUE(first_minute);
    ASSERT_EQ(first_minute->size(), 2u);
    EXPECT_EQ((*first_minute)[0].packets, 9u);
    EXPECT_EQ(store->paths({kM0 + 2 * kMinute, UINT64_MAX}, 10)->size(), 0u);
    EXPECT_EQ(store->paths({}, 1)->size(), 1u);

    auto nodes = store->nodes({}, 10);
    ASSERT_TRUE(nodes);
    ASSERT_EQ(nodes->size(), 4u);
    EXPECT_EQ((*nodes)[0].node_id, 1u);
    EXPECT_EQ((*nodes)[0].records, 104u);
    EXPECT_EQ((*nodes)[0].segment.count, 0u);  // always first
    EXPECT_EQ((*nodes)[2].node_id, 3u);
    EXPECT_EQ((*nodes)[2].records, 99u);
    EXPECT_EQ((*nodes)[3].transit.count, 1u);
    EXPECT_EQ((*nodes)[3].transit.min_ns, 40);
    EXPECT_EQ((*nodes)[3].queue.max_ns, 12);
    EXPECT_EQ(store->nodes({}, 2)->size(), 2u);

    auto segments = store->segments({}, 10);
    ASSERT_TRUE(segments);
    ASSERT_EQ(segments->size(), 3u);
    EXPECT_EQ((*segments)[0].from, 1u);
    EXPECT_EQ((*segments)[0].to, 2u);
    EXPECT_EQ((*segments)[0].packets, 100u);
    EXPECT_EQ((*segments)[1].from, 2u);
    EXPECT_EQ((*segments)[1].to, 3u);
    EXPECT_EQ((*segments)[1].packets, 99u);
    EXPECT_EQ((*segments)[1].lost, 1u);
    EXPECT_EQ((*segments)[1].delay.max_ns, 100'000);
    EXPECT_EQ(store->stats().packets, 101u);
}

TYPED_TEST_P(StoreConformance, FullQueueBlocksReliableAndDropsOthers) {
    StoreConfig c = this->base_config();
    c.queue_capacity = 4;
    auto store = this->open(c);
    store->start();
    auto block = this->backend.block_writes();
    // The writer holds one batch it cannot write; then the queue fills.
    store->consume({"tcp", 1, true}, make_trace({1}));
    ASSERT_TRUE(eventually([&] { return store->stats().errors > 0; }));
    EXPECT_FALSE(store->ready());
    for (int i = 0; i < 4; ++i) {
        store->consume({"tcp", 1, true}, make_trace({1}));
    }
    for (int i = 0; i < 3; ++i) {
        store->consume({"udp-a", 1}, make_trace({2}));
    }
    store->consume({"udp-b", 1}, make_trace({2}));
    EXPECT_EQ(store->stats().dropped, 4u);
    using Drops = std::vector<std::pair<std::string, std::uint64_t>>;
    EXPECT_EQ(store->dropped_by_exporter(), (Drops{{"udp-a", 3}, {"udp-b", 1}}));
    // A reliable record waits for room instead.
    auto tcp = std::async(std::launch::async, [&] {
        store->consume({"tcp", 1, true}, make_trace({3}));
    });
    ASSERT_TRUE(eventually([&] { return store->stats().blocked == 1; }));
    EXPECT_EQ(tcp.wait_for(0s), std::future_status::timeout);
    block.reset();
    tcp.get();
    store->flush();
    EXPECT_TRUE(store->ready());
    const auto rows = this->all(*store);
    EXPECT_EQ(rows.size(), 6u);  // every reliable record
    EXPECT_EQ(std::get<IoamTrace>(rows.back().record).nodes[0].node_id, 3u);
    EXPECT_EQ(store->stats().written, 6u);
}

// The records of one IPFIX data set come as one batch, admitted record by record: an unreliable
// batch fills the queue and the rest is dropped; a reliable one waits for room.
TYPED_TEST_P(StoreConformance, BatchesAreAdmittedRecordByRecord) {
    StoreConfig c = this->base_config();
    c.queue_capacity = 4;
    auto store = this->open(c);
    store->start();
    auto block = this->backend.block_writes();
    store->consume({"tcp", 1, true}, make_trace({1}));  // the batch the writer holds
    ASSERT_TRUE(eventually([&] { return store->stats().errors > 0; }));
    const std::vector<IoamTrace> udp(6, make_trace({2}));
    store->consume({"udp", 1}, std::span<const IoamTrace>(udp));
    EXPECT_EQ(store->stats().queued, 4u);
    EXPECT_EQ(store->stats().dropped, 2u);
    // Taken rather than copied: what is left in their place is the store's to give.
    std::vector<IoamTrace> tcp = {make_trace({10}), make_trace({11}), make_trace({12})};
    auto waiting = std::async(std::launch::async, [&] {
        store->take({"tcp", 1, true}, std::span<IoamTrace>(tcp));
    });
    ASSERT_TRUE(eventually([&] { return store->stats().blocked > 0; }));
    EXPECT_EQ(waiting.wait_for(0s), std::future_status::timeout);
    block.reset();
    waiting.get();
    store->flush();
    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 8u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(std::get<IoamTrace>(rows[5 + i].record).nodes[0].node_id, 10 + i);
    }
    EXPECT_EQ(store->stats().dropped, 2u);
}

TYPED_TEST_P(StoreConformance, OneFloodingExporterLeavesRoomForOthers) {
    StoreConfig c = this->base_config();
    c.queue_capacity = 32;
    auto store = this->open(c);
    store->start();
    auto block = this->backend.block_writes();
    store->consume({"flood", 1}, make_trace({1}));  // the batch the writer holds
    ASSERT_TRUE(eventually([&] { return store->stats().errors > 0; }));
    for (int i = 0; i < 100; ++i) {
        store->consume({"flood", 1}, make_trace({1}));
    }
    // Alone, it may hold the queue less the reserve kept for others (1/8): 28 of 32.
    ASSERT_EQ(store->stats().queued, 28u);  // else the reliable record below would wait
    // A reliable exporter is back-pressured when the queue is full, never held to a share.
    store->consume({"tcp", 1, true}, make_trace({3}));
    for (int i = 0; i < 2; ++i) {
        store->consume({"quiet", 1}, make_trace({2}));
        store->consume({"flood", 1}, make_trace({1}));  // now over its third of 28
    }
    EXPECT_EQ(store->stats().queued, 31u);
    using Drops = std::vector<std::pair<std::string, std::uint64_t>>;
    EXPECT_EQ(store->dropped_by_exporter(), (Drops{{"flood", 72 + 2}}));
    block.reset();
    store->flush();
    std::map<std::uint32_t, int> by_node;
    for (const auto& row : this->all(*store)) {
        by_node[std::get<IoamTrace>(row.record).nodes[0].node_id.value_or(0)]++;
    }
    EXPECT_EQ(by_node, (std::map<std::uint32_t, int>{{1, 29}, {2, 2}, {3, 1}}));
}

TYPED_TEST_P(StoreConformance, FailedBatchIsRetriedUntilWritten) {
    auto store = this->open();
    store->start();
    store->consume({"e", 1}, make_trace({1}));
    store->flush();
    {
        auto block = this->backend.block_writes();
        store->consume({"e", 1}, make_trace({2}));
        store->consume(make_packet({1, 2}, 1, kT0, 5));
        ASSERT_TRUE(eventually([&] { return store->stats().errors >= 2; }));  // retried
        EXPECT_FALSE(store->ready());
        EXPECT_EQ(store->stats().written, 1u);
    }
    store->flush();
    EXPECT_TRUE(store->ready());
    EXPECT_EQ(this->all(*store).size(), 2u);
    EXPECT_EQ(store->paths({}, 10)->size(), 1u);
    EXPECT_EQ(store->stats().lost, 0u);
}

TYPED_TEST_P(StoreConformance, LostStorageIsDetectedAndIdsContinue) {
    auto store = this->open();
    store->start();
    store->consume({"e", 1}, make_trace({1}));
    store->flush();
    const auto first = this->all(*store).at(0).id;
    this->backend.lose_storage();
    store->consume({"e", 1}, make_trace({2}));
    store->flush();
    EXPECT_GE(store->stats().errors, 1u);  // the batch that found the storage gone
    EXPECT_TRUE(store->ready());
    const auto rows = this->all(*store);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_GT(rows[0].id, first);
    EXPECT_EQ(std::get<IoamTrace>(rows[0].record).nodes[0].node_id, 2u);
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformance, RoundTripsEveryField, FiltersAndCursors,
                            TakenTracesKeepTheirNodesWithTheCaller,
                            IdsContinueAfterRetentionAndRestart, RetentionBySize,
                            StopWritesEverythingAndRestartReadsIt, RollupsAnswerFromPackets,
                            FullQueueBlocksReliableAndDropsOthers, BatchesAreAdmittedRecordByRecord,
                            OneFloodingExporterLeavesRoomForOthers,
                            FailedBatchIsRetriedUntilWritten, LostStorageIsDetectedAndIdsContinue);

}  // namespace ioam::collector::store::conformance
