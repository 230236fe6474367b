#pragma once
// Contract between the correlator and everything downstream (store rollups, metrics, API):
// one Packet is one packet of the network, all the reports that nodes sent about it joined.
// Trace facts (path, per-segment and end-to-end delay) are computed here once, by the
// correlator, and never recomputed downstream.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ioam::collector {

// PacketHop::node of a hop that wrote neither node id field ("?" in `path`).
inline constexpr std::uint64_t kUnknownNode = ~std::uint64_t{0};

// One node the packet crossed, in path order (oldest first).
struct PacketHop {
    std::uint64_t node = 0;                         // identity: short node id, else the wide one
    std::optional<std::int64_t> time_ns;            // node timestamp (bits 2+3), in ns
    std::optional<std::int64_t> segment_ns;         // from the previous hop's time; none for hop 0
    std::optional<std::uint32_t> transit_delay_ns;  // bit 4, as the node wrote it
    std::optional<std::uint32_t> queue_depth;       // bit 6
    bool reported = false;  // this node's own report (or DEX report) reached the collector
};

enum class PacketKind : std::uint8_t { trace = 0, dex = 1 };

enum class PacketOutcome : std::uint8_t {
    delivered,   // the last node of its path reported it
    lost,        // ended at `hops.back()` on a path other packets continued past: network loss
    incomplete,  // reports missing for a reason that is not the network (see `incomplete`)
};

enum class IncompleteReason : std::uint8_t {
    none,
    ipfix_loss,       // the reporting exporter's IPFIX sequence shows records the collector missed
    evicted,          // the pending table was full and the packet was closed early
    unknown,          // no other packet of its flow shows where the path should continue
    exporter_silent,  // the exporter of the node it never reached sent nothing since the packet
};

struct Packet {
    PacketKind kind = PacketKind::trace;
    std::uint16_t namespace_id = 0;
    std::uint32_t trace_type = 0;
    std::optional<std::uint32_t> flow_id;       // DEX only
    std::optional<std::uint32_t> sequence;      // DEX only
    std::uint64_t first_seen_ns = 0;            // earliest observation time of its reports
    std::uint64_t last_seen_ns = 0;             // latest
    std::vector<PacketHop> hops;                // oldest first: the path as far as it was seen
    std::string path;                           // hops' node ids joined by ',', oldest first
    std::optional<std::int64_t> end_to_end_ns;  // last hop time minus first hop time
    std::uint32_t reports = 0;                  // distinct reports joined (duplicates excluded)
    PacketOutcome outcome = PacketOutcome::delivered;
    IncompleteReason incomplete = IncompleteReason::none;
    std::optional<std::uint64_t> lost_before;  // lost: the node it never reached (hops.back()
                                               // -> lost_before is the lossy segment)
    double weight = 1.0;  // packets this one stands for (1/N under --sample 1/N)
};

// Threading: called from the correlator's thread(s); implementations must not block long
// (queue slow work).
class PacketSink {
  public:
    virtual ~PacketSink() = default;
    virtual void consume(const Packet& packet) = 0;
    // Packets closed together (one batch of reports, one tick): the same as one consume()
    // each, in order. Threading: as consume().
    virtual void consume(std::span<const Packet> packets) {
        for (const Packet& p : packets) {
            consume(p);
        }
    }
};

}  // namespace ioam::collector
