#include "collector/analysis/dex_flow.hpp"

#include <algorithm>
#include <map>

namespace ioam::collector::analysis {

namespace {

struct Seen {
    std::uint64_t node;
    std::int64_t time_ns;
    bool node_time;  // time_ns comes from the node's IOAM timestamp
};

}  // namespace

FlowAnalysis analyse_flow(std::span<const DexReport> reports, FractionUnit unit) {
    std::map<std::uint32_t, std::vector<Seen>> by_seq;
    for (const DexReport& r : reports) {
        const auto node = node_identity(r.node);
        if (!r.sequence_number || !node) {
            continue;
        }
        const auto t = node_time_ns(r.node, unit);
        by_seq[*r.sequence_number].push_back(
            {*node, t ? *t : static_cast<std::int64_t>(r.observation_time_ns), t.has_value()});
    }
    FlowAnalysis out;
    // Path order: each node's average rank within the packets that saw it.
    std::map<std::uint64_t, std::pair<double, std::uint64_t>> rank;
    for (auto& [seq, seen] : by_seq) {
        std::stable_sort(seen.begin(), seen.end(),
                         [](const Seen& a, const Seen& b) { return a.time_ns < b.time_ns; });
        for (std::size_t i = 0; i < seen.size(); ++i) {
            auto& [sum, count] = rank[seen[i].node];
            sum += static_cast<double>(i);
            ++count;
        }
    }
    for (const auto& [node, r] : rank) {
        out.nodes.push_back(node);
    }
    std::stable_sort(out.nodes.begin(), out.nodes.end(), [&](std::uint64_t a, std::uint64_t b) {
        return rank[a].first / static_cast<double>(rank[a].second) <
               rank[b].first / static_cast<double>(rank[b].second);
    });
    std::map<std::uint64_t, std::uint64_t> loss;
    for (const auto& [seq, seen] : by_seq) {
        PacketPath p;
        p.sequence = seq;
        for (std::size_t i = 0; i < seen.size(); ++i) {
            p.nodes.push_back(seen[i].node);
            if (i > 0) {
                const bool timed = seen[i].node_time && seen[i - 1].node_time;
                p.segment_ns.push_back(timed ? std::optional(seen[i].time_ns - seen[i - 1].time_ns)
                                             : std::nullopt);
            }
        }
        for (std::uint64_t n : out.nodes) {
            if (std::find(p.nodes.begin(), p.nodes.end(), n) == p.nodes.end()) {
                p.missing.push_back(n);
            }
        }
        if (!p.missing.empty()) {
            p.last_seen = p.nodes.back();
            ++loss[*p.last_seen];
            ++out.incomplete;
        }
        out.packets.push_back(std::move(p));
    }
    for (const auto& [node, packets] : loss) {
        out.loss.push_back({node, packets});
    }
    return out;
}

}  // namespace ioam::collector::analysis
