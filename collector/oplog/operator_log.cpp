#include "collector/oplog/operator_log.hpp"

#include <algorithm>

namespace ioam::collector::oplog {
namespace {

std::string name_of(const source::ExporterStats& e) {
    return "exporter " + e.session.address + " domain " + std::to_string(e.domain) + " (" +
           std::string(source::to_string(e.session.transport)) + ")";
}

}  // namespace

std::vector<Line> OperatorLog::observe(const std::vector<source::ExporterStats>& exporters,
                                       const store::StoreStats& store, std::uint64_t now_ns) {
    std::vector<Line> lines;
    for (auto& [key, k] : known_) {
        k.seen = false;
    }
    for (const auto& e : exporters) {
        const Key key{e.session.id, e.domain};
        const State state = e.ended_ns != 0 ? State::ended
                            : now_ns - std::min(now_ns, e.last_seen_ns) > silent_ns_
                                ? State::silent
                                : State::active;
        auto [it, added] = known_.try_emplace(key);
        Known& k = it->second;
        k.seen = true;
        const std::string name = name_of(e);
        if (added) {
            k.state = state;
            k.templates = e.templates;
            if (state != State::ended) {
                lines.push_back(
                    {false, name + " appeared, " + std::to_string(e.templates) + " template(s)"});
            }
            continue;
        }
        if (state != k.state) {
            if (state == State::silent) {
                lines.push_back({true, name + " went silent: no message for " +
                                           std::to_string(silent_ns_ / 1'000'000'000) + " s"});
            } else if (state == State::active) {
                lines.push_back({false, name + " came back"});
            } else {
                lines.push_back({true, name + (e.session.transport == source::Transport::tcp
                                                   ? " closed its connection"
                                                   : " session expired or was evicted")});
            }
            k.state = state;
        }
        if (e.templates != k.templates && state != State::ended) {
            lines.push_back({false, name + " templates: " + std::to_string(k.templates) + " -> " +
                                        std::to_string(e.templates) +
                                        (e.templates > k.templates ? " (defined)" : " (expired)")});
            k.templates = e.templates;
        }
    }
    std::erase_if(known_, [](const auto& kv) { return !kv.second.seen; });

    if (store.dropped > dropped_reported_ &&
        (last_store_line_ns_ == 0 || now_ns - last_store_line_ns_ >= store_every_ns_)) {
        lines.push_back(
            {true, "store falling behind: " + std::to_string(store.dropped - dropped_reported_) +
                       " records dropped (queue full, " + std::to_string(store.queued) +
                       " queued)"});
        dropped_reported_ = store.dropped;
        last_store_line_ns_ = now_ns;
    }
    return lines;
}

}  // namespace ioam::collector::oplog
