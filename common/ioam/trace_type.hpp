#pragma once
// IOAM-Trace-Type (RFC 9197 section 4.4.1): 24 bits, bit 0 is the most significant.

#include <cstdint>

#include "common/util/result.hpp"

namespace ioam::trace_type {

// The value of RFC bit n (0..23) inside the 24-bit field.
constexpr std::uint32_t bit(unsigned n) {
    return 0x800000u >> n;
}

// The 24-bit field from a 32-bit word whose top 24 bits hold it (the kernel's
// IOAM6_EVENT_ATTR_TRACE_TYPE, and the trace type word of the PTO and DEX headers).
constexpr std::uint32_t from_word(std::uint32_t word) {
    return word >> 8;
}

inline constexpr std::uint32_t kMask = 0xffffffu;
// Bits 0-11 and 22 carry defined data fields.
inline constexpr std::uint32_t kDefinedMask = 0xfff002u;
// Bits 12-21: "undefined" data fields, 4 octets each when set (RFC 9197: filled with all ones).
inline constexpr std::uint32_t kUndefinedMask = 0x000ffcu;
// Bit 23: reserved, zero on transmission, ignored on receipt.
inline constexpr std::uint32_t kReservedMask = 0x000001u;
// The kernel's node length masks (net/ipv6/ioam6.c ioam6_trace_compute_nodelen, since commit
// 6db8b56eed62 "ipv6: ioam: fix heap buffer overflow in __ioam6_fill_trace_data()"), on the
// 24-bit value: every 4-octet field, i.e. bits 0-7, 11 and the undefined bits 12-21.
inline constexpr std::uint32_t kShortFieldsMask = 0xff1ffcu;
inline constexpr std::uint32_t kWideFieldsMask = 0x00e000u;  // bits 8-10, 8 octets each
inline constexpr std::uint32_t kOpaqueStateBit = 0x000002u;  // bit 22, not part of NodeLen

// Accepts what the kernel accepts for an encapsulating node (ioam6_validate_trace_hdr):
// non-zero and within 24 bits (else invalid_argument), no undefined (12-21) and no reserved
// (23) bit (else reserved_bits_set).
Status validate(std::uint32_t type) noexcept;

// NodeLen in 4-octet units exactly as the kernel computes it: 4-octet fields (including the
// undefined bits 12-21, which every node fills with all ones) count 1, wide fields 2; the
// reserved bit 23 and the opaque state snapshot (bit 22) count nothing. Bits above the
// 24-bit field are ignored.
std::uint8_t node_len(std::uint32_t type) noexcept;

}  // namespace ioam::trace_type
