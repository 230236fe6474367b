#pragma once
// The HTTP API as a pure function of (method, target): no sockets, so it is unit-tested
// directly. JSON bodies; errors are {"error": "..."} with 400 (bad parameter), 404, 405.
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

namespace ioam::collector::api {

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

struct RoutesConfig {
    std::size_t default_limit = 100;
    std::size_t max_limit = 1000;
    std::size_t max_response_bytes = 4u << 20;
    analysis::FractionUnit fraction_unit = analysis::FractionUnit::microseconds;
    // A live exporter sends at least its templates every refresh (30 s by default): one
    // silent for longer than this is shown as "silent".
    std::uint64_t exporter_silent_ns = 90ull * 1'000'000'000;
};

struct Providers {
    std::function<std::string()> metrics;  // text 0.0.4
    std::function<std::vector<source::ExporterStats>()> exporters;
    std::function<bool()> ready;
};

class Routes {
  public:
    Routes(store::TraceReader& reader, Providers providers, const RoutesConfig& config)
        : reader_(reader), providers_(std::move(providers)), config_(config) {}

    Response handle(std::string_view method, std::string_view target) const;

  private:
    std::size_t limit(std::optional<std::uint64_t> requested) const;
    Response records(std::string_view query) const;
    Response record(std::string_view id) const;
    Response nodes(std::string_view query) const;
    Response paths(std::string_view query) const;
    Response segments(std::string_view query) const;
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
