#include "collector/store/rollup.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <tuple>

namespace ioam::collector::store::rollup {

namespace {

constexpr int kSubBits = 3;  // 8 buckets per power of two: each under 12.5 % wide

std::uint64_t round_count(double weighted) {
    return weighted <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(weighted));
}

std::size_t mix(std::size_t h, std::uint64_t v) noexcept {
    return (h ^ std::hash<std::uint64_t>{}(v)) * 0x9e3779b97f4a7c15ull;
}

void add_seen_times(Seen& s, const Packet& p) {
    s.first_ns = std::min(s.first_ns, p.first_seen_ns);
    s.last_ns = std::max(s.last_ns, p.last_seen_ns);
}

Percentiles percentiles_of(const Histogram& h, const Moments& m) {
    return {h.percentile(0.5, m.min, m.max), h.percentile(0.9, m.min, m.max),
            h.percentile(0.99, m.min, m.max)};
}

std::uint64_t first_or_zero(const Seen& s) {
    return s.first_ns == UINT64_MAX ? 0 : s.first_ns;
}

}  // namespace

std::uint16_t Histogram::bucket(std::int64_t v) noexcept {
    if (v <= 0) {
        return 0;
    }
    const auto u = static_cast<std::uint64_t>(v);
    const int e = std::bit_width(u) - 1;  // 0..62
    const std::uint64_t sub =
        e >= kSubBits ? (u >> (e - kSubBits)) & 7u : (u << (kSubBits - e)) & 7u;
    return static_cast<std::uint16_t>(1 + e * 8 + static_cast<int>(sub));
}

std::int64_t Histogram::representative(std::uint16_t bucket) noexcept {
    if (bucket == 0) {
        return 0;
    }
    const int e = (bucket - 1) / 8;
    const int sub = (bucket - 1) % 8;
    // Bucket [lo, lo + width): lo = 2^e + sub * 2^e / 8.
    const double lo = std::ldexp(1.0, e) * (1.0 + sub / 8.0);
    const double width = std::ldexp(1.0, e) / 8.0;
    return static_cast<std::int64_t>(lo + width / 2);
}

void Histogram::add(std::int64_t v, std::uint64_t n) {
    add_bucket(bucket(v), n);
}

void Histogram::add_bucket(std::uint16_t b, std::uint64_t n) {
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(), b,
                               [](const auto& e, std::uint16_t k) { return e.first < k; });
    if (it != buckets_.end() && it->first == b) {
        it->second += n;
    } else {
        buckets_.insert(it, {b, n});
    }
}

void Histogram::merge(const Histogram& o) {
    for (const auto& [b, n] : o.buckets_) {
        add_bucket(b, n);
    }
}

std::optional<std::int64_t> Histogram::percentile(double q, std::int64_t lo,
                                                  std::int64_t hi) const {
    std::uint64_t total = 0;
    for (const auto& e : buckets_) {
        total += e.second;
    }
    if (total == 0) {
        return std::nullopt;
    }
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total))));
    std::uint64_t seen = 0;
    for (const auto& [b, n] : buckets_) {
        seen += n;
        if (seen >= rank) {
            return std::clamp(representative(b), lo, hi);
        }
    }
    return hi;
}

std::vector<std::uint8_t> Histogram::encode() const {
    std::vector<std::uint8_t> out;
    out.reserve(buckets_.size() * 4);
    for (auto [b, n] : buckets_) {
        out.push_back(static_cast<std::uint8_t>(b & 0xff));
        out.push_back(static_cast<std::uint8_t>(b >> 8));
        do {
            const auto byte = static_cast<std::uint8_t>(n & 0x7f);
            n >>= 7;
            out.push_back(n ? static_cast<std::uint8_t>(byte | 0x80) : byte);
        } while (n);
    }
    return out;
}

bool Histogram::decode(std::span<const std::uint8_t> bytes) {
    std::vector<std::pair<std::uint16_t, std::uint64_t>> out;
    std::size_t i = 0;
    while (i < bytes.size()) {
        if (bytes.size() - i < 3) {
            return false;
        }
        const auto b = static_cast<std::uint16_t>(bytes[i] | (bytes[i + 1] << 8));
        i += 2;
        std::uint64_t n = 0;
        for (int shift = 0;; shift += 7) {
            if (i >= bytes.size() || shift > 63) {
                return false;
            }
            const std::uint8_t byte = bytes[i++];
            n |= std::uint64_t{byte & 0x7fu} << shift;
            if (!(byte & 0x80)) {
                break;
            }
        }
        if (!out.empty() && out.back().first >= b) {
            return false;
        }
        out.emplace_back(b, n);
    }
    buckets_ = std::move(out);
    return true;
}

void Moments::add(std::int64_t v) {
    min = count == 0 ? v : std::min(min, v);
    max = count == 0 ? v : std::max(max, v);
    sum += static_cast<double>(v);
    count++;
}

void Moments::merge(const Moments& o) {
    if (o.count == 0) {
        return;
    }
    min = count == 0 ? o.min : std::min(min, o.min);
    max = count == 0 ? o.max : std::max(max, o.max);
    sum += o.sum;
    count += o.count;
}

DelayStats Moments::stats() const {
    if (count == 0) {
        return {};
    }
    return {count, min, max, sum / static_cast<double>(count)};
}

void Seen::add(const Packet& p) {
    packets += p.weight;
    add_seen_times(*this, p);
}

void Seen::merge(const Seen& o) {
    packets += o.packets;
    first_ns = std::min(first_ns, o.first_ns);
    last_ns = std::max(last_ns, o.last_ns);
}

