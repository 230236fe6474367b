#pragma once
// IOAM-Trace-Type (RFC 9197 section 4.4.1): 24 bits, bit 0 is the most significant.

#include <cstdint>

#include "common/util/result.hpp"

namespace ioam::trace_type {

// The value of RFC bit n (0..23) inside the 24-bit field.
constexpr std::uint32_t bit(unsigned n) { return 0x800000u >> n; }

inline constexpr std::uint32_t kMask = 0xffffffu;
// Bits 0-11 and 22 carry defined data fields.
inline constexpr std::uint32_t kDefinedMask = 0xfff002u;
// Bits 12-21: "undefined" data fields, 4 octets each when set (the kernel fills all ones).
inline constexpr std::uint32_t kUndefinedMask = 0x000ffcu;
// Bit 23: reserved.
inline constexpr std::uint32_t kReservedMask = 0x000001u;
// The kernel's node length masks (net/ipv6/ioam6_iptunnel.c), on the 24-bit value.
inline constexpr std::uint32_t kShortFieldsMask = 0xff1000u;  // bits 0-7 and 11
inline constexpr std::uint32_t kWideFieldsMask = 0x00e000u;   // bits 8-10
inline constexpr std::uint32_t kOpaqueStateBit = 0x000002u;   // bit 22

// Accepts what the kernel accepts for an encapsulating node: non-zero, within 24 bits,
// no undefined (12-21) and no reserved (23) bit.
Status validate(std::uint32_t type) noexcept;

// Node length in 4-octet units exactly as the kernel computes it: short fields count 1,
// wide fields 2; undefined bits and the opaque state snapshot are not counted.
std::uint8_t node_len(std::uint32_t type) noexcept;

// Node length a transit node actually writes for `type`: node_len() plus one 4-octet unit per
// undefined bit 12-21 (the kernel's fill path writes them), opaque state excluded.
std::uint8_t filled_node_len(std::uint32_t type) noexcept;

}  // namespace ioam::trace_type
