#include "collector/api/routes.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/analysis/dex_flow.hpp"
#include "collector/console/assets.hpp"
#include "common/json/ioam_json.hpp"

namespace ioam::collector::api {

namespace {

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

using nlohmann::json;

// Store strings (exporter addresses, labels) and echoed input may hold any octet.
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response json_response(int status, const json& body) {
    return {status, "application/json", dump(body)};
}

Response error(int status, const std::string& message) {
    return json_response(status, json{{"error", message}});
}

// Client text in a message: printable ASCII as is, other octets as \xHH, at most 64 octets.
std::string printable(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string out;
    for (const char c : text.substr(0, kMax)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && u != '\\') {
            out += c;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02X", u);
            out += hex;
        }
    }
    if (text.size() > kMax) {
        out += "...";
    }
    return out;
}

// Query parameters; every value must be a decimal unsigned integer.
class Params {
  public:
    // Fails (message in error_) on a malformed pair, a duplicate or a name not in `allowed`.
    static std::optional<Params> parse(std::string_view query,
                                       std::initializer_list<std::string_view> allowed,
                                       std::string& error) {
        Params p;
        while (!query.empty()) {
            const auto amp = query.find('&');
            const std::string_view pair = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (pair.empty()) {
                continue;
            }
            const auto eq = pair.find('=');
            const std::string key(pair.substr(0, eq));
            const std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                error = "unknown parameter '" + printable(key) + "'";
                return std::nullopt;
            }
            std::uint64_t v = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
                error = "parameter '" + key + "' must be an unsigned integer";
                return std::nullopt;
            }
            if (!p.values_.emplace(key, v).second) {
                error = "parameter '" + key + "' given twice";
                return std::nullopt;
            }
        }
        return p;
    }

    std::optional<std::uint64_t> get(const std::string& key) const {
        auto it = values_.find(key);
        return it == values_.end() ? std::nullopt : std::optional(it->second);
    }

  private:
    std::map<std::string, std::uint64_t> values_;
};

