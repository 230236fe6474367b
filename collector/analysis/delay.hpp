#pragma once
// Time arithmetic on IOAM node timestamps (RFC 9197 sections 4.4.2.3-4 and 5): the fraction's
// unit is the namespace's timestamp format, so it is configuration, not data.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/model/ioam_trace.hpp"

namespace ioam::collector::analysis {

enum class FractionUnit : std::uint8_t {
    microseconds,  // POSIX format; what Linux writes (net/ipv6/ioam6.c: tv_nsec / 1000)
    nanoseconds,   // PTP truncated format
    ntp,           // NTP 64-bit format: fraction in units of 2^-32 s
};
std::optional<FractionUnit> parse_fraction_unit(std::string_view s) noexcept;

// The node's reception time in nanoseconds (seconds field as-is, fraction converted), or
// nullopt when the node did not write both fields.
std::optional<std::int64_t> node_time_ns(const IoamNode& n, FractionUnit unit) noexcept;

// The node's identity: the short node id when written, else the wide one. Short first, so
// that a node keeps one identity across traces with and without the wide field (the short id
// is the one nearly every trace type carries).
std::optional<std::uint64_t> node_identity(const IoamNode& n) noexcept;

// Newest minus oldest hop time, when both carry timestamps and there are two hops or more.
std::optional<std::int64_t> end_to_end_ns(std::span<const IoamNode> nodes,
                                          FractionUnit unit) noexcept;

// Node identities oldest first ("1,2,3"); unknown identities as "?".
std::string path_key(std::span<const IoamNode> nodes);
std::string path_key(std::span<const NodeIds> nodes);

// Nearest-rank percentile (0 < q <= 1) of unsorted values; nullopt when empty.
std::optional<std::int64_t> percentile(std::vector<std::int64_t>& values, double q);

}  // namespace ioam::collector::analysis
