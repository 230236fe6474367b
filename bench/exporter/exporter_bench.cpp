// Kernel netlink message -> IPFIX record bytes on one core: the exporter's hot path without
// the sockets (decode_event + RecordBuilder::add, messages handed to a no-op sink).
#include <benchmark/benchmark.h>

#include "exporter/decode/event_decoder.hpp"
#include "exporter/record/record_builder.hpp"
#include "tests/exporter/support/nl_message.hpp"

namespace {

using namespace ioam;
using namespace ioam::exporter;

// The captured kernel event (trace type bits 0-7, one node), or the same with `hops` nodes.
std::vector<std::uint8_t> trace_event(int hops) {
    test::NlMessage m(decode::kCmdTrace);
    std::vector<std::uint8_t> data;
    for (int i = 0; i < hops; ++i) {
        data.insert(data.end(), std::begin(test::kCapturedTraceData),
                    std::end(test::kCapturedTraceData));
    }
    m.host<std::uint16_t>(decode::kAttrTraceNamespace, 123)
        .host<std::uint8_t>(decode::kAttrTraceNodeLen, 8)
        .host<std::uint32_t>(decode::kAttrTraceType, 0xff000000u)
        .attr(decode::kAttrTraceData, data);
    return m.bytes();
}

std::vector<std::uint8_t> dex_event() {
    test::NlMessage m(decode::kCmdDex);
    m.host<std::uint16_t>(decode::kAttrDexNamespace, 123)
        .host<std::uint32_t>(decode::kAttrDexFlowId, 0xabcdef)
        .host<std::uint32_t>(decode::kAttrDexSeqNum, 7)
        .be<std::uint32_t>(decode::kAttrDexHopLimNodeId, 0x3f00002a)
        .be<std::uint32_t>(decode::kAttrDexIngressEgress, 0x0007ffff)
        .be<std::uint32_t>(decode::kAttrDexTimestamp, 0x6b0612c7)
        .be<std::uint32_t>(decode::kAttrDexTimestampFrac, 0x00068916);
    return m.bytes();
}

void run(benchmark::State& state, const std::vector<std::uint8_t>& msg, bool hop_list) {
    std::uint64_t octets = 0;
    record::RecordBuilder builder({.observation_domain = 1, .mtu = 1400, .hop_list = hop_list},
                                  [&](std::span<const std::uint8_t> m) { octets += m.size(); });
    decode::Event event;
    std::uint64_t now = 1'700'000'000'000'000'000ull;
    for (auto _ : state) {
        auto st = decode::decode_event(msg, {++now, 1}, event);
        auto added = std::visit([&](const auto& e) { return builder.add(e); }, event);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(added);
    }
    (void)builder.flush();
    state.SetItemsProcessed(state.iterations());
    state.counters["ipfix_octets_per_event"] =
        benchmark::Counter(static_cast<double>(octets) / static_cast<double>(state.iterations()));
}

void BM_TraceWithHops(benchmark::State& state) {
    run(state, trace_event(static_cast<int>(state.range(0))), true);
}
void BM_TraceRawOnly(benchmark::State& state) {
    run(state, trace_event(static_cast<int>(state.range(0))), false);
}
void BM_Dex(benchmark::State& state) {
    run(state, dex_event(), true);
}
void BM_DecodeOnly(benchmark::State& state) {
    const auto msg = trace_event(1);
    decode::Event event;
    for (auto _ : state) {
        benchmark::DoNotOptimize(decode::decode_event(msg, {1, 1}, event));
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_TraceWithHops)->Arg(1)->Arg(4);
BENCHMARK(BM_TraceRawOnly)->Arg(1)->Arg(4);
BENCHMARK(BM_Dex);
BENCHMARK(BM_DecodeOnly);

}  // namespace

BENCHMARK_MAIN();
