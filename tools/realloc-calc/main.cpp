// ioam-realloc-calc: predicts, from the host's socket-buffer headroom, cache line and devices,
// how many times Linux reallocates a packet's buffer when an IOAM, SRv6 or RPL lightweight
// tunnel adds its headers, on kernels without and with the 2-realloc fix.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/version/version.hpp"
#include "tools/realloc-calc/report.hpp"

namespace {

using namespace ioam::realloc;

struct Options {
    Host host;
    std::optional<unsigned> tunnel_hard_header_len;
    std::optional<unsigned> tunnel_needed_headroom;
    std::string ioam_mode, srv6_mode, sweep, kernel = "both", packet = "cached", format = "table";
    bool rpl = false, all_rows = false;
    std::optional<unsigned> pto, segments;
    std::vector<std::string> rpl_addrs;
    std::string rpl_daddr;
    Encap shape;
};

void add_options(CLI::App& app, Options& o) {
    app.add_option("--headroom", o.host.headroom,
                   "skb headroom when the tunnel starts (e.g. 206: i40e, 192 + Ethernet)")
        ->required();
    app.add_option("--mac-len", o.host.mac_len, "skb->mac_len: 14 forwarded, 0 local")
        ->capture_default_str();
    app.add_option("--cache-line", o.host.cache_line, "L1 cache line bytes (NET_SKB_PAD)")
        ->capture_default_str();
    app.add_flag("--header-cloned", o.host.header_cloned,
                 "another holder shares the packet's data (e.g. a packet socket such as tcpdump "
                 "on the ingress device queued a clone): the first skb_cow_head() copies it");
    app.add_option("--hard-header-len", o.host.route_dev.hard_header_len, "route's device")
        ->capture_default_str();
    app.add_option("--needed-headroom", o.host.route_dev.needed_headroom, "route's device")
        ->capture_default_str();
    app.add_option("--tunnel-hard-header-len", o.tunnel_hard_header_len,
                   "device towards the new destination (default: the route's)");
    app.add_option("--tunnel-needed-headroom", o.tunnel_needed_headroom,
                   "device towards the new destination (default: the route's)");

    app.add_option("--ioam", o.ioam_mode, "IOAM mode")->check(CLI::IsMember({"inline", "encap"}));
    app.add_option("--pto", o.pto, "IOAM pre-allocated trace bytes, 4..244 by 4");
    app.add_option("--srv6", o.srv6_mode, "SRv6 mode")
        ->check(CLI::IsMember({"encap", "inline", "l2encap", "encap.red", "l2encap.red"}));
    app.add_flag("--hmac", o.shape.hmac, "SRv6: the SRH carries an HMAC TLV");
    app.add_flag("--rpl", o.rpl, "RPL (inline)");
    app.add_option("--segments", o.segments, "SRv6/RPL: segments as listed in `ip route`");
    app.add_option("--cmpri", o.shape.cmpri, "RPL: prefix octets elided, all but last (0..15)")
        ->capture_default_str();
    app.add_option("--cmpre", o.shape.cmpre, "RPL: prefix octets elided, last (0..15)")
        ->capture_default_str();
    app.add_option("--rpl-segs", o.rpl_addrs,
                   "RPL: the segment addresses (sets --segments, "
                   "--cmpri and --cmpre as the kernel compresses)")
        ->delimiter(',');
    app.add_option("--rpl-daddr", o.rpl_daddr, "RPL: the packets' destination, with --rpl-segs");
    app.add_option("--sweep", o.sweep, "every mode and size of a protocol")
        ->check(CLI::IsMember({"ioam", "srv6", "rpl", "all"}));
    app.add_flag("--all-rows", o.all_rows, "sweep: also rows without a double reallocation");

    app.add_option("--kernel", o.kernel, "kernel variant")
        ->check(CLI::IsMember({"unpatched", "patched", "both"}))
        ->capture_default_str();
    app.add_option("--packet", o.packet, "first: the route's dst cache is empty")
        ->check(CLI::IsMember({"cached", "first"}))
        ->capture_default_str();
    app.add_option("--format", o.format, "output")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
}

// The one encapsulation given on the command line, or why there is none.
std::optional<Encap> single_encap(Options& o, std::string& error) {
    const int chosen = !o.ioam_mode.empty() + !o.srv6_mode.empty() + o.rpl;
    if (chosen != 1) {
        error =
            "give one of --ioam MODE --pto N, --srv6 MODE --segments N, --rpl --segments N, "
            "or --sweep PROTO";
        return std::nullopt;
    }
    Encap e = o.shape;
    if (!o.ioam_mode.empty()) {
        e.proto = Proto::ioam;
        e.mode = *parse_mode(o.ioam_mode);
        e.size = o.pto.value_or(0);
    } else {
        e.proto = o.rpl ? Proto::rpl : Proto::srv6;
        e.mode = o.rpl ? Mode::inline_mode : *parse_mode(o.srv6_mode);
        e.size = o.segments.value_or(0);
    }
    if (!o.rpl_addrs.empty()) {
        const auto c = rpl_compression(o.rpl_addrs, o.rpl_daddr);
        if (!c || !o.rpl) {
            error = "--rpl-segs needs --rpl and valid IPv6 addresses, with --rpl-daddr";
            return std::nullopt;
        }
        e.size = static_cast<unsigned>(o.rpl_addrs.size());
        e.cmpri = c->cmpri;
        e.cmpre = c->cmpre;
    }
    if (auto why = invalid(e)) {
        error = *why;
        return std::nullopt;
    }
    return e;
}

std::vector<Kernel> kernels_of(const std::string& k) {
    if (k == "both") {
        return {Kernel::unpatched, Kernel::patched};
    }
    return {k == "patched" ? Kernel::patched : Kernel::unpatched};
}

int run(Options& o) {
    o.host.tunnel_dev = {o.tunnel_hard_header_len.value_or(o.host.route_dev.hard_header_len),
                         o.tunnel_needed_headroom.value_or(o.host.route_dev.needed_headroom)};
    if (auto why = invalid(o.host)) {
        std::cerr << "ioam-realloc-calc: " << *why << "\n";
        return 2;
    }
    std::vector<Encap> encaps;
    if (!o.sweep.empty()) {
        const auto proto = o.sweep == "all" ? std::nullopt : parse_proto(o.sweep);
        encaps = sweep(proto, o.shape);
    } else {
        std::string error;
        const auto e = single_encap(o, error);
        if (!e) {
            std::cerr << "ioam-realloc-calc: " << error << "\n";
            return 2;
        }
        encaps.push_back(*e);
    }
    const Packet packet = o.packet == "first" ? Packet::first : Packet::cached;
    auto cases = evaluate(encaps, o.host, kernels_of(o.kernel), packet);
    if (!o.sweep.empty() && !o.all_rows) {
        std::erase_if(cases, [](const Case& c) { return !c.reallocated_twice(); });
    }
    if (o.format == "json") {
        std::cout << to_json(cases).dump(1) << "\n";
    } else {
        std::cout << to_table(cases, o.host, packet);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Predicts the socket-buffer reallocations of IPv6 lightweight tunnels "
        "(IOAM, SRv6, RPL) on Linux kernels without and with the 2-realloc fix."};
    Options o;
    add_options(app, o);
    ioam::version::add_standard_flags(app, "ioam-realloc-calc");
    CLI11_PARSE(app, argc, argv);
    return run(o);
}
