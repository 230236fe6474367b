#include "tools/ioam-query/query.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <stdexcept>

#include "tools/ioam-query/text.hpp"

namespace ioam::tools::query {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMinuteNs = 60ull * 1'000'000'000;

Cell count(std::uint64_t n) {
    return {std::to_string(n), n};
}
Cell time_cell(std::uint64_t ns) {
    return ns ? Cell{format_time(ns), ns} : Cell{"-", nullptr};
}
Cell duration(std::optional<double> ns) {
    return ns ? Cell{format_duration(*ns), *ns} : Cell{"-", nullptr};
}
Cell duration(std::optional<std::int64_t> ns) {
    return ns ? Cell{format_duration(static_cast<double>(*ns)), *ns} : Cell{"-", nullptr};
}
Cell fraction(double f) {
    return {format_fraction(f), f};
}
template <typename T>
Cell optional_count(const std::optional<T>& v) {
    return v ? count(*v) : Cell{"", nullptr};
}
std::optional<double> mean(const store::DelayStats& d) {
    return d.count ? std::optional(d.mean_ns) : std::nullopt;
}
std::optional<std::int64_t> max(const store::DelayStats& d) {
    return d.count ? std::optional(d.max_ns) : std::nullopt;
}

std::string join(const std::vector<std::uint64_t>& ids) {
    std::string s;
    for (const auto id : ids) {
        s += (s.empty() ? "" : ",") + std::to_string(id);
    }
    return s;
}

std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= path.size() && !path.empty()) {
        const auto comma = path.find(',', at);
        out.push_back(path.substr(at, comma - at));
        if (comma == std::string::npos) {
            break;
        }
        at = comma + 1;
    }
    return out;
}

bool contains(const std::vector<std::string>& ids, std::uint64_t node) {
    return std::find(ids.begin(), ids.end(), std::to_string(node)) != ids.end();
}

// Lost packets of a path are among its packets (the path as far as they went); a segment's
// lost packets never crossed it.
double path_loss(const store::PathSummary& s) {
    return s.packets ? static_cast<double>(s.lost) / static_cast<double>(s.packets) : 0;
}
double segment_loss(const store::SegmentSummary& s) {
    const auto all = s.packets + s.lost;
    return all ? static_cast<double>(s.lost) / static_cast<double>(all) : 0;
}

void reject(bool given, const char* option, const char* why) {
    if (given) {
        throw std::invalid_argument(std::string(option) + " " + why);
    }
}

// Orders of path and segment rows: "descending by".
template <typename Summary>
std::function<bool(const Summary&, const Summary&)> traffic_order(const std::string& order,
                                                                  double (*loss)(const Summary&)) {
    const auto p = [](const std::optional<std::int64_t>& v) { return v.value_or(INT64_MIN); };
    if (order.empty() || order == "loss") {
        return [=](const Summary& a, const Summary& b) {
            return std::tuple(loss(a), a.lost, p(a.percentiles.p99_ns)) >
                   std::tuple(loss(b), b.lost, p(b.percentiles.p99_ns));
        };
    }
    if (order == "lost") {
        return [](const Summary& a, const Summary& b) { return a.lost > b.lost; };
    }
    if (order == "packets") {
        return [](const Summary& a, const Summary& b) { return a.packets > b.packets; };
    }
    if (order == "p50") {
        return [=](const Summary& a, const Summary& b) {
            return p(a.percentiles.p50_ns) > p(b.percentiles.p50_ns);
        };
    }
    if (order == "p99") {
        return [=](const Summary& a, const Summary& b) {
            return p(a.percentiles.p99_ns) > p(b.percentiles.p99_ns);
        };
    }
    throw std::invalid_argument("--order " + order + ": expected loss, lost, packets, p50 or p99");
}

template <typename Summary>
void add_traffic(std::vector<Cell>& row, const Summary& s, double loss) {
    row.push_back(count(s.packets));
    row.push_back(count(s.lost));
    row.push_back(fraction(loss));
    row.push_back(duration(s.percentiles.p50_ns));
    row.push_back(duration(s.percentiles.p90_ns));
    row.push_back(duration(s.percentiles.p99_ns));
    row.push_back(duration(mean(s.delay)));
    row.push_back(duration(max(s.delay)));
    row.push_back(time_cell(s.first_seen_ns));
    row.push_back(time_cell(s.last_seen_ns));
}

const std::vector<Table::Column> kTrafficColumns = {{"packets"},    {"lost"},     {"loss"}, {"p50"},
                                                    {"p90"},        {"p99"},      {"mean"}, {"max"},
                                                    {"first_seen"}, {"last_seen"}};

// One statistic: its columns and the rows of one window, filtered, sorted and cut.
struct StatView {
    std::vector<Table::Column> columns;
    std::function<std::vector<std::vector<Cell>>(store::Window)> rows;
};

