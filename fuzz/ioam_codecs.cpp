// The IOAM codecs of common/ioam: option data (PTO, DEX), Hop-by-Hop headers, node data lists
// and trace types. The first octet picks the codec; for node data the next three are the trace
// type and the fourth NodeLen. Whatever decodes must encode (where the encoder's documented
// limits allow) and decode again to the same value.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/ioam/options.hpp"
#include "common/ioam/trace_type.hpp"
#include "fuzz/check.hpp"

namespace {

using namespace ioam;
using Bytes = std::span<const std::uint8_t>;

// Whether encode_option_data may refuse a decoded option: decoders accept what encoders must
// not produce (unassigned DEX Extension-Flags, PTO data over the kernel's maximum).
bool encodable(const IoamOption& option) {
    if (const auto* pto = std::get_if<PtoOption>(&option)) {
        return pto->data.size() <= kMaxTraceDataOctets;
    }
    return (std::get<DexOption>(option).ext_flags & ~(kDexExtFlowId | kDexExtSequence)) == 0;
}

void option_data(Bytes in) {
    const auto decoded = decode_option_data(in);
    if (!decoded) {
        return;
    }
    const auto encoded = encode_option_data(*decoded);
    FUZZ_CHECK(encoded.ok() == encodable(*decoded));
    if (!encoded) {
        return;
    }
    const auto again = decode_option_data(*encoded);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *decoded);
    if (const auto* pto = std::get_if<PtoOption>(&*decoded)) {
        const auto filled = filled_data(*pto);
        FUZZ_CHECK(filled.size() + pto->remaining_len * 4u == pto->data.size());
    }
}

void hop_by_hop(Bytes in) {
    const auto parsed = parse_hop_by_hop(in);
    if (!parsed) {
        return;
    }
    for (const auto& option : parsed->options) {
        if (!encodable(option)) {
            return;
        }
    }
    const auto built = build_hop_by_hop(parsed->next_header, parsed->options);
    if (!built) {
        // Several options, each valid alone, can make a header over its maximum size.
        FUZZ_CHECK(built.error() == Errc::too_large);
        return;
    }
    FUZZ_CHECK(built->size() % 8 == 0);
    const auto again = parse_hop_by_hop(*built);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->next_header == parsed->next_header);
    FUZZ_CHECK(again->options == parsed->options);
}

void node_data(Bytes in) {
    if (in.size() < 4) {
        return;
    }
    const std::uint32_t type = (std::uint32_t{in[0]} << 16) | (in[1] << 8) | in[2];
    const std::uint8_t node_len = in[3];
    const auto data = in.subspan(4);

    const auto len = trace_type::node_len(type);
    FUZZ_CHECK(len == std::popcount(type & trace_type::kShortFieldsMask) +
                          2 * std::popcount(type & trace_type::kWideFieldsMask));
    const auto valid = trace_type::validate(type);
    FUZZ_CHECK(valid.ok() == (type != 0 && (type & (trace_type::kUndefinedMask |
                                                    trace_type::kReservedMask)) == 0));

    const auto nodes = decode_trace_data(type, node_len, data);
    // The store's path key reader agrees with the decoder, errors included.
    std::vector<NodeIds> ids;
    const Status ids_status = decode_node_ids(type, node_len, data, ids);
    FUZZ_CHECK(ids_status.ok() == nodes.ok());
    if (!nodes) {
        FUZZ_CHECK(ids_status.error() == nodes.error());
        return;
    }
    FUZZ_CHECK(ids.size() == nodes->size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        FUZZ_CHECK(ids[i].node_id == (*nodes)[i].node_id);
        FUZZ_CHECK(ids[i].node_id_wide == (*nodes)[i].node_id_wide);
    }
    FUZZ_CHECK(node_len == len);
    std::vector<std::uint8_t> encoded;
    for (const auto& node : *nodes) {
        const auto st = encode_node(type, node, encoded);
        FUZZ_CHECK(st.ok());
    }
    const auto again = decode_trace_data(type, node_len, encoded);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *nodes);

    if (!nodes->empty()) {
        std::size_t consumed = 0;
        const auto first = decode_node(type, node_len, data, consumed);
        FUZZ_CHECK(first.ok());
        FUZZ_CHECK(*first == nodes->front());
        FUZZ_CHECK(consumed > 0 || node_len == 0);
        FUZZ_CHECK(consumed <= data.size());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const Bytes in(data + 1, size - 1);
    switch (data[0] % 3) {
        case 0:
            option_data(in);
            break;
        case 1:
            hop_by_hop(in);
            break;
        default:
            node_data(in);
            break;
    }
    return 0;
}
