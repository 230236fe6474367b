// ioam-probe: sends IPv6 probes carrying an IOAM Pre-allocated Trace or DEX option, so that
// kernels without CONFIG_IPV6_IOAM6_LWTUNNEL (no `encap ioam6` routes) get IOAM traffic too.

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <iostream>

#include "common/version/version.hpp"
#include "probe/probe_config.hpp"
#include "probe/sender.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true);
}

}  // namespace

int main(int argc, char** argv) {
    using ioam::probe::ProbeConfig;
    ProbeConfig config;
    std::string trace_type = "0,1,2,3";
    double duration_s = 0;
    bool icmp = false;
    std::uint32_t flow_label = 0;
    unsigned ext_flags = config.dex_ext_flags;

    CLI::App app{
        "Send IPv6 probes carrying an IOAM trace (RFC 9197/9486) or DEX (RFC 9326) option"};
    app.add_option("destination", config.destination, "IPv6 destination address")->required();
    app.add_option("--src", config.source, "IPv6 source address to bind");
    app.add_option("-I,--interface", config.interface, "egress interface");
    app.add_flag("--icmp", icmp, "send ICMPv6 echo requests instead of UDP");
    app.add_option("--port", config.port, "UDP destination port")->capture_default_str();
    app.add_option("--ns", config.namespace_id, "IOAM namespace id")->capture_default_str();
    app.add_option("--trace-type", trace_type,
                   "RFC 9197 bits as a list (0,1,2,3) or a 24-bit hex value (0xf00000)")
        ->capture_default_str();
    app.add_option("--hops", config.hops, "nodes to pre-allocate trace space for")
        ->capture_default_str();
    app.add_option("--opaque-octets", config.opaque_octets,
                   "opaque state data per node when bit 22 is set")
        ->capture_default_str();
    app.add_flag("--dex", config.dex, "send a Direct Exporting option instead of a trace");
    app.add_option("--dex-ext-flags", ext_flags, "DEX extension flags (0x80 flow id, 0x40 seq)")
        ->capture_default_str();
    app.add_option("--flow-id", config.flow_id, "DEX flow id")->capture_default_str();
    app.add_option("--rate", config.rate, "probes per second")->capture_default_str();
    app.add_option("--count", config.count, "probes to send (0: until stopped)")
        ->capture_default_str();
    app.add_option("--duration", duration_s, "seconds to send for (0: until stopped)");
    auto* label = app.add_option("--flow-label", flow_label, "IPv6 flow label (20 bits)");
    app.add_option("--size", config.payload_size, "payload octets")->capture_default_str();
    ioam::version::add_standard_flags(app, "ioam-probe");
    CLI11_PARSE(app, argc, argv);

    config.transport = icmp ? ioam::probe::Transport::icmp : ioam::probe::Transport::udp;
    config.duration = std::chrono::milliseconds(static_cast<long long>(duration_s * 1000));
    if (label->count() > 0) {
        config.flow_label = flow_label;
    }
    if (ext_flags > 0xff) {
        std::cerr << "ioam-probe: --dex-ext-flags must fit 8 bits\n";
        return 2;
    }
    config.dex_ext_flags = static_cast<std::uint8_t>(ext_flags);
    auto type = ioam::probe::parse_trace_type(trace_type);
    if (!type) {
        std::cerr << "ioam-probe: --trace-type '" << trace_type
                  << "' is neither a list of bits 0-23 nor a 24-bit hex value\n";
        return 2;
    }
    config.trace_type = *type;
    if (auto error = ioam::probe::validate(config)) {
        std::cerr << "ioam-probe: " << *error << "\n";
        return 2;
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    try {
        ioam::probe::Sender sender(config);
        auto summary = sender.run(g_stop);
        std::cout << ioam::probe::format_summary(config, summary) << std::endl;
        return summary.errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "ioam-probe: " << e.what() << "\n";
        return 1;
    }
}
