#pragma once
// A recorded IPFIX stream: a file of whole IPFIX messages (RFC 7011) back to back, as one
// exporter sent them over UDP (one observation domain, sequence numbers counting data records).
// The last message carries no data set (a template refresh), so its sequence number is the
// number of data records in the file: what a replayer adds per loop to keep the sequence
// continuous. Record fields that would repeat on every loop are found through the templates
// (patches): observationTimeNanoseconds moves on by the recording's time span per loop, so times
// keep rising as a live exporter's do, and ioamDexSequenceNumber by its flow's sequence span, so
// each DEX flow stays gapless.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/util/result.hpp"

namespace ioam::bench::replay {

inline constexpr std::uint16_t kIpfixVersion = 10;
inline constexpr std::size_t kHeaderLength = 16;
inline constexpr std::size_t kExportTimeOffset = 4;
inline constexpr std::size_t kSequenceOffset = 8;
inline constexpr std::size_t kDomainOffset = 12;

// A big-endian integer field of `width` octets (4 or 8) that grows by `step` per loop.
struct Patch {
    std::size_t offset = 0;  // into the message
    std::uint64_t step = 0;
    std::uint8_t width = 0;
};

struct RecordedMessage {
    std::size_t offset = 0;      // into Recording::bytes
    std::size_t length = 0;      // octets
    std::uint32_t sequence = 0;  // as recorded
    std::vector<Patch> patches;
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
// inside its message, one observation domain, sequence numbers not decreasing, records that
// fit their templates, and a last message without data sets. Errc::bad_ipfix (truncated,
// unknown_template) otherwise, and on an empty input.
Result<Recording> parse_recording(std::vector<std::uint8_t> bytes);

// Reads and parses a file; Errc::invalid_argument when it cannot be read.
Result<Recording> load_recording(const std::string& path);

// Big-endian field access.
std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) noexcept;
void write_u32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept;

// Adds `loops` times each patch's step to the fields of `message`, a copy of recorded `m`.
void apply_patches(const RecordedMessage& m, std::uint64_t loops,
                   std::span<std::uint8_t> message) noexcept;

// Cycles over a recording, producing each message as the next one in a continuous stream:
// message sequence numbers, record times and DEX sequence numbers carry on across loops.
class Stream {
  public:
    explicit Stream(const Recording& r) : r_(r) {}

    // Copies the next message into `out` (at least largest_message octets); returns its size.
    std::size_t next(std::span<std::uint8_t> out, std::uint32_t export_time) noexcept;
    std::uint64_t records() const noexcept { return records_; }  // of the messages produced
    std::uint64_t loops() const noexcept { return loops_; }      // passes over the recording

  private:
    const Recording& r_;
    std::size_t index_ = 0;
    std::uint32_t base_ = 0;  // wraps modulo 2^32 as RFC 7011 sequence numbers do
    std::uint64_t loops_ = 0;
    std::uint64_t records_ = 0;
};

}  // namespace ioam::bench::replay
