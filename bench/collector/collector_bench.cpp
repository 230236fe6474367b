// Collector throughput, in IOAM hop records per second:
//   BM_DecodeAggregate  IPFIX message -> processor -> decoder -> Prometheus aggregation, one
//                       thread (the ingest path minus the socket read)
//   BM_Persist          IoamTrace -> store queue -> SQLite commit (writer thread)
// Run: build/<dir>/bench/collector/collector_bench; results go to docs/collector.md.

#include <benchmark/benchmark.h>

#include <time.h>

#include <filesystem>

#include "collector/decode/record_decoder.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "collector/store/sqlite_store.hpp"
#include "common/metrics/registry.hpp"
#include "tests/collector/ioam_messages.hpp"

namespace {

using namespace ioam;
using namespace ioam::collector;
using namespace ioam::collector::test;

constexpr int kRecordsPerMessage = 16;

// CPU seconds of the whole process (every thread): with the machine shared, rates per CPU
// second say more about the code than wall-clock rates.
double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A trace over `hops` nodes with transit delay and queue depth, as an IPFIX message of
// kRecordsPerMessage records (template set included, as UDP exporters send it).
std::vector<std::uint8_t> bench_message(int hops, bool with_list, bool with_raw) {
    IoamTrace t;
    t.trace_type = 0xfe0000;  // bits 0-6: ids, interfaces, timestamps, transit, ns data, queue
    t.node_len = 7;
    t.namespace_id = 1;
    t.observation_time_ns = 1'700'000'000'000'000'000;
    for (int i = hops - 1; i >= 0; --i) {
        IoamNode n = make_node(static_cast<std::uint32_t>(i + 1), 1'700'000'000,
                               static_cast<std::uint32_t>(100 * i));
        n.transit_delay = 1000u * static_cast<std::uint32_t>(i + 1);
        n.namespace_data = 7;
        n.queue_depth = static_cast<std::uint32_t>(i);
        t.nodes.push_back(n);
    }
    if (with_raw) {
        for (const IoamNode& n : t.nodes) {
            (void)encode_node(t.trace_type, n, t.raw_data);
        }
    }
    MessageBuilder b(1, 0);
    trace_templates(b, t.trace_type, with_list);
    b.begin_set(with_list ? ipfix::kTraceWithHopsTemplateId : ipfix::kTraceTemplateId);
    for (int i = 0; i < kRecordsPerMessage; ++i) {
        trace_record(b, t, with_list);
    }
    return b.finish();
}

void decode_aggregate(benchmark::State& state, bool with_list, bool with_raw) {
    const int hops = static_cast<int>(state.range(0));
    const auto msg = bench_message(hops, with_list, with_raw);
    ioam::metrics::Registry registry;
    collector::metrics::CollectorMetrics m(registry, {});
    decode::RecordDecoder decoder({&m});
    source::IpfixProcessor proc({}, decode::role_of, decoder, m);
    const source::UdpPeer peer;
    std::uint64_t now = 1;
    for (auto _ : state) {
        proc.process_udp(peer, "192.0.2.1", msg, now++);
    }
    if (decoder.stats().traces.load() !=
        static_cast<std::uint64_t>(state.iterations()) * kRecordsPerMessage) {
        state.SkipWithError("records were not all decoded");
    }
    state.SetItemsProcessed(state.iterations() * kRecordsPerMessage * hops);
    state.counters["records/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * kRecordsPerMessage), benchmark::Counter::kIsRate);
}

void BM_DecodeAggregate_Raw(benchmark::State& s) {
    decode_aggregate(s, false, true);
}
void BM_DecodeAggregate_HopList(benchmark::State& s) {
    decode_aggregate(s, true, false);
}
void BM_DecodeAggregate_Both(benchmark::State& s) {
    decode_aggregate(s, true, true);
}
BENCHMARK(BM_DecodeAggregate_Raw)->Arg(4)->Arg(8);
BENCHMARK(BM_DecodeAggregate_HopList)->Arg(4)->Arg(8);
BENCHMARK(BM_DecodeAggregate_Both)->Arg(4);

void BM_Persist(benchmark::State& state) {
    const int hops = static_cast<int>(state.range(0));
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("ioam-collector-bench-" + std::to_string(::getpid()) + ".db"))
                                 .string();
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < hops; ++i) {
        ids.push_back(static_cast<std::uint32_t>(i + 1));
    }
    const IoamTrace t = make_trace(ids);
    constexpr int kBatch = 20000;
    {
        store::StoreConfig c;
        c.path = path;
        c.queue_capacity = kBatch;
        c.retention_age_s = 0;
        c.retention_max_bytes = 0;
        store::SqliteStore store(c);
        store.start();
        const double cpu0 = process_cpu_seconds();
        for (auto _ : state) {
            for (int i = 0; i < kBatch; ++i) {
                store.consume({"192.0.2.1", 1}, t);
            }
            store.flush();
        }
        store.stop();
        state.counters["hops_per_cpu_s"] = static_cast<double>(state.iterations() * kBatch * hops) /
                                           (process_cpu_seconds() - cpu0);
        if (store.stats().dropped != 0 || store.stats().errors != 0) {
            state.SkipWithError("records were dropped or failed");
        }
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path + suffix);
    }
    state.SetItemsProcessed(state.iterations() * kBatch * hops);
    state.counters["records/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * kBatch), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Persist)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
