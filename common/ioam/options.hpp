#pragma once
// IOAM option encoders/decoders: the Pre-allocated Trace option (RFC 9197 section 4.4,
// RFC 9486) and the Direct Exporting option (RFC 9326), inside the IPv6 IOAM option
// (type 0x31) of a Hop-by-Hop Options header (RFC 8200, RFC 9486).

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam {

inline constexpr std::uint8_t kIpv6OptIoam = 0x31;    // IPv6 option type for IOAM
inline constexpr std::uint8_t kIoamTypePrealloc = 0;  // IOAM option type: Pre-allocated Trace
inline constexpr std::uint8_t kIoamTypeDex = 4;       // IOAM option type: Direct Exporting
inline constexpr std::size_t kMaxTraceDataOctets = 244;  // kernel IOAM6_TRACE_DATA_SIZE_MAX

// Pre-allocated Trace option header + its data space (filled part at the end).
struct PtoOption {
    std::uint16_t namespace_id = 0;
    std::uint8_t node_len = 0;       // 5 bits, 4-octet units
    std::uint8_t flags = 0;          // 4 bits, bit 0 (MSB) = overflow
    std::uint8_t remaining_len = 0;  // 7 bits, 4-octet units still free
    std::uint32_t trace_type = 0;    // 24 bits
    std::vector<std::uint8_t> data; // the whole pre-allocated space, multiple of 4
    bool operator==(const PtoOption&) const = default;
};

// Direct Exporting option (RFC 9326 section 3.2).
struct DexOption {
    std::uint16_t namespace_id = 0;
    std::uint8_t flags = 0;
    std::uint8_t ext_flags = 0;      // bit 0 (MSB) flow id present, bit 1 sequence number
    std::uint32_t trace_type = 0;    // 24 bits
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence_number;
    bool operator==(const DexOption&) const = default;
};

using IoamOption = std::variant<PtoOption, DexOption>;

// Option *data* codecs: the octets after the IPv6 option type and length octets, starting
// with the IOAM reserved octet and the IOAM option type.
std::vector<std::uint8_t> encode_option_data(const IoamOption& option);
Result<IoamOption> decode_option_data(std::span<const std::uint8_t> option_data);

// The filled node data of a PTO (from data + remaining_len * 4 to the end), as the kernel's
// event would carry it.
std::span<const std::uint8_t> filled_data(const PtoOption& pto) noexcept;

// A Hop-by-Hop Options header holding IOAM options, laid out with RFC 8200 alignment (4n for
// IOAM, Pad1/PadN, total length a multiple of 8). next_header is the protocol that follows.
Result<std::vector<std::uint8_t>> build_hop_by_hop(std::uint8_t next_header,
                                                  std::span<const IoamOption> options);

struct HopByHop {
    std::uint8_t next_header = 0;
    std::vector<IoamOption> options;  // IOAM options in header order; other options skipped
};
Result<HopByHop> parse_hop_by_hop(std::span<const std::uint8_t> header);

}  // namespace ioam