template <typename Summary>
std::vector<std::vector<Cell>> top_rows(
    std::vector<Summary> all, const std::function<bool(const Summary&)>& keep,
    const std::function<bool(const Summary&, const Summary&)>& order, std::size_t top,
    const std::function<std::vector<Cell>(const Summary&)>& cells) {
    std::erase_if(all, [&](const Summary& s) { return !keep(s); });
    std::stable_sort(all.begin(), all.end(), order);
    std::vector<std::vector<Cell>> out;
    for (std::size_t i = 0; i < all.size() && i < top; ++i) {
        out.push_back(cells(all[i]));
    }
    return out;
}

StatView stat_view(Source& source, const Options& o) {
    const Filters& f = o.filters;
    const char* no_dimension = "filters records: the rollups behind --stat have no such dimension";
    reject(f.exporter.has_value(), "--exporter", no_dimension);
    reject(f.flow.has_value(), "--flow", no_dimension);
    reject(f.kind.has_value(), "--kind", no_dimension);
    const std::optional<std::vector<std::string>> path =
        f.path ? std::optional(split(join(*f.path))) : std::nullopt;
    const std::size_t n = source.max_limit();
    if (o.stat == Stat::path) {
        auto order = traffic_order<store::PathSummary>(o.order, path_loss);
        std::vector<Table::Column> cols = {{"namespace"}, {"path", true}};
        cols.insert(cols.end(), kTrafficColumns.begin(), kTrafficColumns.end());
        return {cols, [&source, f, path, order, n, top = o.top](store::Window w) {
                    return top_rows<store::PathSummary>(
                        source.paths(w, n),
                        [&](const store::PathSummary& s) {
                            return (!f.namespace_id || s.namespace_id == *f.namespace_id) &&
                                   (!f.node || contains(split(s.path), *f.node)) &&
                                   (!path || split(s.path) == *path);
                        },
                        order, top,
                        [](const store::PathSummary& s) {
                            std::vector<Cell> row = {count(s.namespace_id), {s.path, s.path}};
                            add_traffic(row, s, path_loss(s));
                            return row;
                        });
                }};
    }
    reject(f.namespace_id.has_value(), "--namespace",
           "applies to records and --stat path only: node and segment rollups span namespaces");
    if (o.stat == Stat::segment) {
        auto order = traffic_order<store::SegmentSummary>(o.order, segment_loss);
        std::vector<Table::Column> cols = {{"from"}, {"to"}};
        cols.insert(cols.end(), kTrafficColumns.begin(), kTrafficColumns.end());
        return {cols, [&source, f, path, order, n, top = o.top](store::Window w) {
                    return top_rows<store::SegmentSummary>(
                        source.segments(w, n),
                        [&](const store::SegmentSummary& s) {
                            if (f.node && s.from != *f.node && s.to != *f.node) {
                                return false;
                            }
                            if (!path) {
                                return true;
                            }
                            for (std::size_t i = 1; i < path->size(); ++i) {
                                if ((*path)[i - 1] == std::to_string(s.from) &&
                                    (*path)[i] == std::to_string(s.to)) {
                                    return true;
                                }
                            }
                            return false;
                        },
                        order, top,
                        [](const store::SegmentSummary& s) {
                            std::vector<Cell> row = {count(s.from), count(s.to)};
                            add_traffic(row, s, segment_loss(s));
                            return row;
                        });
                }};
    }
    std::function<bool(const store::NodeSummary&, const store::NodeSummary&)> order;
    const auto m = [](const store::DelayStats& d) { return d.count ? d.mean_ns : -1.0; };
    if (o.order.empty() || o.order == "node") {
        order = [](const auto& a, const auto& b) { return a.node_id < b.node_id; };
    } else if (o.order == "packets") {
        order = [](const auto& a, const auto& b) { return a.records > b.records; };
    } else if (o.order == "transit") {
        order = [m](const auto& a, const auto& b) { return m(a.transit) > m(b.transit); };
    } else if (o.order == "queue") {
        order = [m](const auto& a, const auto& b) { return m(a.queue) > m(b.queue); };
    } else {
        throw std::invalid_argument("--order " + o.order +
                                    " with --stat node: expected node, packets, transit or queue");
    }
    return {{{"node"},
             {"packets"},
             {"transit_mean"},
             {"transit_max"},
             {"segment_mean"},
             {"segment_max"},
             {"queue_mean"},
             {"queue_max"},
             {"first_seen"},
             {"last_seen"}},
            [&source, f, path, order, n, top = o.top](store::Window w) {
                return top_rows<store::NodeSummary>(
                    source.nodes(w, n),
                    [&](const store::NodeSummary& s) {
                        return (!f.node || s.node_id == *f.node) &&
                               (!path || contains(*path, s.node_id));
                    },
                    order, top,
                    [](const store::NodeSummary& s) {
                        // Queue depth is in the node's own units, not a duration.
                        const auto q = [](const store::DelayStats& d, bool use_max) -> Cell {
                            if (!d.count) {
                                return {"-", nullptr};
                            }
                            if (use_max) {
                                return {std::to_string(d.max_ns), d.max_ns};
                            }
                            char text[32];
                            std::snprintf(text, sizeof text, "%.1f", d.mean_ns);
                            return {text, d.mean_ns};
                        };
                        return std::vector<Cell>{
                            count(s.node_id),           count(s.records),
                            duration(mean(s.transit)),  duration(max(s.transit)),
                            duration(mean(s.segment)),  duration(max(s.segment)),
                            q(s.queue, false),          q(s.queue, true),
                            time_cell(s.first_seen_ns), time_cell(s.last_seen_ns)};
                    });
            }};
}

