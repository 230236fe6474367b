// Store write and summary benchmark (issue 14; results in docs/benchmarks.md):
//   ioam-store-bench write N DB       N records through the TraceStore: 15 in 16 are 4-hop
//                                     traces (8 trace types, 16 paths, 8 exporters, one
//                                     correlated packet each), 1 in 16 a DEX report (64 busy
//                                     flows and one rare flow, in 1 report of 4096);
//                                     records/s and process CPU per record
//   ioam-store-bench summaries N DB   the same N records spread over 24 h, then /api/v1/paths,
//                                     /nodes, /segments and record queries (node, time,
//                                     busy, rare and absent DEX flow) through the HTTP
//                                     routes, timed
// DB is a store string (sqlite:PATH). A benchmark: nothing is asserted.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/api/routes.hpp"
#include "collector/store/trace_store.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/trace_type.hpp"

namespace {

using namespace ioam;
using namespace ioam::collector;
using Clock = std::chrono::steady_clock;

double cpu_seconds(clockid_t clock = CLOCK_PROCESS_CPUTIME_ID) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr int kHops = 4;
constexpr int kPaths = 16;
constexpr int kExporters = 8;
constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;
constexpr std::uint64_t kDexEvery = 16;
constexpr std::uint32_t kBusyFlows = 64;
constexpr std::uint32_t kRareFlow = 999'999;  // one DEX report in 4096

// DEX report number `k`: a worst case for a flow filter is a rare flow spread over the store.
DexReport make_dex(std::uint64_t k, std::uint64_t time) {
    DexReport d;
    d.observation_time_ns = time;
    d.observation_domain = 1;
    d.namespace_id = 123;
    d.ext_flags = 0xc0;
    d.trace_type = 0xf00000;
    d.flow_id = k % 4096 == 0 ? kRareFlow : 1 + static_cast<std::uint32_t>(k % kBusyFlows);
    d.sequence_number = static_cast<std::uint32_t>(k);
    d.node.hop_limit = 63;
    d.node.node_id = static_cast<std::uint32_t>(1 + k % 12);
    d.node.ingress_if_id = 1;
    d.node.egress_if_id = 2;
    d.node.timestamp_secs = 1'700'000'000;
    d.node.timestamp_frac = static_cast<std::uint32_t>(k % 1'000'000);
    return d;
}

struct Sample {
    IoamTrace trace;
    Packet packet;
};

// Path p crosses nodes 1 + (p + i) % 12 for hop i; trace types alternate between 8 of the
// types a Linux node writes (all with ids and timestamps).
std::vector<Sample> make_samples() {
    const std::uint32_t types[] = {0xf00000, 0xf80000, 0xfc0000, 0xfe0000,
                                   0xf20000, 0xf40000, 0xf60000, 0xfa0000};
    std::vector<Sample> out;
    for (int p = 0; p < kPaths; ++p) {
        for (std::uint32_t type : types) {
            Sample s;
            IoamTrace& t = s.trace;
            t.observation_domain = 1;
            t.namespace_id = 123;
            t.trace_type = type;
            t.node_len = trace_type::node_len(type);
            Packet& pk = s.packet;
            pk.namespace_id = 123;
            pk.trace_type = type;
            for (int i = kHops - 1; i >= 0; --i) {  // newest first
                IoamNode n;
                n.hop_limit = static_cast<std::uint8_t>(64 - i);
                n.node_id = static_cast<std::uint32_t>(1 + (p + i) % 12);
                n.ingress_if_id = 1;
                n.egress_if_id = 2;
                n.timestamp_secs = 1'700'000'000;
                n.timestamp_frac = static_cast<std::uint32_t>(1000 + 100 * i + p);
                if (type & 0x080000) {
                    n.transit_delay = 3000;
                }
                if (type & 0x040000) {
                    n.namespace_data = 7;
                }
                if (type & 0x020000) {
                    n.queue_depth = static_cast<std::uint32_t>(i);
                }
                if (!encode_node(type, n, t.raw_data)) {
                    std::abort();
                }
                t.nodes.push_back(n);
            }
            // As the collector's decoder has them (Origin::nodes_from_raw).
            if (!decode_trace_data(type, t.node_len, t.raw_data, t.nodes)) {
                std::abort();
            }
            for (int i = 0; i < kHops; ++i) {
                const IoamNode& n = t.nodes[static_cast<std::size_t>(kHops - 1 - i)];
                PacketHop h;
                h.node = *n.node_id;
                h.time_ns = (1000 + 100 * i + p) * 1000;
                if (i > 0) {
                    h.segment_ns = 100'000 + p;
                }
                if (n.transit_delay) {
                    h.transit_delay_ns = *n.transit_delay;
                }
                h.queue_depth = n.queue_depth;
                h.reported = true;
                pk.hops.push_back(h);
                pk.path += (i ? "," : "") + std::to_string(h.node);
            }
            pk.end_to_end_ns = (kHops - 1) * (100'000 + p);
            pk.reports = 1;
            out.push_back(std::move(s));
        }
    }
    return out;
}

int write_records(std::uint64_t n, const std::string& where, std::uint64_t span_ns) {
    store::StoreConfig c;
    c.path = where;
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    auto store = store::make_store(c);
    std::vector<Sample> samples = make_samples();
    std::vector<std::string> exporters;
    for (int e = 0; e < kExporters; ++e) {
        exporters.push_back("192.0.2." + std::to_string(e + 1));
    }
    double batch_secs = 0;
    double batch_max = 0;
    store->set_batch_observer([&](double secs, std::size_t) {
        batch_secs += secs;
        batch_max = std::max(batch_max, secs);
    });
    store->start();
    const double cpu0 = cpu_seconds();
    const double producer0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    const auto t0 = Clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t time = kT0 + (span_ns ? i * (span_ns / n) : i);
        if (i % kDexEvery == kDexEvery - 1) {
            store->consume({exporters[i % exporters.size()], 1, true},
                           make_dex(i / kDexEvery, time));
            continue;
        }
        Sample& s = samples[i % samples.size()];
        s.trace.observation_time_ns = time;
        s.packet.first_seen_ns = s.packet.last_seen_ns = time;
        store->consume({.exporter = exporters[i % exporters.size()],
                        .domain = 1,
                        .reliable = true,
                        .nodes_from_raw = true},
                       s.trace);
        store->consume(s.packet);
    }
    const double producer = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - producer0;
    store->stop();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const auto st = store->stats();
    std::printf(
        "write: %llu records (%llu written, %llu dropped, %llu failed batches) in %.2f s: "
        "%.0f records/s, %.2f us CPU per record (%.2f us in consume(), %.2f us writer), "
        "%llu batches (mean %.1f ms, max %.1f ms), %.1f MB\n",
        static_cast<unsigned long long>(n), static_cast<unsigned long long>(st.written),
        static_cast<unsigned long long>(st.dropped), static_cast<unsigned long long>(st.errors),
        secs, static_cast<double>(n) / secs, cpu * 1e6 / static_cast<double>(n),
        producer * 1e6 / static_cast<double>(n), (cpu - producer) * 1e6 / static_cast<double>(n),
        static_cast<unsigned long long>(st.batches),
        batch_secs * 1e3 / static_cast<double>(std::max<std::uint64_t>(st.batches, 1)),
        batch_max * 1e3, static_cast<double>(st.db_bytes) / 1e6);
    return st.written == n ? 0 : 1;
}

int summaries(std::uint64_t n, const std::string& where) {
    if (n > 0 && write_records(n, where, 24ull * 3600 * 1'000'000'000) != 0) {
        return 1;
    }
    store::StoreConfig c;
    c.path = where;
    c.retention_age_s = 0;
    c.retention_max_bytes = 0;
    auto store = store::make_store(c);
    api::Routes routes(*store,
                       {[] { return std::string(); },
                        [] { return std::vector<source::ExporterStats>{}; },
                        [] { return true; },
                        {}},
                       {});
    const std::string hour = "from=" + std::to_string(kT0 + 12ull * 3600 * 1'000'000'000) +
                             "&to=" + std::to_string(kT0 + 13ull * 3600 * 1'000'000'000);
    for (const std::string& target : std::vector<std::string>{
             "/api/v1/paths", "/api/v1/nodes", "/api/v1/segments", "/api/v1/paths?" + hour,
             "/api/v1/nodes?" + hour, "/api/v1/records?node=5&limit=100",
             "/api/v1/records?limit=100&" + hour, "/api/v1/records?namespace=123&limit=1000",
             "/api/v1/records?flow=7&limit=100",
             "/api/v1/records?flow=" + std::to_string(kRareFlow) + "&limit=100",
             "/api/v1/records?flow=4242&limit=100"}) {
        std::vector<double> ms;
        std::size_t bytes = 0;
        int status = 0;
        for (int i = 0; i < 7; ++i) {
            const auto t0 = Clock::now();
            const auto r = routes.handle("GET", target);
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            bytes = r.body.size();
            status = r.status;
        }
        std::sort(ms.begin(), ms.end());
        std::printf("%-60s %d, %zu octets: median %.1f ms, max %.1f ms\n", target.c_str(), status,
                    bytes, ms[ms.size() / 2], ms.back());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(
            stderr,
            "usage: %s write|summaries RECORDS STORE (sqlite:PATH, clickhouse://HOST:PORT/DB)\n",
            argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const std::uint64_t n = std::strtoull(argv[2], nullptr, 10);
    try {
        return mode == "write" ? write_records(n, argv[3], 0) : summaries(n, argv[3]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
