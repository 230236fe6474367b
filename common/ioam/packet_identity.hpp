#pragma once
// Which packet an IOAM report is about, as every node on the path can tell it without talking
// to the others: the oldest hop of a Pre-allocated Trace is written by the first node and
// carried unchanged to the last, and DEX reports of one packet share flow id and sequence
// number (RFC 9326 section 3.2). Exporters sample on it so that every node keeps the same
// packets (consistent, hash-based selection in the sense of RFC 5475 section 6.2.3).

#include <cstdint>
#include <optional>

#include "common/model/ioam_trace.hpp"

namespace ioam {

// A 64-bit hash of the packet's identity, or nullopt when the report cannot tell it: a trace
// without a timestamped, identified oldest hop (every packet of a flow would look the same),
// or a DEX report without a flow id and a sequence number.
std::optional<std::uint64_t> packet_identity(const IoamTrace& trace) noexcept;
std::optional<std::uint64_t> packet_identity(const DexReport& report) noexcept;

// True when the packet falls in the kept 1/N of the hash space; the same answer on every node.
constexpr bool keep_one_in(std::uint64_t identity, std::uint32_t n) noexcept {
    return n <= 1 || identity % n == 0;
}

}  // namespace ioam
