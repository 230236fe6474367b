#pragma once
// Read side of the store, so that the HTTP API never links SQLite.
//
// Threading: implementations serialise calls internally; any thread may call.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::collector::store {

enum class RecordKind : std::uint8_t { trace = 0, dex = 1 };

struct StoredRecord {
    std::int64_t id = 0;
    std::string exporter;
    std::uint32_t domain = 0;
    std::variant<IoamTrace, DexReport> record;
    // The record's node identities oldest first (analysis::path_key), as the store computed
    // them once when it wrote the record: readers pass it on rather than recompute it.
    std::string path;
    RecordKind kind() const noexcept {
        return std::holds_alternative<IoamTrace>(record) ? RecordKind::trace : RecordKind::dex;
    }
};

// Filters combine with AND; records come in id order after `after_id` (the cursor).
struct TraceQuery {
    std::optional<RecordKind> kind = std::nullopt;
    std::optional<std::uint16_t> namespace_id = std::nullopt;
    std::optional<std::uint64_t> node_id =
        std::nullopt;  // any hop (wide id when written, else short)
    std::optional<std::uint32_t> flow_id = std::nullopt;  // DEX reports only
    std::optional<std::uint64_t> from_ns = std::nullopt;  // observation time, inclusive
    std::optional<std::uint64_t> to_ns = std::nullopt;    // exclusive
    std::int64_t after_id = 0;
    std::size_t limit = 100;
};

struct DelayStats {
    std::uint64_t count = 0;
    std::int64_t min_ns = 0;
    std::int64_t max_ns = 0;
    double mean_ns = 0;
};

// Percentiles come from fixed logarithmic buckets (8 per octave): within 6 % of the value,
// clamped to the exact min and max.
struct Percentiles {
    std::optional<std::int64_t> p50_ns, p90_ns, p99_ns;
};

// Summaries aggregate correlated packets per minute; a window [from_ns, to_ns) is widened to
// whole minutes. Packet counts are weighted (1/N sampling counts N).
struct NodeSummary {
    std::uint64_t node_id = 0;
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    std::uint64_t records = 0;  // packets that crossed the node, each counted once
    DelayStats transit;         // ioamTransitDelay the node wrote
    DelayStats segment;         // from its upstream neighbour's timestamp to its own
    DelayStats queue;           // queue depth the node wrote (not a delay: raw units)
};

struct PathSummary {
    std::uint16_t namespace_id = 0;
    std::string path;  // node ids oldest first, "1,2,3" (a lost packet's: as far as it went)
    std::uint64_t packets = 0;
    std::uint64_t lost = 0;
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    DelayStats delay;  // end to end
    Percentiles percentiles;
};

struct SegmentSummary {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint64_t packets = 0;  // packets that crossed from -> to
    std::uint64_t lost = 0;     // packets last seen at `from` whose path continues to `to`
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    DelayStats delay;
    Percentiles percentiles;
};

// A summary window: observation time in [from_ns, to_ns).
struct Window {
    std::uint64_t from_ns = 0;
    std::uint64_t to_ns = UINT64_MAX;
};

class TraceReader {
  public:
    virtual ~TraceReader() = default;
    virtual Result<std::vector<StoredRecord>> query(const TraceQuery& q) = 0;
    virtual Result<std::optional<StoredRecord>> get(std::int64_t id) = 0;
    // Nodes by id.
    virtual Result<std::vector<NodeSummary>> nodes(Window w, std::size_t limit) = 0;
    // Paths by packet count, most first.
    virtual Result<std::vector<PathSummary>> paths(Window w, std::size_t limit) = 0;
    // Segments by packet count, most first.
    virtual Result<std::vector<SegmentSummary>> segments(Window w, std::size_t limit) = 0;
};

}  // namespace ioam::collector::store
