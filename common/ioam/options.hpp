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

inline constexpr std::uint8_t kIpv6OptPad1 = 0x00;
inline constexpr std::uint8_t kIpv6OptPadN = 0x01;
inline constexpr std::uint8_t kIpv6OptIoam = 0x31;       // IPv6 option type for IOAM
inline constexpr std::uint8_t kIoamTypePrealloc = 0;     // IOAM option type: Pre-allocated Trace
inline constexpr std::uint8_t kIoamTypeDex = 4;          // IOAM option type: Direct Exporting
inline constexpr std::size_t kMaxTraceDataOctets = 244;  // kernel IOAM6_TRACE_DATA_SIZE_MAX
inline constexpr std::uint8_t kPtoFlagOverflow = 0x8;    // PTO flags bit 0 (of 4)
inline constexpr std::uint8_t kDexExtFlowId = 0x80;      // DEX Extension-Flags bit 0
inline constexpr std::uint8_t kDexExtSequence = 0x40;    // DEX Extension-Flags bit 1

// Pre-allocated Trace option header + its data space (filled part at the end).
struct PtoOption {
    std::uint16_t namespace_id = 0;
    std::uint8_t node_len = 0;       // 5 bits, 4-octet units
    std::uint8_t flags = 0;          // 4 bits, bit 0 (MSB, kPtoFlagOverflow) = overflow
    std::uint8_t remaining_len = 0;  // 7 bits, 4-octet units still free
    std::uint32_t trace_type = 0;    // 24 bits
    std::vector<std::uint8_t> data;  // the whole pre-allocated space, multiple of 4
    bool operator==(const PtoOption&) const = default;
};

// Direct Exporting option (RFC 9326 section 3.2). Extension-Flags bits 0 and 1 say whether
// flow_id and sequence_number are present; they must agree with the optionals.
struct DexOption {
    std::uint16_t namespace_id = 0;
    std::uint8_t flags = 0;
    std::uint8_t ext_flags = 0;    // bit 0 (MSB) flow id present, bit 1 sequence number
    std::uint32_t trace_type = 0;  // 24 bits
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence_number;
    bool operator==(const DexOption&) const = default;
};

using IoamOption = std::variant<PtoOption, DexOption>;

// Option *data* codecs: the octets after the IPv6 option type and length octets, starting
// with the IOAM reserved octet and the IOAM option type. Reserved fields are written as zero
// and ignored on decode (RFC 9197, RFC 9326).
//
// Encode errors: invalid_argument (a field wider than its bits, DEX ext flags disagreeing
// with the optionals or carrying unassigned bits, PTO remaining_len beyond the data),
// bad_option_length (PTO data not a multiple of 4), too_large (PTO data over 244 octets).
Result<std::vector<std::uint8_t>> encode_option_data(const IoamOption& option);

// Decode errors: truncated (shorter than its fixed header), unknown_option (IOAM option type
// other than PTO and DEX), bad_option_length (PTO data not a multiple of 4; DEX length not
// matching its Extension-Flags), remaining_length_overflow (RemainingLen past the data).
// DEX optional fields of unassigned Extension-Flags bits are skipped (RFC 9326 section 3.2).
Result<IoamOption> decode_option_data(std::span<const std::uint8_t> option_data);

// The filled node data of a PTO (from data + remaining_len * 4 to the end), as the kernel's
// event would carry it. Empty when remaining_len points past the data (which
// decode_option_data never returns).
std::span<const std::uint8_t> filled_data(const PtoOption& pto) noexcept;

// A Hop-by-Hop Options header holding IOAM options, laid out like the kernel does
// (net/ipv6/ioam6_iptunnel.c): each IOAM option type octet at a multiple of 4 from the header
// start (RFC 9486 alignment 4n, so the trace header is 4-octet aligned), minimal Pad1/PadN
// with zero payload before it, and Pad1/PadN at the end up to a multiple of 8 octets.
// next_header is the protocol that follows. Errors: those of encode_option_data, too_large
// (an option over 255 octets of data or a header over 2048 octets).
Result<std::vector<std::uint8_t>> build_hop_by_hop(std::uint8_t next_header,
                                                   std::span<const IoamOption> options);

struct HopByHop {
    std::uint8_t next_header = 0;
    std::vector<IoamOption> options;  // PTO and DEX options in header order; others skipped
};

// Parses the header at the start of `header` (octets after it are ignored). Checks as the
// kernel does (net/ipv6/exthdrs.c ip6_parse_tlv) plus the IOAM alignment. Errors: truncated
// (span shorter than the header length field says), bad_option_length (an option running
// past the header end), bad_padding (more than 7 consecutive padding octets, non-zero PadN
// payload), bad_alignment (an IOAM option type octet not at 4n), and the errors of
// decode_option_data. IOAM options of other IOAM types and other IPv6 options are skipped.
Result<HopByHop> parse_hop_by_hop(std::span<const std::uint8_t> header);

}  // namespace ioam
