#include "common/ioam/trace_type.hpp"

#include <bit>

namespace ioam::trace_type {

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
    return static_cast<std::uint8_t>(std::popcount(type & kShortFieldsMask) +
                                     2 * std::popcount(type & kWideFieldsMask));
}

}  // namespace ioam::trace_type
