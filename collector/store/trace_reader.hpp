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

struct NodeSummary {
    std::uint64_t node_id = 0;
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    std::uint64_t records = 0;  // records in which the node appears
    DelayStats transit;         // ioamTransitDelay the node wrote
    DelayStats segment;         // from its upstream neighbour's timestamp to its own
};

struct PathSummary {
    std::string path;  // node ids oldest first, "1,2,3"
    std::uint64_t packets = 0;
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    std::optional<std::int64_t> p50_ns, p90_ns, p99_ns;  // end-to-end delay
};

class TraceReader {
  public:
    virtual ~TraceReader() = default;
    virtual Result<std::vector<StoredRecord>> query(const TraceQuery& q) = 0;
    virtual Result<std::optional<StoredRecord>> get(std::int64_t id) = 0;
    virtual Result<std::vector<NodeSummary>> nodes(std::size_t limit) = 0;
    // Paths by packet count; percentiles over at most `sample` most recent records per path.
    virtual Result<std::vector<PathSummary>> paths(std::size_t limit, std::size_t sample) = 0;
};

}  // namespace ioam::collector::store