// Unsigned decimal path segment.
std::optional<std::uint64_t> parse_id(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

json record_json(const store::StoredRecord& r, analysis::FractionUnit unit) {
    json j = std::visit([](const auto& rec) { return ioam::json::to_json(rec); }, r.record);
    j["id"] = r.id;
    j["exporter"] = r.exporter;
    j["domain"] = r.domain;
    if (const auto* t = std::get_if<IoamTrace>(&r.record)) {
        j["path"] = r.path;
        if (const auto e2e = analysis::end_to_end_ns(t->nodes, unit)) {
            j["end_to_end_ns"] = *e2e;
        }
    }
    return j;
}

json delay_json(const store::DelayStats& s) {
    if (s.count == 0) {
        return json{{"count", 0}};
    }
    return json{
        {"count", s.count}, {"min_ns", s.min_ns}, {"max_ns", s.max_ns}, {"mean_ns", s.mean_ns}};
}

json optional_json(const std::optional<std::int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

// Bodies of endpoints that take no parameters.
std::optional<Response> no_parameters(std::string_view query) {
    std::string bad;
    if (!Params::parse(query, {}, bad)) {
        return error(400, bad);
    }
    return std::nullopt;
}

// The summaries share their parameters, their errors and their shape: {key: [one per row]}.
template <typename Read, typename RowJson>
Response summary(const std::optional<std::pair<store::Window, std::size_t>>& params,
                 const std::string& bad, const char* key, Read&& read, RowJson&& row_json) {
    if (!params) {
        return error(400, bad);
    }
    auto rows = read(params->first, params->second);
    if (!rows) {
        return error(500, "store query failed");
    }
    json out = json::array();
    for (const auto& r : *rows) {
        out.push_back(row_json(r));
    }
    return json_response(200, json{{key, std::move(out)}});
}

// Packets, loss, times and delay of a path or segment summary.
template <typename Summary>
json traffic_json(const Summary& s) {
    return {{"packets", s.packets},
            {"lost", s.lost},
            {"first_seen_ns", s.first_seen_ns},
            {"last_seen_ns", s.last_seen_ns},
            {"delay", delay_json(s.delay)},
            {"delay_p50_ns", optional_json(s.percentiles.p50_ns)},
            {"delay_p90_ns", optional_json(s.percentiles.p90_ns)},
            {"delay_p99_ns", optional_json(s.percentiles.p99_ns)}};
}

json path_nodes_json(std::string_view path) {
    json nodes = json::array();
    for (std::string_view rest = path; !rest.empty();) {
        const auto comma = rest.find(',');
        const auto id = parse_id(rest.substr(0, comma));
        nodes.push_back(id ? json(*id) : json(nullptr));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    return nodes;
}

json path_json(const store::PathSummary& s) {
    json j = traffic_json(s);
    j["namespace"] = s.namespace_id;
    j["nodes"] = path_nodes_json(s.path);
    return j;
}

json segment_json(const store::SegmentSummary& s) {
    json j = traffic_json(s);
    j["from"] = s.from;
    j["to"] = s.to;
    return j;
}

constexpr std::string_view kRecordPrefix = "/api/v1/records/";
constexpr std::string_view kDexFlowPrefix = "/api/v1/dex/flows/";

}  // namespace

Response Routes::handle(std::string_view method, std::string_view target) const {
    return handle(method, target, {});
}

Response Routes::handle(std::string_view method, std::string_view target,
                        std::string_view if_none_match) const {
    const std::string_view path = target.substr(0, target.find('?'));
    if (method == "GET") {
        if (auto page = console::serve(path, if_none_match)) {
            return *page;
        }
    }
    Response r = api(method, target);
    if (r.status == 200 && path != "/metrics") {
        // FNV-1a: a content tag, not a secret.
        std::uint64_t h = 14695981039346656037ull;
        for (const char c : r.body) {
            h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        }
        char tag[24];
        std::snprintf(tag, sizeof tag, "\"%016llx\"", static_cast<unsigned long long>(h));
        r.etag = tag;
        if (console::etag_matches(if_none_match, r.etag)) {
            r.status = 304;
            r.body.clear();
        }
    }
    return r;
}

Response Routes::api(std::string_view method, std::string_view target) const {
    const auto qmark = target.find('?');
    const std::string_view path = target.substr(0, qmark);
    const std::string_view query =
        qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
    if (method != "GET") {
        return error(405, "only GET and HEAD are supported");
    }
    if (is_cheap(path)) {
        if (auto bad = no_parameters(query)) {
            return *bad;
        }
    }
    if (path == "/metrics") {
        return {200, "text/plain; version=0.0.4; charset=utf-8", providers_.metrics()};
    }
    if (path == "/healthz") {
        return json_response(200, json{{"status", "ok"}});
    }
    if (path == "/readyz") {
        const bool ready = providers_.ready();
        json body{{"status", ready ? "ready" : "starting"}};
        // Readiness does not fail on drops (an only collector taken out of service would lose
        // everything), but an operator or probe sees them here as well as in /metrics.
        if (providers_.dropped) {
            const Dropped d = providers_.dropped();
            body["dropped"] = {{"udp_datagrams", d.udp_datagrams}, {"records", d.records}};
        }
        return json_response(ready ? 200 : 503, body);
    }
    Response r;
    if (path == "/api/v1/records") {
        r = records(query);
    } else if (path.starts_with(kRecordPrefix)) {
        if (auto bad = no_parameters(query)) {
            return *bad;
        }
        r = record(path.substr(kRecordPrefix.size()));
    } else if (path == "/api/v1/nodes") {
        r = nodes(query);
    } else if (path == "/api/v1/paths") {
        r = paths(query);
    } else if (path == "/api/v1/segments") {
        r = segments(query);
    } else if (path == "/api/v1/paths/series") {
        r = series(
            query, "paths", [&](auto w, auto n) { return reader_.paths(w, n); }, path_json);
    } else if (path == "/api/v1/segments/series") {
        r = series(
            query, "segments", [&](auto w, auto n) { return reader_.segments(w, n); },
            segment_json);
    } else if (path == "/api/v1/exporters") {
        r = exporters(query);
    } else if (path.starts_with(kDexFlowPrefix)) {
        r = dex_flow(path.substr(kDexFlowPrefix.size()), query);
    } else {
        return error(404, "not found");
    }
    return r.body.size() > config_.max_response_bytes
               ? error(500, "response too large: lower 'limit'")
               : r;
}

bool Routes::is_cheap(std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

std::size_t Routes::limit(std::optional<std::uint64_t> requested) const {
    return std::min<std::size_t>(requested.value_or(config_.default_limit), config_.max_limit);
}

Response Routes::records(std::string_view query) const {
    std::string bad;
    auto p = Params::parse(
        query, {"namespace", "node", "flow", "kind", "from", "to", "limit", "cursor"}, bad);
    if (!p) {
        return error(400, bad);
    }
    const auto ns = p->get("namespace");
    const auto flow = p->get("flow");
    const auto kind = p->get("kind");
    if (ns.value_or(0) > 0xffff || flow.value_or(0) > 0xffffffffu) {
        return error(400, "parameter 'namespace' or 'flow' out of range");
    }
    if (kind.value_or(0) > 1) {
        return error(400, "parameter 'kind' must be 0 (trace) or 1 (dex)");
    }
    store::TraceQuery q;
    if (ns) {
        q.namespace_id = static_cast<std::uint16_t>(*ns);
    }
    if (flow) {
        q.flow_id = static_cast<std::uint32_t>(*flow);
    }
    if (kind) {
        q.kind = static_cast<store::RecordKind>(*kind);
    }
    // Times are signed 64-bit nanoseconds in the store.
    for (const char* bound : {"from", "to"}) {
        if (p->get(bound).value_or(0) > std::uint64_t{INT64_MAX}) {
            return error(400, std::string("parameter '") + bound +
                                  "' out of range (at most 9223372036854775807)");
        }
    }
    q.node_id = p->get("node");
    q.from_ns = p->get("from");
    q.to_ns = p->get("to");
    q.after_id = static_cast<std::int64_t>(
        std::min<std::uint64_t>(p->get("cursor").value_or(0), std::uint64_t{INT64_MAX}));
    const std::size_t wanted = limit(p->get("limit"));
    // Rows are read in pages sized by the largest row so far, so that at most about one page
    // beyond the response budget is ever held; the cursor lets the client fetch the rest.
    constexpr std::size_t kMaxPage = 64;
    const std::size_t budget = config_.max_response_bytes / 2;
    std::string out;
    std::size_t count = 0;
    std::size_t largest = 0;
    std::optional<std::int64_t> last;
    bool more = false;
    while (count < wanted && !more) {
        const std::size_t room = budget - std::min(budget, out.size());
        q.limit = std::clamp<std::size_t>(largest == 0 ? 1 : room / largest, 1,
                                          std::min(kMaxPage, wanted - count));
        auto rows = reader_.query(q);
        if (!rows) {
            return error(500, "store query failed");
        }
        for (const auto& r : *rows) {
            std::string j = dump(record_json(r, config_.fraction_unit));
            largest = std::max(largest, j.size());
            if (last && out.size() + j.size() > budget) {
                more = true;
                break;
            }
            out += out.empty() ? "" : ",";
            out += j;
            last = r.id;
            ++count;
        }
        if (rows->size() < q.limit) {
            break;
        }
        q.after_id = *last;
    }
    more = more || count == wanted;
    return {200, "application/json",
            "{\"records\":[" + out + "],\"next_cursor\":" +
                (more && last ? std::to_string(*last) : std::string("null")) + "}"};
}

Response Routes::record(std::string_view id_text) const {
    const auto id = parse_id(id_text);
    if (!id || *id > std::uint64_t{INT64_MAX}) {
        return error(400, "record id must be an unsigned integer");
    }
    auto r = reader_.get(static_cast<std::int64_t>(*id));
    if (!r) {
        return error(500, "store query failed");
    }
    if (!r->has_value()) {
        return error(404, "no such record");
    }
    return json_response(200, record_json(**r, config_.fraction_unit));
}

// A summary's window from 'from'/'to' (nanoseconds, to exclusive) and its limit.
std::optional<std::pair<store::Window, std::size_t>> Routes::summary_params(
    std::string_view query, std::string& bad) const {
    auto p = Params::parse(query, {"from", "to", "limit"}, bad);
    if (!p) {
        return std::nullopt;
    }
    const store::Window w{p->get("from").value_or(0), p->get("to").value_or(UINT64_MAX)};
    return std::pair{w, limit(p->get("limit"))};
}

Response Routes::nodes(std::string_view query) const {
    std::string bad;
    const auto params = summary_params(query, bad);
    return summary(
        params, bad, "nodes", [&](auto w, auto n) { return reader_.nodes(w, n); },
        [](const store::NodeSummary& n) {
            return json{{"node_id", n.node_id},
                        {"first_seen_ns", n.first_seen_ns},
                        {"last_seen_ns", n.last_seen_ns},
                        {"records", n.records},
                        {"transit_delay", delay_json(n.transit)},
                        {"segment_delay", delay_json(n.segment)},
                        {"queue_depth", delay_json(n.queue)}};
        });
}

Response Routes::paths(std::string_view query) const {
    std::string bad;
    const auto params = summary_params(query, bad);
    return summary(
        params, bad, "paths", [&](auto w, auto n) { return reader_.paths(w, n); }, path_json);
}

Response Routes::segments(std::string_view query) const {
    std::string bad;
    const auto params = summary_params(query, bad);
    return summary(
        params, bad, "segments", [&](auto w, auto n) { return reader_.segments(w, n); },
        segment_json);
}

// The summaries of consecutive windows, for a chart of a path's or segment's delay and loss over
// time: 'points' windows of whole minutes (the rollups' grain) covering [from, to), each with
// its 'limit' busiest keys. One summary read per point: the work is that of one summary over
// the whole window.
template <typename Read, typename RowJson>
Response Routes::series(std::string_view query, const char* key, Read&& read,
                        RowJson&& row_json) const {
    constexpr std::uint64_t kMinuteNs = 60ull * 1'000'000'000;
    std::string bad;
    auto p = Params::parse(query, {"from", "to", "points", "limit"}, bad);
    if (!p) {
        return error(400, bad);
    }
    const std::uint64_t requested = p->get("from").value_or(0);
    const std::uint64_t to = p->get("to").value_or(now_ns());
    if (to <= requested) {
        return error(400, "parameter 'to' must be later than 'from'");
    }
    const std::uint64_t points =
        std::clamp<std::uint64_t>(p->get("points").value_or(60), 1, config_.max_series_points);
    // The step from the span asked for; the buckets start at the minute holding 'from', so
    // there may be one point more than asked.
    const std::uint64_t span = to - requested;
    std::uint64_t step = span / points + (span % points != 0);
    step = std::max<std::uint64_t>(1, step / kMinuteNs + (step % kMinuteNs != 0)) * kMinuteNs;
    const std::uint64_t from = requested / kMinuteNs * kMinuteNs;
    const std::size_t n = limit(p->get("limit"));
    json out = json::array();
    for (std::uint64_t t = from, end = 0; t < to; t = end) {
        end = to - t > step ? t + step : to;
        auto rows = read(store::Window{t, end}, n);
        if (!rows) {
            return error(500, "store query failed");
        }
        json items = json::array();
        for (const auto& r : *rows) {
            items.push_back(row_json(r));
        }
        out.push_back(json{{"t_ns", t}, {key, std::move(items)}});
    }
    return json_response(200,
                         json{{"from_ns", from}, {"step_ns", step}, {"points", std::move(out)}});
}

std::string_view Routes::exporter_state(const source::ExporterStats& e, std::uint64_t now) const {
    if (e.ended_ns != 0) {
        return e.session.transport == source::Transport::tcp ? "closed" : "expired";
    }
    return now - std::min(now, e.last_seen_ns) > config_.exporter_silent_ns ? "silent" : "active";
}

Response Routes::exporters(std::string_view query) const {
    std::string bad;
    auto p = Params::parse(query, {"limit"}, bad);
    if (!p) {
        return error(400, bad);
    }
    const auto all = providers_.exporters();
    const std::size_t n = std::min(all.size(), limit(p->get("limit")));
    json out = json::array();
    const auto now = now_ns();
    for (const auto& e : std::span(all).first(n)) {
        out.push_back({{"address", e.session.address},
                       {"state", exporter_state(e, now)},
                       {"ended_ns", e.ended_ns == 0 ? json(nullptr) : json(e.ended_ns)},
                       {"port", e.session.port},
                       {"transport", source::to_string(e.session.transport)},
                       {"domain", e.domain},
                       {"messages", e.messages},
                       {"records", e.records},
                       {"options_records", e.options_records},
                       {"lost", e.lost},
                       {"reordered", e.reordered},
                       {"restarts", e.restarts},
                       {"errors", e.errors},
                       {"templates", e.templates},
                       {"first_seen_ns", e.first_seen_ns},
                       {"last_seen_ns", e.last_seen_ns}});
    }
    return json_response(200, json{{"exporters", std::move(out)}, {"total", all.size()}});
}

Response Routes::dex_flow(std::string_view id_text, std::string_view query) const {
    const auto flow = parse_id(id_text);
    if (!flow || *flow > 0xffffffffu) {
        return error(400, "flow id must be a 32-bit unsigned integer");
    }
    std::string bad;
    auto p = Params::parse(query, {"limit"}, bad);
    if (!p) {
        return error(400, bad);
    }
    store::TraceQuery q;
    q.kind = store::RecordKind::dex;
    q.flow_id = static_cast<std::uint32_t>(*flow);
    q.limit = std::min<std::size_t>(p->get("limit").value_or(config_.max_dex_reports),
                                    config_.max_dex_reports);
    auto rows = reader_.query(q);
    if (!rows) {
        return error(500, "store query failed");
    }
    if (rows->empty()) {
        return error(404, "no reports for this flow");
    }
    const std::size_t report_count = rows->size();
    std::vector<DexReport> reports;
    reports.reserve(report_count);
    for (auto& r : *rows) {
        reports.push_back(std::get<DexReport>(std::move(r.record)));
    }
    std::vector<store::StoredRecord>().swap(*rows);
    const auto a = analysis::analyse_flow(reports, config_.fraction_unit, config_.max_flow_nodes);
    if (!a) {
        return error(422, "flow reported by more than " + std::to_string(config_.max_flow_nodes) +
                              " nodes: not analysed");
    }
    // Written packet by packet so that an oversized answer stops at the budget.
    std::string packets;
    for (const auto& pk : a->packets) {
        json delays = json::array();
        for (const auto& d : pk.segment_ns) {
            delays.push_back(optional_json(d));
        }
        packets += packets.empty() ? "" : ",";
        packets += dump({{"sequence_number", pk.sequence},
                         {"path", pk.nodes},
                         {"segment_delay_ns", std::move(delays)},
                         {"missing", pk.missing},
                         {"last_seen", pk.last_seen ? json(*pk.last_seen) : json(nullptr)}});
        if (packets.size() > config_.max_response_bytes) {
            return error(500, "response too large: lower 'limit'");
        }
    }
    json loss = json::array();
    for (const auto& l : a->loss) {
        loss.push_back({{"last_seen_node", l.last_seen_node}, {"packets", l.packets}});
    }
    std::string body = dump(json{{"flow_id", *flow},
                                 {"reports", report_count},
                                 {"nodes", a->nodes},
                                 {"packets", nullptr},
                                 {"incomplete_packets", a->incomplete},
                                 {"loss", std::move(loss)}});
    const std::string_view placeholder = "\"packets\":null";
    body.replace(body.find(placeholder), placeholder.size(), "\"packets\":[" + packets + "]");
    return {200, "application/json", std::move(body)};
}

}  // namespace ioam::collector::api