void PathRow::merge(const PathRow& o) {
    seen.merge(o.seen);
    lost += o.lost;
    delay.merge(o.delay);
    hist.merge(o.hist);
}

void NodeRow::merge(const NodeRow& o) {
    seen.merge(o.seen);
    transit.merge(o.transit);
    segment.merge(o.segment);
    queue.merge(o.queue);
}

void SegmentRow::merge(const SegmentRow& o) {
    seen.merge(o.seen);
    lost += o.lost;
    delay.merge(o.delay);
    hist.merge(o.hist);
}

std::size_t KeyHash::operator()(const PathKey& k) const noexcept {
    return mix(mix(std::hash<std::string>{}(k.path), k.minute), k.namespace_id);
}
std::size_t KeyHash::operator()(const NodeKey& k) const noexcept {
    return mix(mix(0, k.minute), k.node);
}
std::size_t KeyHash::operator()(const SegmentKey& k) const noexcept {
    return mix(mix(mix(0, k.minute), k.from), k.to);
}

void Delta::add(const Packet& p) {
    const std::uint64_t minute = p.first_seen_ns / kMinuteNs;
    PathRow& path = paths[PathKey{minute, p.namespace_id, p.path}];
    path.seen.add(p);
    if (p.outcome == PacketOutcome::lost) {
        path.lost += p.weight;
    }
    if (p.end_to_end_ns) {
        path.delay.add(*p.end_to_end_ns);
        path.hist.add(*p.end_to_end_ns);
    }
    for (std::size_t i = 0; i < p.hops.size(); ++i) {
        const PacketHop& h = p.hops[i];
        // A node the path crosses twice (a loop) still counts the packet once.
        if (std::any_of(p.hops.begin(), p.hops.begin() + static_cast<std::ptrdiff_t>(i),
                        [&](const PacketHop& e) { return e.node == h.node; })) {
            continue;
        }
        NodeRow& node = nodes[NodeKey{minute, h.node}];
        node.seen.add(p);
        if (h.transit_delay_ns) {
            node.transit.add(*h.transit_delay_ns);
        }
        if (h.segment_ns) {
            node.segment.add(*h.segment_ns);
        }
        if (h.queue_depth) {
            node.queue.add(*h.queue_depth);
        }
    }
    for (std::size_t i = 1; i < p.hops.size(); ++i) {
        SegmentRow& seg = segments[SegmentKey{minute, p.hops[i - 1].node, p.hops[i].node}];
        seg.seen.add(p);
        if (p.hops[i].segment_ns) {
            seg.delay.add(*p.hops[i].segment_ns);
            seg.hist.add(*p.hops[i].segment_ns);
        }
    }
    if (p.outcome == PacketOutcome::lost && p.lost_before && !p.hops.empty()) {
        SegmentRow& seg = segments[SegmentKey{minute, p.hops.back().node, *p.lost_before}];
        seg.lost += p.weight;
        add_seen_times(seg.seen, p);
    }
}

std::pair<std::uint64_t, std::uint64_t> minutes(Window w) noexcept {
    const std::uint64_t first = w.from_ns / kMinuteNs;
    const std::uint64_t last = w.to_ns / kMinuteNs + (w.to_ns % kMinuteNs != 0 ? 1 : 0);
    return {first, last};
}

std::vector<PathSummary> summarise_paths(std::vector<std::pair<PathKey, PathRow>> rows,
                                         std::size_t limit) {
    std::map<std::pair<std::uint16_t, std::string>, PathRow> merged;
    for (auto& [k, r] : rows) {
        merged[{k.namespace_id, std::move(k.path)}].merge(r);
    }
    std::vector<PathSummary> out;
    out.reserve(merged.size());
    for (const auto& [k, r] : merged) {
        out.push_back({k.first, k.second, round_count(r.seen.packets), round_count(r.lost),
                       first_or_zero(r.seen), r.seen.last_ns, r.delay.stats(),
                       percentiles_of(r.hist, r.delay)});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.packets > b.packets; });
    out.resize(std::min(out.size(), limit));
    return out;
}

std::vector<NodeSummary> summarise_nodes(std::vector<std::pair<NodeKey, NodeRow>> rows,
                                         std::size_t limit) {
    std::map<std::uint64_t, NodeRow> merged;
    for (const auto& [k, r] : rows) {
        merged[k.node].merge(r);
    }
    std::vector<NodeSummary> out;
    for (const auto& [node, r] : merged) {
        if (out.size() == limit) {
            break;
        }
        out.push_back({node, first_or_zero(r.seen), r.seen.last_ns, round_count(r.seen.packets),
                       r.transit.stats(), r.segment.stats(), r.queue.stats()});
    }
    return out;
}

std::vector<SegmentSummary> summarise_segments(std::vector<std::pair<SegmentKey, SegmentRow>> rows,
                                               std::size_t limit) {
    std::map<std::pair<std::uint64_t, std::uint64_t>, SegmentRow> merged;
    for (const auto& [k, r] : rows) {
        merged[{k.from, k.to}].merge(r);
    }
    std::vector<SegmentSummary> out;
    out.reserve(merged.size());
    for (const auto& [k, r] : merged) {
        out.push_back({k.first, k.second, round_count(r.seen.packets), round_count(r.lost),
                       first_or_zero(r.seen), r.seen.last_ns, r.delay.stats(),
                       percentiles_of(r.hist, r.delay)});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.packets > b.packets; });
    out.resize(std::min(out.size(), limit));
    return out;
}

}  // namespace ioam::collector::store::rollup
