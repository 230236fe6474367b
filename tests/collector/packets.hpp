#pragma once
// Correlated packets as the correlator hands them to the store and the metrics.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collector/correlate/packet.hpp"

namespace ioam::collector::test {

// A packet over `ids` (oldest first) seen at `time_ns`, `segment_ns` between hops; a lost one
// ends at ids.back() and never reached `lost_before`.
inline Packet make_packet(std::vector<std::uint64_t> ids, std::uint16_t ns, std::uint64_t time_ns,
                          std::int64_t segment_ns,
                          std::optional<std::uint64_t> lost_before = std::nullopt) {
    Packet p;
    p.namespace_id = ns;
    p.first_seen_ns = time_ns;
    p.last_seen_ns = time_ns;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        PacketHop h;
        h.node = ids[i];
        h.time_ns = static_cast<std::int64_t>(i) * segment_ns;
        if (i > 0) {
            h.segment_ns = segment_ns;
        }
        h.reported = true;
        p.hops.push_back(h);
        p.path += (i ? "," : "") + std::to_string(ids[i]);
    }
    if (ids.size() >= 2) {
        p.end_to_end_ns = static_cast<std::int64_t>(ids.size() - 1) * segment_ns;
    }
    p.reports = static_cast<std::uint32_t>(ids.size());
    if (lost_before) {
        p.outcome = PacketOutcome::lost;
        p.lost_before = lost_before;
    }
    return p;
}

}  // namespace ioam::collector::test
