#include "bench/replay/recording.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace ioam::bench::replay {
namespace {

std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t at) noexcept {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

// Walks the sets of one message; true when any of them is a data set (id >= 256).
Result<bool> has_data_set(std::span<const std::uint8_t> m) {
    bool data = false;
    for (std::size_t at = kHeaderLength; at < m.size();) {
        if (m.size() - at < 4) {
            return Errc::truncated;
        }
        const std::uint16_t id = read_u16(m, at);
        const std::uint16_t length = read_u16(m, at + 2);
        if (length < 4 || length > m.size() - at) {
            return Errc::bad_ipfix;
        }
        data = data || id >= 256;
        at += length;
    }
    return data;
}

}  // namespace

std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) noexcept {
    return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
           static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

void write_u32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept {
    for (std::size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
}

Result<Recording> parse_recording(std::vector<std::uint8_t> bytes) {
    Recording r;
    r.bytes = std::move(bytes);
    const std::span<const std::uint8_t> all(r.bytes);
    bool last_has_data = true;
    for (std::size_t at = 0; at < all.size();) {
        if (all.size() - at < kHeaderLength) {
            return Errc::truncated;
        }
        const std::size_t length = read_u16(all, at + 2);
        if (read_u16(all, at) != kIpfixVersion || length < kHeaderLength ||
            length > all.size() - at) {
            return Errc::bad_ipfix;
        }
        const RecordedMessage m{at, length, read_u32(all, at + kSequenceOffset)};
        const std::uint32_t domain = read_u32(all, at + kDomainOffset);
        if (!r.messages.empty() &&
            (domain != r.observation_domain || m.sequence < r.messages.back().sequence)) {
            return Errc::bad_ipfix;
        }
        const auto data = has_data_set(all.subspan(at, length));
        if (!data) {
            return data.error();
        }
        r.observation_domain = domain;
        last_has_data = *data;
        r.largest_message = std::max(r.largest_message, length);
        r.messages.push_back(m);
        at += length;
    }
    if (r.messages.empty() || last_has_data) {
        return Errc::bad_ipfix;
    }
    r.records = r.messages.back().sequence - r.messages.front().sequence;
    return r;
}

Result<Recording> load_recording(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return Errc::invalid_argument;
    }
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
    return parse_recording(std::move(bytes));
}

}  // namespace ioam::bench::replay
