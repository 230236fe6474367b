#include "common/ioam/options.hpp"

#include <bit>
#include <cstddef>
#include <type_traits>

#include "common/ioam/trace_type.hpp"
#include "common/ioam/wire.hpp"

namespace ioam {
namespace {

constexpr std::size_t kIoamHeaderOctets = 2;  // IOAM reserved octet + IOAM option type
constexpr std::size_t kPtoHeaderOctets = 8;   // namespace, NodeLen|Flags|RemainingLen, type
constexpr std::size_t kDexHeaderOctets = 8;   // namespace, flags, ext flags, type
constexpr std::size_t kMaxOptionData = 255;   // 8-bit IPv6 option length
constexpr std::size_t kMaxHeaderOctets = 2048;
constexpr std::size_t kMaxConsecutivePadding = 7;  // RFC 4942 2.1.9.5, as ip6_parse_tlv
constexpr std::uint8_t kKnownExtFlags = kDexExtFlowId | kDexExtSequence;

Result<std::vector<std::uint8_t>> encode_pto(const PtoOption& pto) {
    if (pto.node_len > 0x1f || pto.flags > 0xf || pto.remaining_len > 0x7f ||
        pto.trace_type > trace_type::kMask || pto.remaining_len * 4u > pto.data.size()) {
        return Errc::invalid_argument;
    }
    if (pto.data.size() % 4 != 0) {
        return Errc::bad_option_length;
    }
    if (pto.data.size() > kMaxTraceDataOctets) {
        return Errc::too_large;
    }
    std::vector<std::uint8_t> out;
    out.reserve(kIoamHeaderOctets + kPtoHeaderOctets + pto.data.size());
    wire::put(out, kIoamTypePrealloc, 2);
    wire::put(out, pto.namespace_id, 2);
    wire::put(out, (pto.node_len << 11) | (pto.flags << 7) | pto.remaining_len, 2);
    wire::put(out, std::uint64_t{pto.trace_type} << 8, 4);
    out.insert(out.end(), pto.data.begin(), pto.data.end());
    return out;
}

Result<std::vector<std::uint8_t>> encode_dex(const DexOption& dex) {
    const bool flags_agree =
        ((dex.ext_flags & kDexExtFlowId) != 0) == dex.flow_id.has_value() &&
        ((dex.ext_flags & kDexExtSequence) != 0) == dex.sequence_number.has_value();
    if (!flags_agree || (dex.ext_flags & ~kKnownExtFlags) != 0 ||
        dex.trace_type > trace_type::kMask) {
        return Errc::invalid_argument;
    }
    std::vector<std::uint8_t> out;
    wire::put(out, kIoamTypeDex, 2);
    wire::put(out, dex.namespace_id, 2);
    wire::put(out, dex.flags, 1);
    wire::put(out, dex.ext_flags, 1);
    wire::put(out, std::uint64_t{dex.trace_type} << 8, 4);
    for (const auto& field : {dex.flow_id, dex.sequence_number}) {
        if (field) {
            wire::put(out, *field, 4);
        }
    }
    return out;
}

Result<IoamOption> decode_pto(wire::Reader& in) {
    if (!in.has(kPtoHeaderOctets)) {
        return Errc::truncated;
    }
    PtoOption pto;
    pto.namespace_id = static_cast<std::uint16_t>(in.take(2));
    const auto lens = static_cast<std::uint16_t>(in.take(2));
    pto.node_len = static_cast<std::uint8_t>(lens >> 11);
    pto.flags = static_cast<std::uint8_t>((lens >> 7) & 0xf);
    pto.remaining_len = static_cast<std::uint8_t>(lens & 0x7f);
    pto.trace_type = trace_type::from_word(static_cast<std::uint32_t>(in.take(4)));
    if (in.remaining() % 4 != 0) {
        return Errc::bad_option_length;
    }
    if (pto.remaining_len * 4u > in.remaining()) {
        return Errc::remaining_length_overflow;
    }
    const auto data = in.take_bytes(in.remaining());
    pto.data.assign(data.begin(), data.end());
    return IoamOption{std::move(pto)};
}

Result<IoamOption> decode_dex(wire::Reader& in) {
    if (!in.has(kDexHeaderOctets)) {
        return Errc::truncated;
    }
    DexOption dex;
    dex.namespace_id = static_cast<std::uint16_t>(in.take(2));
    dex.flags = static_cast<std::uint8_t>(in.take(1));
    dex.ext_flags = static_cast<std::uint8_t>(in.take(1));
    dex.trace_type = trace_type::from_word(static_cast<std::uint32_t>(in.take(4)));
    // One 4-octet optional field per Extension-Flags bit set, in bit order.
    if (in.remaining() != std::size_t{4} * std::popcount(dex.ext_flags)) {
        return Errc::bad_option_length;
    }
    if ((dex.ext_flags & kDexExtFlowId) != 0) {
        dex.flow_id = static_cast<std::uint32_t>(in.take(4));
    }
    if ((dex.ext_flags & kDexExtSequence) != 0) {
        dex.sequence_number = static_cast<std::uint32_t>(in.take(4));
    }
    return IoamOption{std::move(dex)};
}

void put_padding(std::vector<std::uint8_t>& out, std::size_t octets) {
    if (octets == 1) {
        out.push_back(kIpv6OptPad1);
    } else if (octets > 1) {
        out.push_back(kIpv6OptPadN);
        out.push_back(static_cast<std::uint8_t>(octets - 2));
        out.insert(out.end(), octets - 2, 0);
    }
}

// Checks one Pad1/PadN option at `off` (type already known) and returns its total length.
Result<std::size_t> check_padding(std::span<const std::uint8_t> hdr, std::size_t off,
                                  std::size_t& run) {
    std::size_t len = 1;
    if (hdr[off] == kIpv6OptPadN) {
        if (hdr.size() - off < 2 || hdr.size() - off - 2 < hdr[off + 1]) {
            return Errc::bad_option_length;
        }
        len = std::size_t{hdr[off + 1]} + 2;
        for (std::size_t i = off + 2; i < off + len; ++i) {
            if (hdr[i] != 0) {
                return Errc::bad_padding;
            }
        }
    }
    run += len;
    if (run > kMaxConsecutivePadding) {
        return Errc::bad_padding;
    }
    return len;
}

}  // namespace

Result<std::vector<std::uint8_t>> encode_option_data(const IoamOption& option) {
    return std::visit(
        [](const auto& o) -> Result<std::vector<std::uint8_t>> {
            if constexpr (std::is_same_v<std::decay_t<decltype(o)>, PtoOption>) {
                return encode_pto(o);
            } else {
                return encode_dex(o);
            }
        },
        option);
}

Result<IoamOption> decode_option_data(std::span<const std::uint8_t> option_data) {
    wire::Reader in(option_data);
    if (!in.has(kIoamHeaderOctets)) {
        return Errc::truncated;
    }
    in.take(1);  // reserved
    switch (in.take(1)) {
        case kIoamTypePrealloc:
            return decode_pto(in);
        case kIoamTypeDex:
            return decode_dex(in);
        default:
            return Errc::unknown_option;
    }
}

std::span<const std::uint8_t> filled_data(const PtoOption& pto) noexcept {
    const std::size_t start = std::size_t{pto.remaining_len} * 4;
    if (start > pto.data.size()) {
        return {};
    }
    return std::span<const std::uint8_t>(pto.data).subspan(start);
}

Result<std::vector<std::uint8_t>> build_hop_by_hop(std::uint8_t next_header,
                                                   std::span<const IoamOption> options) {
    std::vector<std::uint8_t> out{next_header, 0};
    for (const auto& option : options) {
        auto data = encode_option_data(option);
        if (!data) {
            return data.error();
        }
        if (data->size() > kMaxOptionData) {
            return Errc::too_large;
        }
        put_padding(out, (4 - out.size() % 4) % 4);
        out.push_back(kIpv6OptIoam);
        out.push_back(static_cast<std::uint8_t>(data->size()));
        out.insert(out.end(), data->begin(), data->end());
    }
    put_padding(out, (8 - out.size() % 8) % 8);
    if (out.size() > kMaxHeaderOctets) {
        return Errc::too_large;
    }
    out[1] = static_cast<std::uint8_t>(out.size() / 8 - 1);
    return out;
}

Result<HopByHop> parse_hop_by_hop(std::span<const std::uint8_t> header) {
    if (header.size() < 2 || header.size() < (std::size_t{header[1]} + 1) * 8) {
        return Errc::truncated;
    }
    const auto hdr = header.first((std::size_t{header[1]} + 1) * 8);
    HopByHop result{.next_header = hdr[0], .options = {}};
    std::size_t padding_run = 0;
    for (std::size_t off = 2; off < hdr.size();) {
        if (hdr[off] == kIpv6OptPad1 || hdr[off] == kIpv6OptPadN) {
            auto len = check_padding(hdr, off, padding_run);
            if (!len) {
                return len.error();
            }
            off += *len;
            continue;
        }
        padding_run = 0;
        if (hdr.size() - off < 2 || hdr.size() - off - 2 < hdr[off + 1]) {
            return Errc::bad_option_length;
        }
        const auto data = hdr.subspan(off + 2, hdr[off + 1]);
        if (hdr[off] == kIpv6OptIoam) {
            if (off % 4 != 0) {
                return Errc::bad_alignment;
            }
            auto option = decode_option_data(data);
            if (option) {
                result.options.push_back(std::move(*option));
            } else if (option.error() != Errc::unknown_option) {
                return option.error();  // IOAM types we do not handle are skipped
            }
        }
        off += 2 + data.size();
    }
    return result;
}

}  // namespace ioam
