#include "common/ioam/packet_identity.hpp"

namespace ioam {

namespace {

// SplitMix64's finaliser: every input bit reaches every output bit, so `identity % n` is
// uniform even when timestamps differ only in their low bits.
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

}  // namespace

std::optional<std::uint64_t> packet_identity(const IoamTrace& trace) noexcept {
    if (trace.nodes.empty()) {
        return std::nullopt;
    }
    const IoamNode& oldest = trace.nodes.back();
    const auto id =
        oldest.node_id ? std::optional<std::uint64_t>(*oldest.node_id) : oldest.node_id_wide;
    if (!id || !oldest.timestamp_secs || !oldest.timestamp_frac) {
        return std::nullopt;
    }
    std::uint64_t h = mix(0, trace.namespace_id);
    h = mix(h, *id);
    h = mix(h, *oldest.timestamp_secs);
    return mix(h, *oldest.timestamp_frac);
}

std::optional<std::uint64_t> packet_identity(const DexReport& report) noexcept {
    if (!report.flow_id || !report.sequence_number) {
        return std::nullopt;
    }
    std::uint64_t h = mix(1, report.namespace_id);
    h = mix(h, *report.flow_id);
    return mix(h, *report.sequence_number);
}

}  // namespace ioam
