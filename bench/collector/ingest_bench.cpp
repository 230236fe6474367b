// The collector's ingest path on the replayed stream, without sockets: each message of a
// recording (tests/data/ipfix/ioam-4hop.ipfix by default), rewritten as ioam-replay rewrites it
// for a continuous exporter, goes through the processor, the decoder, the correlator (with the
// Prometheus aggregation and the store's rollups) and into a SQLite store whose writer runs on
// its own thread, as in ioam-collector. The correlator's clock and the receive times follow the
// recording at --rate messages per second, so its windows hold what they would at that rate.
//
// Prints the CPU per record of the ingest thread (this one: what the collector's I/O thread
// does) and of the rest of the process (the store's writer), measured on the thread and process
// CPU clocks: the figures to compare two builds of the ingest path by, without the noise of a
// sender and a socket sharing the machine. A benchmark, not a test: results in
// docs/benchmarks.md.
//
// Usage: ingest_bench [--file RECORDING] [--messages N] [--rate MSG_PER_S] [--db PATH]

#include <time.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench/replay/recording.hpp"
#include "collector/correlate/correlator.hpp"
#include "collector/decode/record_decoder.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "collector/source/ipfix_processor.hpp"
#include "collector/store/trace_store.hpp"
#include "common/metrics/registry.hpp"

namespace {

using namespace ioam;
using namespace ioam::collector;
namespace replay = ioam::bench::replay;

double cpu_seconds(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ingest_bench: the collector's ingest path on a replayed IPFIX stream"};
    std::string file = "tests/data/ipfix/ioam-4hop.ipfix";
    std::uint64_t messages = 800000;
    double rate = 100000;
    std::string db = (std::filesystem::temp_directory_path() /
                      ("ioam-ingest-bench-" + std::to_string(::getpid()) + ".db"))
                         .string();
    app.add_option("-f,--file", file, "recording (ioam-replay-record)");
    app.add_option("-n,--messages", messages, "messages to process")->check(CLI::Range(1, 1 << 30));
    app.add_option("-r,--rate", rate, "messages per second on the simulated clocks")
        ->check(CLI::Range(1.0, 1e8));
    app.add_option("--db", db, "SQLite file (a new one; removed at the end)");
    CLI11_PARSE(app, argc, argv);

    auto recording = replay::load_recording(file);
    if (!recording) {
        std::fprintf(stderr, "ingest_bench: cannot load %s\n", file.c_str());
        return 1;
    }
    const std::uint64_t start_ns = 1'800'000'000'000'000'000;  // a wall-clock time (UNIX, ns)
    const auto step_ns = static_cast<std::uint64_t>(1e9 / rate);
    std::uint64_t now_ns = start_ns;

    std::uint64_t records = 0;
    bool all_written = false;
    double ingest_s = 0;
    double process_s = 0;
    {
        ioam::metrics::Registry registry({.program = "ingest_bench"});
        collector::metrics::CollectorMetrics collector_metrics(registry, {});
        store::StoreConfig sc;
        sc.path = "sqlite:" + db;
        sc.retention_age_s = 0;
        sc.retention_max_bytes = 0;
        const auto store = store::make_store(sc);
        correlate::Correlator correlator({}, {&collector_metrics, store.get()},
                                         {&collector_metrics, store.get()},
                                         [&now_ns] { return now_ns; });
        decode::RecordDecoder decoder({&correlator});
        correlate::IngestFanout observers({&collector_metrics, &correlator});
        source::IpfixProcessor processor({}, decode::role_of, decoder, observers);
        store->start();

        replay::Stream stream(*recording);
        std::vector<std::uint8_t> buffer(recording->largest_message);
        const source::UdpPeer peer{
            {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}, 4739, 0};
        const double ingest0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        const double process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (std::uint64_t i = 0; i < messages; ++i) {
            const std::size_t length =
                stream.next(buffer, static_cast<std::uint32_t>(now_ns / 1'000'000'000));
            processor.process_udp(peer, "127.0.0.1", std::span(buffer).first(length), now_ns);
            now_ns += step_ns;
            // Faster than real time, the writer would fall behind and UDP records be dropped:
            // the ingest thread waits for it (asleep, so on no CPU clock).
            while (i % 64 == 0 && store->stats().queued > sc.queue_capacity / 2) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        ingest_s = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - ingest0;
        records = stream.records();
        store->flush();
        process_s = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
        store->stop();
        const store::StoreStats st = store->stats();
        all_written = st.written == records && st.dropped == 0;
        if (!all_written) {
            std::fprintf(stderr, "ingest_bench: %llu records, %llu written, %llu dropped\n",
                         static_cast<unsigned long long>(records),
                         static_cast<unsigned long long>(st.written),
                         static_cast<unsigned long long>(st.dropped));
        }
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(db + suffix);
    }
    const double n = static_cast<double>(records);
    std::printf(
        "records=%llu ingest_thread_us_per_record=%.3f other_threads_us_per_record=%.3f "
        "all_us_per_record=%.3f\n",
        static_cast<unsigned long long>(records), ingest_s / n * 1e6,
        (process_s - ingest_s) / n * 1e6, process_s / n * 1e6);
    return all_written ? 0 : 1;  // figures of a run that lost records do not compare
}
