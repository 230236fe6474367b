// Correlator cost per report and its memory, for a 4-hop path whose four nodes each report
// every packet, at an arrival rate of Arg k reports/s (simulated on the correlator's clock, so
// the window holds as many packets as it would at that rate):
//   BM_Correlate         packets to a sink that only counts them (the correlator alone)
//   BM_CorrelateMetrics  packets to the Prometheus aggregation (CollectorMetrics)
// The first window (the path's end not yet known, every packet waits for it) is run before
// timing; state_bytes is the correlator's own estimate at the end, peak_rss_mb the process'.
// Run: build/<dir>/bench/collector/correlator_bench; results go to docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <array>

#include "collector/correlate/correlator.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "common/metrics/registry.hpp"
#include "tests/collector/ioam_messages.hpp"

namespace {

using namespace ioam;
using namespace ioam::collector;
using namespace ioam::collector::test;

constexpr std::size_t kHops = 4;

class CountingSink final : public PacketSink {
  public:
    void consume(const Packet& p) override { delivered += p.outcome == PacketOutcome::delivered; }
    std::uint64_t delivered = 0;
};

// The four reports of one packet; next() stamps the next packet into the oldest hop of each.
class Traffic {
  public:
    Traffic() {
        const std::vector<std::uint32_t> ids = {101, 102, 103, 104};
        for (std::size_t i = 0; i < kHops; ++i) {
            reports_[i] = make_trace(std::vector<std::uint32_t>(ids.begin(), ids.begin() + i + 1));
            for (IoamNode& n : reports_[i].nodes) {
                n.queue_depth = 3;
            }
        }
    }
    void next_packet() {
        ++packet_;
        for (IoamTrace& t : reports_) {
            IoamNode& oldest = t.nodes.back();
            oldest.timestamp_secs = 1'700'000'000 + static_cast<std::uint32_t>(packet_ / 1'000'000);
            oldest.timestamp_frac = static_cast<std::uint32_t>(packet_ % 1'000'000);
        }
    }
    const IoamTrace& report(std::size_t i) const { return reports_[i]; }

  private:
    std::array<IoamTrace, kHops> reports_;
    std::uint64_t packet_ = 0;
};

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;
}

void correlate(benchmark::State& state, PacketSink& sink) {
    const auto rate = static_cast<std::uint64_t>(state.range(0)) * 1000;  // reports/s
    const std::uint64_t step_ns = 1'000'000'000 / rate;
    std::uint64_t now = 1'000'000'000'000;
    correlate::Correlator c({}, {}, {&sink}, [&now] { return now; });
    Traffic traffic;
    const std::array<Origin, kHops> origins = {Origin{"10.0.0.1", 101}, Origin{"10.0.0.1", 102},
                                               Origin{"10.0.0.1", 103}, Origin{"10.0.0.1", 104}};
    std::size_t hop = 0;
    const auto one_report = [&] {
        if (hop == 0) {
            traffic.next_packet();
        }
        c.consume(origins[hop], traffic.report(hop));
        hop = (hop + 1) % kHops;
        now += step_ns;
    };
    // Two and a half windows: the path's end is learned and the closed keys reach their
    // steady number.
    for (std::uint64_t i = 0; i < rate * 5 / 2; ++i) {
        one_report();
    }
    for (auto _ : state) {
        one_report();
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["state_bytes"] = static_cast<double>(c.stats().bytes.load());
    state.counters["pending"] = static_cast<double>(c.stats().pending.load());
    state.counters["peak_rss_mb"] = peak_rss_mb();
}

void BM_Correlate(benchmark::State& state) {
    CountingSink sink;
    correlate(state, sink);
    state.counters["delivered"] = static_cast<double>(sink.delivered);
}

void BM_CorrelateMetrics(benchmark::State& state) {
    ioam::metrics::Registry registry;
    collector::metrics::CollectorMetrics m(registry, {});
    correlate(state, m);
}

BENCHMARK(BM_Correlate)->Arg(100)->Arg(500)->Arg(1000);
BENCHMARK(BM_CorrelateMetrics)->Arg(100)->Arg(500)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