Table stats(Source& source, const Options& o) {
    StatView view = stat_view(source, o);
    const store::Window all{o.filters.from_ns.value_or(0), o.filters.to_ns.value_or(UINT64_MAX)};
    Table t;
    if (!o.interval_ns) {
        t.columns = std::move(view.columns);
        t.rows = view.rows(all);
        return t;
    }
    if (!o.filters.from_ns) {
        throw std::invalid_argument("--interval needs the start of the window: --from or --last");
    }
    // Whole minutes: the rollups' grain.
    const std::uint64_t step =
        std::max<std::uint64_t>(1, (*o.interval_ns + kMinuteNs - 1) / kMinuteNs) * kMinuteNs;
    const std::uint64_t from = all.from_ns / kMinuteNs * kMinuteNs;
    if (all.to_ns == UINT64_MAX) {
        throw std::invalid_argument("--interval needs the end of the window: --to (or --last)");
    }
    if ((all.to_ns - from) / step >= kMaxIntervals) {
        throw std::invalid_argument("--interval: more than " + std::to_string(kMaxIntervals) +
                                    " intervals in the window");
    }
    t.columns = {{"interval", true}};
    t.columns.insert(t.columns.end(), view.columns.begin(), view.columns.end());
    for (std::uint64_t at = from; at < all.to_ns; at += step) {
        for (auto& row : view.rows({at, std::min(all.to_ns, at + step)})) {
            row.insert(row.begin(), time_cell(at));
            t.rows.push_back(std::move(row));
        }
    }
    return t;
}

Table records(Source& source, const Options& o) {
    const Filters& f = o.filters;
    store::TraceQuery q;
    q.kind = f.kind;
    q.namespace_id = f.namespace_id;
    q.node_id = f.node;
    q.flow_id = f.flow;
    q.from_ns = f.from_ns;
    q.to_ns = f.to_ns;
    const std::string path = f.path ? join(*f.path) : std::string();
    const std::vector<std::string> path_ids = split(path);
    // A trace matches a path by equality; a DEX report (one node) when its node is on it.
    const auto keep = [&](const RecordRow& r) {
        if (f.exporter && r.exporter != *f.exporter) {
            return false;
        }
        if (!f.path) {
            return true;
        }
        return r.kind == store::RecordKind::trace
                   ? r.path == path
                   : std::find(path_ids.begin(), path_ids.end(), r.path) != path_ids.end();
    };
    Table t;
    t.columns = {{"id"},        {"time", true}, {"kind", true}, {"exporter", true}, {"domain"},
                 {"namespace"}, {"path", true}, {"end_to_end"}, {"flow"},           {"seq"}};
    while (t.rows.size() < o.limit) {
        q.limit = std::min<std::size_t>(source.max_limit(),
                                        f.path || f.exporter ? 1000 : o.limit - t.rows.size());
        const auto page = source.records(q);
        for (const auto& r : page) {
            if (!keep(r) || t.rows.size() >= o.limit) {
                continue;
            }
            const bool dex = r.kind == store::RecordKind::dex;
            t.rows.push_back({count(static_cast<std::uint64_t>(r.id)),
                              time_cell(r.time_ns),
                              {dex ? "dex" : "trace", dex ? "dex" : "trace"},
                              {r.exporter, r.exporter},
                              count(r.domain),
                              count(r.namespace_id),
                              {r.path, r.path},
                              duration(r.end_to_end_ns),
                              optional_count(r.flow_id),
                              optional_count(r.sequence)});
        }
        if (page.size() < q.limit) {
            break;
        }
        q.after_id = page.back().id;
    }
    return t;
}

}  // namespace

Table run_query(Source& source, const Options& o) {
    return o.stat == Stat::none ? records(source, o) : stats(source, o);
}

}  // namespace ioam::tools::query
