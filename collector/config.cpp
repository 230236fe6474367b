#include "collector/config.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "collector/source/datagram_ring.hpp"
#include "common/config/config_file.hpp"
#include "common/version/version.hpp"

namespace ioam::collector {

namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
constexpr std::uint64_t kMaxTimeoutSeconds = 86'400;

std::uint64_t to_seconds(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
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

constexpr std::uint64_t kWeek = 7 * 24 * 3600;
// A ceiling for counts, far above any sensible setting: values beyond are typing errors.
constexpr std::uint64_t kMaxCount = 100'000'000;
constexpr std::uint64_t kMinRetentionBytes = 1u << 20;

}  // namespace

std::optional<int> parse_config(int argc, const char* const* argv, Config& c) {
    CLI::App app{"ioam-collector: IOAM IPFIX collector (SQLite, Prometheus /metrics, JSON API)"};
    config::add_config_file(app,
                            "Config file: `key = value` lines or a JSON object; keys are the "
                            "flag names");
    version::add_standard_flags(app, "ioam-collector");

    app.add_option("--udp-listen", c.listener.udp_listen, "IPFIX/UDP address, '' to disable")
        ->capture_default_str();
    app.add_option("--tcp-listen", c.listener.tcp_listen, "IPFIX/TCP address, '' to disable")
        ->capture_default_str();
    config::add_unsigned(app, "--udp-receive-buffer", c.listener.udp_receive_buffer,
                         "SO_RCVBUF octets", 4096, 1u << 30);
    config::add_unsigned(app, "--udp-queue-bytes", c.listener.udp_queue_bytes,
                         "octets of datagrams read and waiting for the I/O thread",
                         source::DatagramRing::min_capacity(), std::uint64_t{1} << 34);
    config::add_unsigned(app, "--max-tcp-connections", c.listener.max_tcp_connections,
                         "open TCP connections; at the limit the longest silent one (60 s or "
                         "more) is closed for a new one",
                         1, 65536);
    config::add_unsigned(app, "--tcp-idle-timeout", c.listener.tcp_idle_timeout_s,
                         "seconds of silence before a TCP connection is closed, 0 = never", 0,
                         kWeek);

    std::uint64_t template_lifetime_s = c.processor.udp_template_lifetime_ns / kNsPerSecond;
    std::uint64_t session_idle_s = c.processor.udp_session_idle_ns / kNsPerSecond;
    std::uint64_t exporter_silent_s = c.routes.exporter_silent_ns / kNsPerSecond;
    auto series_ttl_s = static_cast<std::uint64_t>(c.metrics.series_ttl.count());
    config::add_unsigned(app, "--udp-template-lifetime", template_lifetime_s,
                         "seconds a UDP template lives without a refresh", 1, kWeek);
    config::add_unsigned(app, "--udp-session-idle", session_idle_s,
                         "seconds before an idle UDP exporter is forgotten", 1, kWeek);
    config::add_unsigned(app, "--max-sessions", c.processor.max_sessions,
                         "UDP exporters plus TCP connections; a full table evicts the least "
                         "recently used UDP exporter",
                         1, 1u << 20);
    config::add_unsigned(app, "--max-domains-per-session", c.processor.max_domains_per_session, "",
                         1, 1u << 16);
    config::add_unsigned(app, "--max-templates", c.processor.max_templates_per_domain,
                         "templates per (session, domain)", 1, 1u << 16);
    config::add_unsigned(app, "--max-template-bytes", c.processor.max_template_bytes_per_session,
                         "octets the templates of one session may occupy", 4096, 1u << 30);
    config::add_unsigned(app, "--max-template-fields", c.processor.max_template_fields, "", 1,
                         65535);
    config::add_unsigned(
        app, "--reorder-window", c.processor.reorder_window,
        "records: backward sequence jumps up to this are reordering, beyond are restarts", 0,
        1u << 30);
    config::add_unsigned(app, "--max-sequence-gap", c.processor.max_sequence_gap,
                         "records: forward sequence jumps up to this are losses, beyond are "
                         "restarts",
                         1, 1u << 30);

    app.add_option("--db,--store", c.store.path,
                   "store: sqlite:PATH, a SQLite file PATH, or "
                   "clickhouse://HOST:PORT/DATABASE[?PARAMS] (PARAMS joined by &: cluster=NAME, "
                   "collector=N, secure=1, ca=FILE, compress=0|1)")
        ->capture_default_str();
    app.add_option("--store-password-file", c.store.password_file,
                   "file whose first line is the store server's password (else "
                   "IOAM_CLICKHOUSE_PASSWORD; the user is IOAM_CLICKHOUSE_USER, else default)");
    config::add_unsigned(app, "--queue-size", c.store.queue_capacity,
                         "records waiting for the writer", 1, kMaxCount);
    config::add_unsigned(app, "--queue-bytes", c.store.queue_bytes,
                         "octets the queued records may hold", 1u << 16, std::uint64_t{1} << 40);
    config::add_unsigned(app, "--batch-size", c.store.batch_size, "records per transaction", 1,
                         kMaxCount);
    config::add_unsigned(app, "--retention-age", c.store.retention_age_s, "seconds, 0 = forever", 0,
                         100 * 52 * kWeek);
    config::add_unsigned(app, "--retention-size", c.store.retention_max_bytes,
                         "octets, 0 = unlimited, else at least 1 MiB", 0);
    config::add_unsigned(app, "--retention-interval", c.store.retention_interval_s, "seconds", 1,
                         kWeek);
    config::add_unsigned(app, "--store-stop-timeout", c.store.stop_timeout_s,
                         "seconds a store that cannot write is retried at shutdown (and a "
                         "back-pressured exporter waited for) before what is left is counted "
                         "as lost",
                         1, 3600);

    app.add_option("--http-listen", c.http.listen, "HTTP API and /metrics address")
        ->capture_default_str();
    std::uint64_t http_header_timeout_s = to_seconds(c.http.header_timeout);
    std::uint64_t http_request_timeout_s = to_seconds(c.http.request_timeout);
    std::uint64_t http_idle_timeout_s = to_seconds(c.http.idle_timeout);
    config::add_unsigned(app, "--http-max-connections", c.http.max_connections, "in total", 1,
                         kMaxCount);
    config::add_unsigned(app, "--http-max-connections-per-client",
                         c.http.max_connections_per_client, "per client IP address", 1, kMaxCount);
    config::add_unsigned(app, "--http-header-timeout", http_header_timeout_s,
                         "seconds from a request's first octet to its last header line", 1,
                         kMaxTimeoutSeconds);
    config::add_unsigned(app, "--http-request-timeout", http_request_timeout_s,
                         "seconds to receive a whole request, and to send its response", 1,
                         kMaxTimeoutSeconds);
    config::add_unsigned(app, "--http-idle-timeout", http_idle_timeout_s,
                         "seconds a keep-alive connection may wait for its next request", 1,
                         kMaxTimeoutSeconds);
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
    config::add_unsigned(app, "--api-max-limit", c.routes.max_limit, "largest 'limit' accepted", 1,
                         kMaxCount);
    config::add_unsigned(app, "--api-max-response", c.routes.max_response_bytes, "octets", 4096,
                         std::uint64_t{1} << 30);
    config::add_unsigned(app, "--exporter-silent", exporter_silent_s,
                         "seconds without a message before an exporter is shown as silent", 1,
                         kWeek);

    config::add_unsigned(app, "--max-series", c.metrics.max_series_per_family,
                         "label sets per family", 1, kMaxCount);
    config::add_unsigned(app, "--max-exporters", c.metrics.max_exporters, "exporter label values",
                         1, kMaxCount);
    config::add_unsigned(app, "--max-dex-flows", c.metrics.max_dex_flows,
                         "(flow, node) series for DEX loss", 1, kMaxCount);
    config::add_unsigned(app, "--metrics-series-ttl", series_ttl_s,
                         "seconds without an update before a label set leaves /metrics and "
                         "frees its place under the caps (0: never)",
                         0, kWeek);

    double correlation_window_s = static_cast<double>(c.correlator.window_ns) / kNsPerSecond;
    app.add_option("--correlation-window", correlation_window_s,
                   "seconds to wait for the reports of a packet from every node of its path")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    config::add_unsigned(app, "--correlation-max-pending", c.correlator.max_pending,
                         "packets awaiting their reports; the oldest is closed early beyond it", 1,
                         kMaxCount);
    config::add_unsigned(app, "--correlation-max-bytes", c.correlator.max_bytes,
                         "octets of correlator state (pending packets, closed keys, learned "
                         "paths)",
                         1u << 16, std::uint64_t{1} << 40);
    config::add_unsigned(app, "--correlation-max-paths", c.correlator.max_paths,
                         "path prefixes (and nodes) the correlator learns", 1, kMaxCount);

    std::string fraction = "us";
    app.add_option("--timestamp-fraction", fraction,
                   "unit of the IOAM timestamp fraction: us (Linux, POSIX), ns (PTP), ntp")
        ->check(CLI::IsMember({"us", "ns", "ntp"}))
        ->capture_default_str();
    app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    log::add_options(app, c.log_output);

    try {
        app.parse(argc, argv);
        if (c.store.retention_max_bytes != 0 && c.store.retention_max_bytes < kMinRetentionBytes) {
            throw CLI::ValidationError("--retention-size",
                                       "below 1 MiB; a database smaller than that cannot hold its "
                                       "own schema and a batch (0 = unlimited)");
        }
    } catch (const CLI::ParseError& e) {
        return config::report(app, e, "ioam-collector");
    }
    c.processor.udp_template_lifetime_ns = template_lifetime_s * kNsPerSecond;
    c.processor.udp_session_idle_ns = session_idle_s * kNsPerSecond;
    c.routes.exporter_silent_ns = exporter_silent_s * kNsPerSecond;
    c.metrics.series_ttl = std::chrono::seconds(series_ttl_s);
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
