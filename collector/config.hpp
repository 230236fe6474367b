#pragma once
// ioam-collector configuration: command-line flags, and a config file (--config, INI/TOML
// syntax as CLI11 reads it) whose keys are the flag names without dashes. Flags win over the
// file.

#include <optional>
#include <string>

#include "collector/api/routes.hpp"
#include "collector/correlate/correlator.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "collector/source/ipfix_listener.hpp"
#include "collector/source/ipfix_processor.hpp"
#include "collector/store/trace_store.hpp"
#include "common/log/log.hpp"
#include "common/net/http_server.hpp"

namespace ioam::collector {

struct Config {
    source::ListenerConfig listener;
    source::ProcessorConfig processor;
    store::StoreConfig store;
    net::HttpServerConfig http{
        .name = "HTTP API", .server_header = "ioam-collector", .listen = "127.0.0.1:9555"};
    api::RoutesConfig routes;
    metrics::MetricsConfig metrics;
    correlate::CorrelatorConfig correlator;
    std::string log_level = "info";
    ioam::log::Output log_output;
};

// Parses argv into `out`. Returns an exit code when the program should stop now (--help,
// --version, or an error already printed), nullopt to carry on.
std::optional<int> parse_config(int argc, const char* const* argv, Config& out);

}  // namespace ioam::collector
