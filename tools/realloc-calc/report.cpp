#include "tools/realloc-calc/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ioam::realloc {
namespace {

// "2: +64 +64 -> 78": reallocations, the nhead of each, and the headroom left at the driver.
std::string cell(const Outcome& o) {
    std::string s = std::to_string(o.expansions.size());
    if (!o.expansions.empty()) {
        s += ':';
    }
    for (const Expansion& x : o.expansions) {
        s += fmt::format(" +{}", x.nhead);
    }
    return s + fmt::format(" -> {}", o.headroom_after);
}

std::string size_text(const Encap& e) {
    std::string s = std::to_string(e.size);
    if (e.proto == Proto::srv6 && e.hmac) {
        s += " hmac";
    } else if (e.proto == Proto::rpl) {
        s += fmt::format(" ({}/{})", e.cmpri, e.cmpre);
    }
    return s;
}

void end_line(std::string& s) {
    s.erase(s.find_last_not_of(' ') + 1);
    s += '\n';
}

nlohmann::json outcome_json(const Outcome& o) {
    auto expansions = nlohmann::json::array();
    for (const Expansion& x : o.expansions) {
        expansions.push_back({{"site", to_string(x.site)},
                              {"headroom", x.headroom},
                              {"needed", x.needed},
                              {"nhead", x.nhead}});
    }
    return {{"reallocations", o.expansions.size()},
            {"reallocated_twice", o.reallocated_twice()},
            {"headroom_after", o.headroom_after},
            {"expansions", std::move(expansions)}};
}

}  // namespace

bool Case::reallocated_twice() const {
    return std::ranges::any_of(
        kernels, [](const KernelOutcome& k) { return k.outcome.reallocated_twice(); });
}

std::vector<Encap> sweep(const std::optional<Proto>& proto, const Encap& shape) {
    std::vector<Encap> out;
    for (Proto p : {Proto::ioam, Proto::srv6, Proto::rpl}) {
        if (proto && *proto != p) {
            continue;
        }
        for (Mode m : modes_of(p)) {
            Encap e = shape;
            e.proto = p;
            e.mode = m;
            for (unsigned size : sweep_sizes(e)) {
                e.size = size;
                out.push_back(e);
            }
        }
    }
    return out;
}

std::vector<Case> evaluate(const std::vector<Encap>& encaps, const Host& host,
                           const std::vector<Kernel>& kernels, Packet packet) {
    std::vector<Case> cases;
    cases.reserve(encaps.size());
    for (const Encap& e : encaps) {
        Case c{e, overhead(e), {}};
        for (Kernel k : kernels) {
            c.kernels.push_back({k, simulate(e, host, k, packet)});
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

nlohmann::json to_json(const std::vector<Case>& cases) {
    auto out = nlohmann::json::array();
    for (const Case& c : cases) {
        nlohmann::json j = {{"proto", to_string(c.encap.proto)},
                            {"mode", to_string(c.encap.mode)},
                            {"size", c.encap.size},
                            {"overhead", c.overhead}};
        if (c.encap.proto == Proto::srv6) {
            j["hmac"] = c.encap.hmac;
        } else if (c.encap.proto == Proto::rpl) {
            j["cmpri"] = c.encap.cmpri;
            j["cmpre"] = c.encap.cmpre;
        }
        nlohmann::json kernels = nlohmann::json::object();
        for (const KernelOutcome& k : c.kernels) {
            kernels[std::string(to_string(k.kernel))] = outcome_json(k.outcome);
        }
        j["kernels"] = std::move(kernels);
        out.push_back(std::move(j));
    }
    return out;
}

std::string to_table(const std::vector<Case>& cases, const Host& host, Packet packet) {
    std::string out = fmt::format(
        "# headroom {}, mac_len {}, cache line {} (NET_SKB_PAD {}), LL_RESERVED_SPACE route {} "
        "tunnel {}{}, {} packet\n",
        host.headroom, host.mac_len, host.cache_line, net_skb_pad(host.cache_line),
        ll_reserved_space(host.route_dev), ll_reserved_space(host.tunnel_dev),
        host.header_cloned ? ", header cloned" : "",
        packet == Packet::first ? "first (empty dst cache)" : "cached-route");
    out += "# cells: reallocations: nhead of each -> headroom at the driver; * = twice\n";
    out += fmt::format("{:<5} {:<11} {:>10} {:>8}", "proto", "mode", "size", "overhead");
    if (!cases.empty()) {
        for (const KernelOutcome& k : cases.front().kernels) {
            out += fmt::format("  {:<22}", to_string(k.kernel));
        }
    }
    end_line(out);
    for (const Case& c : cases) {
        out += fmt::format("{:<5} {:<11} {:>10} {:>8}", to_string(c.encap.proto),
                           to_string(c.encap.mode), size_text(c.encap), c.overhead);
        for (const KernelOutcome& k : c.kernels) {
            out += fmt::format("  {}{:<21}", k.outcome.reallocated_twice() ? '*' : ' ',
                               cell(k.outcome));
        }
        end_line(out);
    }
    return out;
}

}  // namespace ioam::realloc
