#pragma once
// Joins the DEX reports of one flow by sequence number (RFC 9326: every node on the path
// reports the same flow id and sequence number for a packet): the path each packet took, its
// per-segment delays, and where packets that not every node reported were last seen.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "collector/analysis/delay.hpp"
#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::collector::analysis {

struct PacketPath {
    std::uint32_t sequence = 0;
    std::vector<std::uint64_t> nodes;                     // in time order
    std::vector<std::optional<std::int64_t>> segment_ns;  // nodes.size() - 1 entries
    std::vector<std::uint64_t> missing;                   // flow nodes that did not report
    std::optional<std::uint64_t> last_seen;               // set when `missing` is not empty
};

struct LossSite {
    std::uint64_t last_seen_node = 0;
    std::uint64_t packets = 0;
};

struct FlowAnalysis {
    std::vector<std::uint64_t> nodes;  // every node that reported, in path order
    std::vector<PacketPath> packets;   // by sequence number
    std::vector<LossSite> loss;        // packets not seen by all nodes, by last node seen
    std::uint64_t incomplete = 0;
};

// Reports without a sequence number or a node id are ignored. Nodes are ordered by their
// timestamps when both ends carry them, else by observation time. O(R log R + P * N) time and
// O(R + P * N) memory for R reports, P packets and N nodes; Errc::too_large when more than
// `max_nodes` distinct nodes reported (every packet would list them as missing).
Result<FlowAnalysis> analyse_flow(std::span<const DexReport> reports, FractionUnit unit,
                                  std::size_t max_nodes);

}  // namespace ioam::collector::analysis
