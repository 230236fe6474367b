#include "collector/config.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <CLI/CLI.hpp>

namespace ioam::collector {

namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
constexpr std::uint64_t kMaxTimeoutSeconds = 86'400;

std::uint64_t to_seconds(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

CLI::Validator positive_integer(std::uint64_t max = UINT64_MAX) {
    return CLI::Validator(
        [max](const std::string& text) -> std::string {
            std::uint64_t v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc{} || end != text.data() + text.size() || v == 0 || v > max) {
                return "expected a whole number from 1 to " + std::to_string(max) + ", got '" +
                       text + "'";
            }
            return {};
        },
        "POSITIVE");
}

// CLI::PositiveNumber lets NaN through (every comparison with it is false).
CLI::Validator finite_positive() {
    return CLI::Validator(
        [](const std::string& text) -> std::string {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) {
                return "expected a finite number above 0, got '" + text + "'";
            }
            return {};
        },
        "POSITIVE");
}

}  // namespace

std::optional<int> parse_config(int argc, const char* const* argv, Config& c) {
    CLI::App app{"ioam-collector: IOAM IPFIX collector (SQLite, Prometheus /metrics, JSON API)"};
    app.set_config("--config", "", "Config file (INI or TOML): keys are the flag names");
    app.set_version_flag("--version", "ioam-collector 0.1.0");

    app.add_option("--udp-listen", c.listener.udp_listen, "IPFIX/UDP address, '' to disable")
        ->capture_default_str();
    app.add_option("--tcp-listen", c.listener.tcp_listen, "IPFIX/TCP address, '' to disable")
        ->capture_default_str();
    app.add_option("--udp-receive-buffer", c.listener.udp_receive_buffer, "SO_RCVBUF octets")
        ->capture_default_str();
    app.add_option("--max-tcp-connections", c.listener.max_tcp_connections)->capture_default_str();
    app.add_option("--tcp-idle-timeout", c.listener.tcp_idle_timeout_s, "seconds, 0 = never")
        ->capture_default_str();

    std::uint64_t template_lifetime_s = c.processor.udp_template_lifetime_ns / kNsPerSecond;
    std::uint64_t session_idle_s = c.processor.udp_session_idle_ns / kNsPerSecond;
    std::uint64_t exporter_silent_s = c.routes.exporter_silent_ns / kNsPerSecond;
    app.add_option("--udp-template-lifetime", template_lifetime_s,
                   "seconds a UDP template lives without a refresh")
        ->capture_default_str();
    app.add_option("--udp-session-idle", session_idle_s,
                   "seconds before an idle UDP peer is forgotten")
        ->capture_default_str();
    app.add_option("--max-sessions", c.processor.max_sessions)->capture_default_str();
    app.add_option("--max-domains-per-session", c.processor.max_domains_per_session)
        ->capture_default_str();
    app.add_option("--max-templates", c.processor.max_templates_per_domain,
                   "templates per (session, domain)")
        ->capture_default_str();
    app.add_option("--max-template-fields", c.processor.max_template_fields)->capture_default_str();
    app.add_option(
           "--reorder-window", c.processor.reorder_window,
           "records: backward sequence jumps up to this are reordering, beyond are restarts")
        ->capture_default_str();

    app.add_option("--db,--store", c.store.path, "store: sqlite:PATH, or a SQLite file PATH")
        ->capture_default_str();
    app.add_option("--queue-size", c.store.queue_capacity, "records waiting for the writer")
        ->capture_default_str();
    app.add_option("--queue-bytes", c.store.queue_bytes, "octets the queued records may hold")
        ->capture_default_str();
    app.add_option("--batch-size", c.store.batch_size, "records per transaction")
        ->capture_default_str();
    app.add_option("--retention-age", c.store.retention_age_s, "seconds, 0 = forever")
        ->capture_default_str();
    app.add_option("--retention-size", c.store.retention_max_bytes, "octets, 0 = unlimited")
        ->capture_default_str();
    app.add_option("--retention-interval", c.store.retention_interval_s, "seconds")
        ->capture_default_str();

    app.add_option("--http-listen", c.http.listen, "HTTP API and /metrics address")
        ->capture_default_str();
    std::uint64_t http_header_timeout_s = to_seconds(c.http.header_timeout);
    std::uint64_t http_request_timeout_s = to_seconds(c.http.request_timeout);
    std::uint64_t http_idle_timeout_s = to_seconds(c.http.idle_timeout);
    app.add_option("--http-max-connections", c.http.max_connections, "in total")
        ->check(positive_integer())
        ->capture_default_str();
    app.add_option("--http-max-connections-per-client", c.http.max_connections_per_client,
                   "per client IP address")
        ->check(positive_integer())
        ->capture_default_str();
    app.add_option("--http-header-timeout", http_header_timeout_s,
                   "seconds from a request's first octet to its last header line")
        ->check(positive_integer(kMaxTimeoutSeconds))
        ->capture_default_str();
    app.add_option("--http-request-timeout", http_request_timeout_s,
                   "seconds to receive a whole request, and to send its response")
        ->check(positive_integer(kMaxTimeoutSeconds))
        ->capture_default_str();
    app.add_option("--http-idle-timeout", http_idle_timeout_s,
                   "seconds a keep-alive connection may wait for its next request")
        ->check(positive_integer(kMaxTimeoutSeconds))
        ->capture_default_str();
    app.add_option("--http-rate", c.http.max_requests_per_second, "requests/s per connection")
        ->check(finite_positive())
        ->capture_default_str();
    app.add_option("--http-max-header", c.http.max_header_bytes, "octets")
        ->check(CLI::Range(std::size_t{512}, std::size_t{1} << 20))
        ->capture_default_str();
    app.add_option("--http-threads", c.http.worker_threads,
                   "threads for API requests (/healthz and /metrics have their own)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
        ->capture_default_str();
    app.add_option("--api-max-limit", c.routes.max_limit, "largest 'limit' accepted")
        ->capture_default_str();
    app.add_option("--api-max-response", c.routes.max_response_bytes, "octets")
        ->capture_default_str();
    app.add_option("--exporter-silent", exporter_silent_s,
                   "seconds without a message before an exporter is shown as silent")
        ->capture_default_str();

    app.add_option("--max-series", c.metrics.max_series_per_family, "label sets per family")
        ->capture_default_str();
    app.add_option("--max-exporters", c.metrics.max_exporters, "exporter label values")
        ->capture_default_str();
    app.add_option("--max-dex-flows", c.metrics.max_dex_flows, "(flow, node) series for DEX loss")
        ->capture_default_str();

    double correlation_window_s = static_cast<double>(c.correlator.window_ns) / kNsPerSecond;
    app.add_option("--correlation-window", correlation_window_s,
                   "seconds to wait for the reports of a packet from every node of its path")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    app.add_option("--correlation-max-pending", c.correlator.max_pending,
                   "packets awaiting their reports; the oldest is closed early beyond it")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--correlation-max-bytes", c.correlator.max_bytes,
                   "octets of correlator state (pending packets, closed keys, learned paths)")
        ->capture_default_str();
    app.add_option("--correlation-max-paths", c.correlator.max_paths,
                   "path prefixes (and nodes) the correlator learns")
        ->capture_default_str();

    std::string fraction = "us";
    app.add_option("--timestamp-fraction", fraction,
                   "unit of the IOAM timestamp fraction: us (Linux, POSIX), ns (PTP), ntp")
        ->check(CLI::IsMember({"us", "ns", "ntp"}))
        ->capture_default_str();
    app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    c.processor.udp_template_lifetime_ns = template_lifetime_s * kNsPerSecond;
    c.processor.udp_session_idle_ns = session_idle_s * kNsPerSecond;
    c.routes.exporter_silent_ns = exporter_silent_s * kNsPerSecond;
    c.http.header_timeout = std::chrono::seconds(http_header_timeout_s);
    c.http.request_timeout = std::chrono::seconds(http_request_timeout_s);
    c.http.idle_timeout = std::chrono::seconds(http_idle_timeout_s);
    const auto unit = *analysis::parse_fraction_unit(fraction);
    c.store.fraction_unit = unit;
    c.routes.fraction_unit = unit;
    c.correlator.fraction_unit = unit;
    c.correlator.window_ns =
        static_cast<std::uint64_t>(correlation_window_s * static_cast<double>(kNsPerSecond));
    return std::nullopt;
}

}  // namespace ioam::collector
