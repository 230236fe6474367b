#pragma once
// Big-endian (network order) loads, for every decoder of wire formats (IPFIX, IOAM). Written
// octet by octet, which compilers turn into one load and a byte swap.

#include <cstdint>

namespace ioam {

inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

}  // namespace ioam
