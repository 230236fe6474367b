#include "collector/oplog/operator_log.hpp"

#include <algorithm>

namespace ioam::collector::oplog {
namespace {

std::string name_of(const source::ExporterStats& e) {
    return "exporter " + e.session.address + " domain " + std::to_string(e.domain) + " (" +
           std::string(source::to_string(e.session.transport)) + ")";
}

}  // namespace

// "templates: 2 -> 3 (2 defined, 1 redefined with other fields, 1 withdrawn)" since the last
// line; a redefinition changes how the exporter's records decode, and UDP templates expire only
// when the exporter stops refreshing them: both warnings.
Line OperatorLog::templates_line(const std::string& name, const source::ExporterStats& e,
                                 const Known& k) {
    const std::uint64_t redefined =
        e.templates_redefined - std::min(e.templates_redefined, k.redefined);
    const std::uint64_t withdrawn =
        e.templates_withdrawn - std::min(e.templates_withdrawn, k.withdrawn);
    // Every template now is one known before, or defined since; withdrawals took some away.
    const std::uint64_t defined =
        e.templates + withdrawn - std::min<std::uint64_t>(e.templates + withdrawn, k.templates);
    const bool udp = e.session.transport == source::Transport::udp;
    std::string parts;
    const auto part = [&](std::uint64_t n, const char* what) {
        if (n > 0) {
            parts += (parts.empty() ? " (" : ", ") + std::to_string(n) + " " + what;
        }
    };
    part(defined, "defined");
    part(redefined, "redefined with other fields");
    part(withdrawn, udp ? "expired" : "withdrawn");
    return {redefined > 0 || (udp && withdrawn > 0),
            name + " templates: " + std::to_string(k.templates) + " -> " +
                std::to_string(e.templates) + parts + (parts.empty() ? "" : ")")};
}

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
            k.redefined = e.templates_redefined;
            k.withdrawn = e.templates_withdrawn;
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
        const bool changed = e.templates != k.templates || e.templates_redefined != k.redefined ||
                             e.templates_withdrawn != k.withdrawn;
        if (changed && state != State::ended &&
            (k.templates_line_ns == 0 || now_ns - k.templates_line_ns >= every_ns_)) {
            lines.push_back(templates_line(name, e, k));
            k.templates = e.templates;
            k.redefined = e.templates_redefined;
            k.withdrawn = e.templates_withdrawn;
            k.templates_line_ns = now_ns;
        }
    }
    std::erase_if(known_, [](const auto& kv) { return !kv.second.seen; });

    if (store.dropped > dropped_reported_ &&
        (last_store_line_ns_ == 0 || now_ns - last_store_line_ns_ >= every_ns_)) {
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
