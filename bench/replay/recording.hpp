#pragma once
// A recorded IPFIX stream: a file of whole IPFIX messages (RFC 7011) back to back, as one
// exporter sent them over UDP (one observation domain, sequence numbers counting data records).
// The last message carries no data set (a template refresh), so its sequence number is the
// number of data records in the file: what a replayer adds per loop to keep the sequence
// continuous.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/util/result.hpp"

namespace ioam::bench::replay {

inline constexpr std::uint16_t kIpfixVersion = 10;
inline constexpr std::size_t kHeaderLength = 16;

struct RecordedMessage {
    std::size_t offset = 0;      // into Recording::bytes
    std::size_t length = 0;      // octets
    std::uint32_t sequence = 0;  // as recorded
};

struct Recording {
    std::vector<std::uint8_t> bytes;
    std::vector<RecordedMessage> messages;
    std::uint32_t observation_domain = 0;
    std::uint32_t records = 0;        // data records in one pass over the file
    std::size_t largest_message = 0;  // octets

    std::span<const std::uint8_t> message(std::size_t i) const noexcept {
        return std::span(bytes).subspan(messages[i].offset, messages[i].length);
    }
};

// Splits and checks `bytes`: every message version 10 with a length that fits, set framing
// inside its message, one observation domain, sequence numbers not decreasing, and a last
// message without data sets. Errc::bad_ipfix (or truncated) otherwise, and on an empty input.
Result<Recording> parse_recording(std::vector<std::uint8_t> bytes);

// Reads and parses a file; Errc::invalid_argument when it cannot be read.
Result<Recording> load_recording(const std::string& path);

// Big-endian field access of the message header (RFC 7011 section 3.1).
std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) noexcept;
void write_u32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept;
inline constexpr std::size_t kExportTimeOffset = 4;
inline constexpr std::size_t kSequenceOffset = 8;
inline constexpr std::size_t kDomainOffset = 12;

}  // namespace ioam::bench::replay
