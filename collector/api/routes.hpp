#pragma once
// The HTTP API as a pure function of (method, target): no sockets, so it is unit-tested
// directly. JSON bodies (invalid UTF-8 replaced); errors are {"error": "..."} with 400 (bad or
// unknown parameter), 404, 405. Work per request is bounded: rows are read in pages within the
// response budget, DEX flows by report and node counts.
//
// The web console (collector/console) is served at "/". Every 200 answer but /metrics carries an
// ETag (a hash of the body) and If-None-Match with that tag gets 304 with no body, so a console
// polling a summary that has not changed costs the client nothing to parse.
//
// Threading: handle() may be called from several threads if the reader and providers allow
// it (TraceReader serialises; the providers must be thread-safe).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/analysis/delay.hpp"
#include "collector/source/ipfix_processor.hpp"
#include "collector/store/trace_reader.hpp"
#include "common/net/http_server.hpp"

namespace ioam::collector::api {

using Response = net::HttpResponse;

struct RoutesConfig {
    std::size_t default_limit = 100;
    std::size_t max_limit = 1000;
    std::size_t max_response_bytes = 4u << 20;
    // /api/v1/dex/flows/{id}: reports read (default and largest 'limit'), and distinct
    // reporting nodes analysed (a longer path is refused: each packet lists its missing nodes).
    std::size_t max_dex_reports = 10'000;
    std::size_t max_flow_nodes = 256;
    analysis::FractionUnit fraction_unit = analysis::FractionUnit::microseconds;
    // A live exporter sends at least its templates every refresh (30 s by default): one
    // silent for longer than this is shown as "silent".
    std::uint64_t exporter_silent_ns = 90ull * 1'000'000'000;
    // /api/v1/{paths,segments}/series: most points (time buckets) in one answer.
    std::size_t max_series_points = 240;
};

// What the collector had to drop since it started (UDP overload), shown by /readyz.
struct Dropped {
    std::uint64_t udp_datagrams = 0;  // by the kernel (socket buffer full) or at shutdown
    std::uint64_t records = 0;        // UDP records, at the full store queue
};

struct Providers {
    std::function<std::string()> metrics;  // text 0.0.4
    std::function<std::vector<source::ExporterStats>()> exporters;
    std::function<bool()> ready;
    std::function<Dropped()> dropped;  // optional
};

class Routes {
  public:
    Routes(store::TraceReader& reader, Providers providers, const RoutesConfig& config)
        : reader_(reader), providers_(std::move(providers)), config_(config) {}

    Response handle(std::string_view method, std::string_view target) const;
    Response handle(std::string_view method, std::string_view target,
                    std::string_view if_none_match) const;
    // The targets whose handling is cheap and bounded (health, metrics): fit for an I/O thread.
    static bool is_cheap(std::string_view target);

  private:
    Response api(std::string_view method, std::string_view target) const;
    std::size_t limit(std::optional<std::uint64_t> requested) const;
    Response records(std::string_view query) const;
    Response record(std::string_view id) const;
    Response nodes(std::string_view query) const;
    Response paths(std::string_view query) const;
    Response segments(std::string_view query) const;
    template <typename Read, typename RowJson>
    Response series(std::string_view query, const char* key, Read&& read, RowJson&& row_json) const;
    std::optional<std::pair<store::Window, std::size_t>> summary_params(std::string_view query,
                                                                        std::string& bad) const;
    Response exporters(std::string_view query) const;
    std::string_view exporter_state(const source::ExporterStats& e, std::uint64_t now) const;
    Response dex_flow(std::string_view flow_id, std::string_view query) const;

    store::TraceReader& reader_;
    Providers providers_;
    RoutesConfig config_;
};

}  // namespace ioam::collector::api
