#include "collector/analysis/dex_flow.hpp"

#include <algorithm>
#include <map>

namespace ioam::collector::analysis {

namespace {

struct Seen {
    std::uint32_t sequence;
    std::uint64_t node;
    std::int64_t time_ns;
    bool node_time;  // time_ns comes from the node's IOAM timestamp
};

}  // namespace

Result<FlowAnalysis> analyse_flow(std::span<const DexReport> reports, FractionUnit unit,
                                  std::size_t max_nodes) {
    std::vector<Seen> seen;
    seen.reserve(reports.size());
    for (const DexReport& r : reports) {
        const auto node = node_identity(r.node);
        if (!r.sequence_number || !node) {
            continue;
        }
        const auto t = node_time_ns(r.node, unit);
        seen.push_back({*r.sequence_number, *node,
                        t ? *t : static_cast<std::int64_t>(r.observation_time_ns), t.has_value()});
    }
    // One run per packet, in time order within it.
    std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) {
        return a.sequence != b.sequence ? a.sequence < b.sequence : a.time_ns < b.time_ns;
    });
    const auto run_end = [&](std::size_t begin) {
        std::size_t end = begin;
        while (end < seen.size() && seen[end].sequence == seen[begin].sequence) {
            ++end;
        }
        return end;
    };

    // Path order: each node's average rank within the packets that saw it.
    struct Rank {
        double sum = 0;
        std::uint64_t count = 0;
        std::size_t index = 0;  // in FlowAnalysis::nodes, once sorted
    };
    std::map<std::uint64_t, Rank> rank;
    for (std::size_t begin = 0, end = 0; begin < seen.size(); begin = end) {
        end = run_end(begin);
        for (std::size_t i = begin; i < end; ++i) {
            auto& r = rank[seen[i].node];
            r.sum += static_cast<double>(i - begin);
            ++r.count;
        }
        if (rank.size() > max_nodes) {
            return Errc::too_large;
        }
    }
    FlowAnalysis out;
    for (const auto& [node, r] : rank) {
        out.nodes.push_back(node);
    }
    const auto mean = [&](std::uint64_t node) {
        const Rank& r = rank.at(node);
        return r.sum / static_cast<double>(r.count);
    };
    std::stable_sort(out.nodes.begin(), out.nodes.end(),
                     [&](std::uint64_t a, std::uint64_t b) { return mean(a) < mean(b); });
    for (std::size_t i = 0; i < out.nodes.size(); ++i) {
        rank.at(out.nodes[i]).index = i;
    }

    std::map<std::uint64_t, std::uint64_t> loss;
    // present[i]: the packet (its run start + 1) in which node i was last seen.
    std::vector<std::size_t> present(out.nodes.size(), 0);
    for (std::size_t begin = 0, end = 0; begin < seen.size(); begin = end) {
        end = run_end(begin);
        PacketPath p;
        p.sequence = seen[begin].sequence;
        for (std::size_t i = begin; i < end; ++i) {
            p.nodes.push_back(seen[i].node);
            present[rank.at(seen[i].node).index] = begin + 1;
            if (i > begin) {
                const bool timed = seen[i].node_time && seen[i - 1].node_time;
                p.segment_ns.push_back(timed ? std::optional(seen[i].time_ns - seen[i - 1].time_ns)
                                             : std::nullopt);
            }
        }
        for (std::size_t n = 0; n < out.nodes.size(); ++n) {
            if (present[n] != begin + 1) {
                p.missing.push_back(out.nodes[n]);
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
