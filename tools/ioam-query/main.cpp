// ioam-query: reads IOAM records and per-path, per-node and per-segment statistics from a
// collector's SQLite store (read-only, safe while the collector writes) or from its HTTP API,
// in the spirit of nfdump: filters, --stat aggregations with top N, and an aligned table, CSV
// or JSON lines. See ioam-query(1).

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "common/version/version.hpp"
#include "tools/ioam-query/query.hpp"
#include "tools/ioam-query/text.hpp"

namespace {

using namespace ioam::tools::query;

constexpr const char* kExamples = R"(Examples:
  Which segment loses or delays packets, worst first, over the last hour:
    ioam-query --db /var/lib/ioam/ioam.db --last 1h --stat segment
  Since when: the same per 5 minutes, for the segments of one path:
    ioam-query --db ioam.db --last 6h --stat segment --path 1,2,3,4 --interval 5m
  The 10 slowest paths (p99) through node 3 on a running collector:
    ioam-query --api http://127.0.0.1:9555 --stat path --node 3 --order p99 --top 10
  Transit delay and queue depth per node, as CSV:
    ioam-query --db ioam.db --stat node --format csv
  The DEX reports of flow 7 between two times, as JSON lines:
    ioam-query --db ioam.db --kind dex --flow 7 --from '2026-11-24 10:00' --to '2026-11-24 10:05' --format json
Times are UTC: "2026-11-24", "2026-11-24 10:00[:05[.25]]", "now", "-15m" (before now),
"@SECONDS". Durations: 250ms, 90s, 15m, 1h30m, 2d.)";

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

std::vector<std::uint64_t> parse_path(const std::string& text) {
    std::vector<std::uint64_t> ids;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        std::size_t used = 0;
        std::uint64_t id = 0;
        try {
            id = std::stoull(part, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (part.empty() || used != part.size() || part.front() == '-') {
            throw CLI::ValidationError("--path", "node ids separated by commas: " + text);
        }
        ids.push_back(id);
    }
    if (ids.empty()) {
        throw CLI::ValidationError("--path", "node ids separated by commas");
    }
    return ids;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "ioam-query: IOAM records and per-path, node and segment statistics from an "
        "ioam-collector store or API"};
    app.footer(kExamples);
    ioam::version::add_standard_flags(app, "ioam-query");
    std::string db, api;
    unsigned timeout_s = 30;
    auto* db_opt =
        app.add_option("--db", db, "SQLite store to read (opened read-only)")->type_name("FILE");
    app.add_option("--api", api, "collector HTTP API instead, e.g. http://127.0.0.1:9555")
        ->type_name("URL")
        ->excludes(db_opt);
    app.add_option("--timeout", timeout_s, "seconds for each API request")->capture_default_str();

    std::string from, to, last, path, kind, stat, format = "table", fraction = "us";
    std::string interval;
    Options o;
    std::uint64_t ns = 0, flow = 0;
    auto* from_opt = app.add_option("--from", from, "window start, inclusive")->type_name("TIME");
    auto* to_opt = app.add_option("--to", to, "window end, exclusive")->type_name("TIME");
    app.add_option("--last", last, "window of this length ending now")
        ->type_name("DURATION")
        ->excludes(from_opt)
        ->excludes(to_opt);
    auto* ns_opt = app.add_option("--namespace", ns, "IOAM namespace")->check(CLI::Range(0, 65535));
    app.add_option("--node", o.filters.node, "node id on the path");
    app.add_option("--path", path, "node ids oldest first, e.g. 1,2,3,4")->type_name("ID,ID,...");
    auto* flow_opt =
        app.add_option("--flow", flow, "DEX flow id")->check(CLI::Range(0ull, 0xffffffffull));
    app.add_option("--exporter", o.filters.exporter, "exporter address");
    app.add_option("--kind", kind, "trace or dex")->check(CLI::IsMember({"trace", "dex"}));
    app.add_option("-n,--limit", o.limit, "records to list")->capture_default_str();
    app.add_option("-s,--stat", stat, "statistics per path, node or segment instead of records")
        ->check(CLI::IsMember({"path", "node", "segment"}));
    app.add_option("--top", o.top, "statistics rows (per interval)")->capture_default_str();
    app.add_option("--order", o.order,
                   "statistics order: loss (default), lost, packets, p50, p99; for nodes: node "
                   "(default), packets, transit, queue");
    app.add_option("--interval", interval, "statistics per interval of this length (whole minutes)")
        ->type_name("DURATION");
    app.add_option("-o,--format", format, "table, csv or json (JSON lines)")
        ->check(CLI::IsMember({"table", "csv", "json"}))
        ->capture_default_str();
    bool raw = false;
    app.add_flag("--raw", raw, "CSV with raw numbers (ns, ns since 1970, fractions)");
    app.add_option("--timestamp-fraction", fraction,
                   "unit of the IOAM timestamp fraction, as given to ioam-collector: us, ns, ntp")
        ->check(CLI::IsMember({"us", "ns", "ntp"}))
        ->capture_default_str();

    try {
        app.parse(argc, argv);
        if (db.empty() == api.empty()) {
            throw CLI::ValidationError("--db or --api", "give one of them");
        }
        const std::uint64_t now = now_ns();
        const auto time_arg = [&](const std::string& text, const char* name) {
            const auto t = parse_time(text, now);
            if (!t) {
                throw CLI::ValidationError(name, "not a time: " + text);
            }
            return t;
        };
        if (!from.empty()) {
            o.filters.from_ns = time_arg(from, "--from");
        }
        if (!to.empty()) {
            o.filters.to_ns = time_arg(to, "--to");
        }
        if (!last.empty()) {
            const auto d = parse_duration(last);
            if (!d || *d > now) {
                throw CLI::ValidationError("--last", "not a duration: " + last);
            }
            o.filters.from_ns = now - *d;
            o.filters.to_ns = now;
        }
        if (o.filters.from_ns && o.filters.to_ns && *o.filters.to_ns <= *o.filters.from_ns) {
            throw CLI::ValidationError("--to", "must be later than --from");
        }
        if (!interval.empty()) {
            o.interval_ns = parse_duration(interval);
            if (!o.interval_ns || *o.interval_ns == 0) {
                throw CLI::ValidationError("--interval", "not a duration: " + interval);
            }
        }
        if (*ns_opt) {
            o.filters.namespace_id = static_cast<std::uint16_t>(ns);
        }
        if (*flow_opt) {
            o.filters.flow = static_cast<std::uint32_t>(flow);
        }
        if (!path.empty()) {
            o.filters.path = parse_path(path);
        }
        if (!kind.empty()) {
            o.filters.kind = kind == "dex" ? ioam::collector::store::RecordKind::dex
                                           : ioam::collector::store::RecordKind::trace;
        }
        o.stat = stat == "path"      ? Stat::path
                 : stat == "node"    ? Stat::node
                 : stat == "segment" ? Stat::segment
                                     : Stat::none;
        if (o.stat == Stat::none && (!o.order.empty() || o.interval_ns)) {
            throw CLI::ValidationError("--order and --interval", "need --stat");
        }
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        const auto unit = ioam::collector::analysis::parse_fraction_unit(fraction);
        auto source = db.empty() ? open_api(api, timeout_s) : open_sqlite(db, *unit);
        const Table t = run_query(*source, o);
        const Format f = format == "csv"    ? Format::csv
                         : format == "json" ? Format::json
                                            : Format::table;
        t.write(std::cout, f, raw);
        std::cout.flush();
        return std::cout ? 0 : 1;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "ioam-query: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ioam-query: %s\n", e.what());
        return 1;
    }
}
