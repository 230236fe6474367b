#include "common/ioam/trace_type.hpp"

#include <array>

namespace ioam::trace_type {
namespace {

// Set bits of each octet value. std::popcount becomes a libgcc call unless the build targets
// a CPU with POPCNT, which the project does not assume.
constexpr std::array<std::uint8_t, 256> kOctetBits = [] {
    std::array<std::uint8_t, 256> bits{};
    for (unsigned v = 1; v < 256; ++v) {
        bits[v] = static_cast<std::uint8_t>(bits[v >> 1] + (v & 1u));
    }
    return bits;
}();

unsigned popcount24(std::uint32_t v) {
    return kOctetBits[v & 0xffu] + kOctetBits[(v >> 8) & 0xffu] + kOctetBits[(v >> 16) & 0xffu];
}

}  // namespace

Status validate(std::uint32_t type) noexcept {
    if (type == 0 || (type & ~kMask) != 0) {
        return Errc::invalid_argument;
    }
    if ((type & (kUndefinedMask | kReservedMask)) != 0) {
        return Errc::reserved_bits_set;
    }
    return Ok{};
}

std::uint8_t node_len(std::uint32_t type) noexcept {
    // At most 19 short fields and 3 wide ones: 25 units, always within the 5-bit NodeLen.
    return static_cast<std::uint8_t>(popcount24(type & kShortFieldsMask) +
                                     2 * popcount24(type & kWideFieldsMask));
}

}  // namespace ioam::trace_type
