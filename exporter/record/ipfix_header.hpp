#pragma once
// The IPFIX message header's sequence number (RFC 7011 section 3.1, octets 8-11), for
// transports that replay buffered messages behind template messages built later.

#include <cstdint>
#include <span>

namespace ioam::exporter::record {

inline constexpr std::size_t kMessageHeaderLength = 16;

inline std::uint32_t message_sequence(std::span<const std::uint8_t> m) noexcept {
    if (m.size() < kMessageHeaderLength) {
        return 0;
    }
    return static_cast<std::uint32_t>(m[8]) << 24 | static_cast<std::uint32_t>(m[9]) << 16 |
           static_cast<std::uint32_t>(m[10]) << 8 | m[11];
}

inline void set_message_sequence(std::span<std::uint8_t> m, std::uint32_t sequence) noexcept {
    if (m.size() < kMessageHeaderLength) {
        return;
    }
    for (std::size_t i = 0; i < 4; ++i) {
        m[8 + i] = static_cast<std::uint8_t>(sequence >> (24 - 8 * i));
    }
}

}  // namespace ioam::exporter::record
