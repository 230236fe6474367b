#include "exporter/config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>

#include "common/config/config_file.hpp"
#include "common/version/version.hpp"
#include "exporter/netlink/netns.hpp"

namespace ioam::exporter {
std::optional<std::uint32_t> parse_sample(const std::string& text) {
    if (!text.starts_with("1/")) {
        return std::nullopt;
    }
    std::uint32_t n = 0;
    const char* begin = text.data() + 2;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(begin, end, n);
    if (ec != std::errc{} || p != end || n == 0) {
        return std::nullopt;
    }
    return n;
}

std::optional<int> parse_config(int argc, const char* const* argv, ExporterConfig& out) {
    CLI::App app{"ioam-exporter: Linux kernel IOAM events (generic netlink IOAM6) to IPFIX"};
    config::add_config_file(app, "Config file: `key = value` lines or a JSON object");
    version::add_standard_flags(app, "ioam-exporter");

    std::vector<std::string> collectors;
    std::string sample = "1/1";
    std::string print = "none";
    std::uint64_t flush_ms = static_cast<std::uint64_t>(out.flush_interval.count());
    std::uint64_t refresh_s = static_cast<std::uint64_t>(out.template_refresh.count());
    bool no_hops = !out.hop_list;
    std::string metrics;

    app.add_option("--collector", collectors,
                   "IPFIX collector udp://HOST:PORT or tcp://HOST:PORT (IPv6: udp://[::1]:4739); "
                   "repeatable");
    config::add_unsigned(app, "--domain-id", out.domain_id, "IPFIX observation domain id", 0);
    config::add_unsigned(app, "--mtu", out.mtu, "Largest IPFIX message, octets", 64, 65535);
    config::add_unsigned(app, "--flush-interval", flush_ms, "Send a partly filled message after MS",
                         1, 60'000);
    config::add_unsigned(app, "--template-refresh", refresh_s,
                         "UDP: resend templates every S seconds", 1, 86'400);
    app.add_option("--sample", sample, "Export one event in N: 1/N")->capture_default_str();
    app.add_flag("--no-hops", no_hops, "Trace records without the subTemplateList of hops");
    app.add_option("--print", print, "Also print events on stdout: json or none")
        ->check(CLI::IsMember({"json", "none"}))
        ->capture_default_str();
    app.add_option("--metrics-listen", metrics, "Serve GET /metrics on ADDR:PORT");
    app.add_option("--log-level", out.log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
        ->capture_default_str();
    log::add_options(app, out.log_output);
    app.add_option("--netns", out.netns,
                   "Listen to the IOAM events of this network namespace (ip netns name or "
                   "path); IPFIX still leaves from the exporter's own");
    app.add_option("--rcvbuf", out.rcvbuf, "Netlink socket receive buffer, octets")
        ->check(config::unsigned_range(64 * 1024, 1 << 30))
        ->capture_default_str();
    config::add_unsigned(app, "--tcp-buffer", out.tcp_buffer,
                         "Octets kept per collector while it is unreachable (TCP) or while "
                         "templates are resent after an error (UDP)",
                         64 * 1024, std::size_t{1} << 30);

    try {
        app.parse(argc, argv);
        for (const auto& c : collectors) {
            auto uri = sink::parse_collector_uri(c);
            if (!uri) {
                throw CLI::ValidationError("--collector", "malformed collector address: " + c);
            }
            out.collectors.push_back(*uri);
        }
        const auto n = parse_sample(sample);
        if (!n) {
            throw CLI::ValidationError("--sample", "expected 1/N with N >= 1, got " + sample);
        }
        out.sample_one_in = *n;
        out.print_json = print == "json";
        if (out.collectors.empty() && !out.print_json) {
            throw CLI::ValidationError("--collector",
                                       "nothing to export to: give --collector or --print json");
        }
        out.flush_interval = std::chrono::milliseconds(flush_ms);
        out.template_refresh = std::chrono::seconds(refresh_s);
        out.hop_list = !no_hops;
        if (!metrics.empty()) {
            out.metrics_listen = metrics;
        }
        if (auto why = netlink::netns_problem(out.netns)) {
            throw CLI::ValidationError("--netns", *why);
        }
    } catch (const CLI::ParseError& e) {
        return config::report(app, e, "ioam-exporter");
    }
    return std::nullopt;
}

}  // namespace ioam::exporter
