#include "collector/analysis/delay.hpp"

#include <algorithm>
#include <cmath>

namespace ioam::collector::analysis {

std::optional<FractionUnit> parse_fraction_unit(std::string_view s) noexcept {
    if (s == "us" || s == "usec" || s == "microseconds") {
        return FractionUnit::microseconds;
    }
    if (s == "ns" || s == "nsec" || s == "nanoseconds") {
        return FractionUnit::nanoseconds;
    }
    if (s == "ntp") {
        return FractionUnit::ntp;
    }
    return std::nullopt;
}

std::optional<std::int64_t> node_time_ns(const IoamNode& n, FractionUnit unit) noexcept {
    if (!n.timestamp_secs || !n.timestamp_frac) {
        return std::nullopt;
    }
    const auto frac = static_cast<std::int64_t>(*n.timestamp_frac);
    std::int64_t frac_ns = 0;
    switch (unit) {
        case FractionUnit::microseconds:
            frac_ns = frac * 1000;
            break;
        case FractionUnit::nanoseconds:
            frac_ns = frac;
            break;
        case FractionUnit::ntp:
            frac_ns = (frac * 1'000'000'000) >> 32;
            break;
    }
    return static_cast<std::int64_t>(*n.timestamp_secs) * 1'000'000'000 + frac_ns;
}

std::optional<std::uint64_t> node_identity(const IoamNode& n) noexcept {
    return identity(NodeIds{n.node_id, n.node_id_wide});
}

std::optional<std::int64_t> end_to_end_ns(std::span<const IoamNode> nodes,
                                          FractionUnit unit) noexcept {
    if (nodes.size() < 2) {
        return std::nullopt;
    }
    const auto newest = node_time_ns(nodes.front(), unit);
    const auto oldest = node_time_ns(nodes.back(), unit);
    if (!newest || !oldest) {
        return std::nullopt;
    }
    return *newest - *oldest;
}

namespace {

std::optional<std::uint64_t> identity_of(const IoamNode& n) noexcept {
    return node_identity(n);
}
std::optional<std::uint64_t> identity_of(const NodeIds& n) noexcept {
    return identity(n);
}

template <typename Node>
std::string path_key_of(std::span<const Node> nodes) {
    std::string out;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
        if (!out.empty()) {
            out += ',';
        }
        const auto id = identity_of(*it);
        out += id ? std::to_string(*id) : std::string("?");
    }
    return out;
}

}  // namespace

std::string path_key(std::span<const IoamNode> nodes) {
    return path_key_of(nodes);
}

std::string path_key(std::span<const NodeIds> nodes) {
    return path_key_of(nodes);
}

std::optional<std::int64_t> percentile(std::vector<std::int64_t>& values, double q) {
    if (values.empty()) {
        return std::nullopt;
    }
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    const std::size_t idx = rank == 0 ? 0 : std::min(rank, values.size()) - 1;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(idx),
                     values.end());
    return values[idx];
}

}  // namespace ioam::collector::analysis
