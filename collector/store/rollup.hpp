#pragma once
// Per-minute rollups of correlated packets, independent of the back end: the batching stage
// aggregates packets into a Delta as they arrive, a back end adds each Delta to its stored
// rows (Row::merge), and the summaries merge the rows of a window (summarise_*).
//
// Threading: plain values; callers synchronise.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collector/correlate/packet.hpp"
#include "collector/store/trace_reader.hpp"

namespace ioam::collector::store::rollup {

constexpr std::uint64_t kMinuteNs = 60ull * 1'000'000'000;

// Fixed logarithmic buckets: 0 holds values <= 0, then 8 buckets per power of two. Two
// histograms merge by adding counts, so minutes and batches combine exactly.
class Histogram {
  public:
    static std::uint16_t bucket(std::int64_t v) noexcept;
    // The middle of a bucket.
    static std::int64_t representative(std::uint16_t bucket) noexcept;

    void add(std::int64_t v, std::uint64_t n = 1);
    void merge(const Histogram& o);
    // Nearest-rank percentile (0 < q <= 1), clamped to [lo, hi]; nullopt when empty.
    std::optional<std::int64_t> percentile(double q, std::int64_t lo, std::int64_t hi) const;
    bool empty() const noexcept { return buckets_.empty(); }

    // Compact form: (bucket u16, count LEB128) pairs, buckets ascending.
    std::vector<std::uint8_t> encode() const;
    // False (and *this unchanged) when the bytes are malformed.
    bool decode(std::span<const std::uint8_t> bytes);
    // As (bucket, count) pairs, buckets ascending: for a store that sums them itself.
    const std::vector<std::pair<std::uint16_t, std::uint64_t>>& buckets() const noexcept {
        return buckets_;
    }
    void add_bucket(std::uint16_t b, std::uint64_t n);

  private:
    std::vector<std::pair<std::uint16_t, std::uint64_t>> buckets_;  // ascending, counts > 0
};

// count/sum/min/max of a value.
struct Moments {
    std::uint64_t count = 0;
    double sum = 0;
    std::int64_t min = 0;
    std::int64_t max = 0;
    void add(std::int64_t v);
    void merge(const Moments& o);
    DelayStats stats() const;
};

struct Seen {
    double packets = 0;  // weighted
    std::uint64_t first_ns = UINT64_MAX;
    std::uint64_t last_ns = 0;
    void add(const Packet& p);
    void merge(const Seen& o);
};

struct PathKey {
    std::uint64_t minute = 0;  // observation time / kMinuteNs
    std::uint16_t namespace_id = 0;
    std::string path;
    bool operator==(const PathKey&) const = default;
};
struct PathRow {
    Seen seen;
    double lost = 0;
    Moments delay;
    Histogram hist;
    void merge(const PathRow& o);
};

struct NodeKey {
    std::uint64_t minute = 0;
    std::uint64_t node = 0;
    bool operator==(const NodeKey&) const = default;
};
struct NodeRow {
    Seen seen;
    Moments transit;
    Moments segment;
    Moments queue;
    void merge(const NodeRow& o);
};

struct SegmentKey {
    std::uint64_t minute = 0;
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    bool operator==(const SegmentKey&) const = default;
};
struct SegmentRow {
    Seen seen;
    double lost = 0;
    Moments delay;
    Histogram hist;
    void merge(const SegmentRow& o);
};

struct KeyHash {
    std::size_t operator()(const PathKey& k) const noexcept;
    std::size_t operator()(const NodeKey& k) const noexcept;
    std::size_t operator()(const SegmentKey& k) const noexcept;
};

// The packets of one batch, aggregated.
struct Delta {
    std::unordered_map<PathKey, PathRow, KeyHash> paths;
    std::unordered_map<NodeKey, NodeRow, KeyHash> nodes;
    std::unordered_map<SegmentKey, SegmentRow, KeyHash> segments;

    // Keys the packet would add (an upper bound), to keep a Delta within a key budget.
    static std::size_t keys_needed(const Packet& p) noexcept { return 2 + 2 * p.hops.size(); }
    void add(const Packet& p);
    std::size_t keys() const noexcept { return paths.size() + nodes.size() + segments.size(); }
    bool empty() const noexcept { return keys() == 0; }
};

// Minutes [first, last) covering a window.
std::pair<std::uint64_t, std::uint64_t> minutes(Window w) noexcept;

// Summaries from the rows of a window (any order, several rows per key allowed).
std::vector<PathSummary> summarise_paths(std::vector<std::pair<PathKey, PathRow>> rows,
                                         std::size_t limit);
std::vector<NodeSummary> summarise_nodes(std::vector<std::pair<NodeKey, NodeRow>> rows,
                                         std::size_t limit);
std::vector<SegmentSummary> summarise_segments(std::vector<std::pair<SegmentKey, SegmentRow>> rows,
                                               std::size_t limit);

}  // namespace ioam::collector::store::rollup
