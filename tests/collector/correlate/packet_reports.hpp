#pragma once
// Reports that the nodes of a path send about one packet, and a correlator on a manual clock.

#include <cstdint>
#include <string>
#include <vector>

#include "collector/correlate/correlator.hpp"
#include "tests/collector/ioam_messages.hpp"

namespace ioam::collector::test {

// The trace node `ids[upto]` reports for packet `k` crossing `ids` (oldest first): the hops up
// to and including it, 100 us apart; packets are 1 ms apart (raw_data encoded to match).
inline IoamTrace node_report(const std::vector<std::uint32_t>& ids, std::uint32_t k,
                             std::size_t upto, std::uint16_t ns = 7,
                             std::uint32_t trace_type = kTraceType) {
    IoamTrace t = make_trace(std::vector<std::uint32_t>(ids.begin(), ids.begin() + upto + 1), ns,
                             1'700'000'000'000'000'000ull + k * 1'000'000ull);
    t.trace_type = trace_type;
    for (IoamNode& n : t.nodes) {
        n.timestamp_secs = *n.timestamp_secs + k / 900;
        n.timestamp_frac = *n.timestamp_frac + (k % 900) * 1000;
        if ((trace_type & 0x300000) == 0) {
            n.timestamp_secs.reset();
            n.timestamp_frac.reset();
        }
    }
    t.raw_data.clear();
    for (const IoamNode& n : t.nodes) {
        (void)encode_node(t.trace_type, n, t.raw_data);
    }
    t.node_len = static_cast<std::uint8_t>(t.raw_data.size() / t.nodes.size() / 4);
    return t;
}

// Node `id` reports from exporter 10.0.0.1, observation domain `id`.
inline Origin node_origin(std::uint32_t id) {
    return Origin{"10.0.0.1", id};
}

class PacketCapture final : public PacketSink {
  public:
    void consume(const Packet& p) override { packets.push_back(p); }
    std::size_t count(PacketOutcome o) const {
        std::size_t n = 0;
        for (const Packet& p : packets) {
            n += p.outcome == o ? 1 : 0;
        }
        return n;
    }
    std::vector<Packet> packets;
};

struct ManualClock {
    std::uint64_t now = 1'000'000'000'000;  // monotonic, arbitrary origin
    correlate::Clock clock() {
        return [this] { return now; };
    }
    void advance_ms(std::uint64_t ms) { now += ms * 1'000'000; }
};

}  // namespace ioam::collector::test
