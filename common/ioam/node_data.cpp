#include "common/ioam/node_data.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/ioam/trace_type.hpp"
#include "common/ioam/wire.hpp"

namespace ioam {
namespace {

using trace_type::bit;

constexpr std::uint32_t kNoSchema = 0xffffffu;
constexpr std::size_t kMaxOpaqueOctets = 255 * 4;  // 8-bit length in 4-octet units
constexpr std::size_t kReserveNodes = 61;          // a full kernel trace of 4-octet nodes (244 / 4)

// One subfield of a data field: its width and the node member it maps to. A subfield that
// is `always` present (the hop limits) is never read as "unavailable".
template <typename Opt>
struct Sub {
    unsigned bits;
    Opt* field;
    bool always = false;
};
template <typename Opt>
Sub(unsigned, Opt*, bool = false) -> Sub<Opt>;

// Calls f(bit, subfields...) for each data field of bits 0-11 in wire order. Node is
// IoamNode or const IoamNode, so that the decoder and the encoder share one table.
template <typename Node, typename F>
void for_each_field(Node& n, F&& f) {
    f(0u, Sub{8, &n.hop_limit, true}, Sub{24, &n.node_id});
    f(1u, Sub{16, &n.ingress_if_id}, Sub{16, &n.egress_if_id});
    f(2u, Sub{32, &n.timestamp_secs});
    f(3u, Sub{32, &n.timestamp_frac});
    f(4u, Sub{32, &n.transit_delay});
    f(5u, Sub{32, &n.namespace_data});
    f(6u, Sub{32, &n.queue_depth});
    f(7u, Sub{32, &n.checksum_complement});
    f(8u, Sub{8, &n.hop_limit_wide, true}, Sub{56, &n.node_id_wide});
    f(9u, Sub{32, &n.ingress_if_id_wide}, Sub{32, &n.egress_if_id_wide});
    f(10u, Sub{64, &n.namespace_data_wide});
    f(11u, Sub{32, &n.buffer_occupancy});
}

template <typename Opt>
void assign(const Sub<Opt>& s, std::uint64_t raw) {
    using T = typename Opt::value_type;
    if (s.always || raw != wire::ones(s.bits)) {
        *s.field = static_cast<T>(raw);
    }
}

template <typename Opt>
bool fits(const Sub<Opt>& s) {
    return !s.field->has_value() || static_cast<std::uint64_t>(**s.field) <= wire::ones(s.bits);
}

template <typename Opt>
std::uint64_t raw_of(const Sub<Opt>& s) {
    return s.field->has_value() ? static_cast<std::uint64_t>(**s.field) : wire::ones(s.bits);
}

// Undefined bits 12-21: one all-ones word each after bit 11's field. They count one unit of
// NodeLen each, and nothing else does among them.
unsigned undefined_count(std::uint32_t type) {
    return trace_type::node_len(type & trace_type::kUndefinedMask);
}

Result<std::optional<OpaqueState>> decode_opaque_state(wire::Reader& in) {
    if (!in.has(4)) {
        return Errc::truncated;
    }
    const auto header = static_cast<std::uint32_t>(in.take(4));
    const std::size_t octets = std::size_t{header >> 24} * 4;
    const std::uint32_t schema = header & kNoSchema;
    if (!in.has(octets)) {
        return Errc::opaque_state_overflow;
    }
    const auto data = in.take_bytes(octets);
    if (octets == 0 && schema == kNoSchema) {
        return std::optional<OpaqueState>{};
    }
    return std::optional<OpaqueState>{OpaqueState{schema, {data.begin(), data.end()}}};
}

Status check_opaque_state(const std::optional<OpaqueState>& os) {
    if (os && (os->schema_id > kNoSchema || os->data.size() % 4 != 0 ||
               os->data.size() > kMaxOpaqueOctets)) {
        return Errc::invalid_argument;
    }
    return Ok{};
}

void encode_opaque_state(const std::optional<OpaqueState>& os, std::vector<std::uint8_t>& out) {
    if (!os) {
        wire::put(out, kNoSchema, 4);
        return;
    }
    wire::put(out, (std::uint64_t{os->data.size() / 4} << 24) | os->schema_id, 4);
    out.insert(out.end(), os->data.begin(), os->data.end());
}

// Decodes one node of a checked type and node_len into `node`, which the caller cleared: in
// place, since moving a node field by field costs more than decoding it. `data` holds at
// least node_len * 4 octets.
Status decode_into(std::uint32_t type, unsigned undefined, std::span<const std::uint8_t> data,
                   IoamNode& node, std::size_t& consumed) {
    wire::Reader in(data);
    for_each_field(node, [&](unsigned b, const auto&... subs) {
        if ((type & bit(b)) == 0) {
            return;
        }
        unsigned shift = (subs.bits + ...);
        const std::uint64_t word = in.take(shift / 8);
        ((shift -= subs.bits, assign(subs, (word >> shift) & wire::ones(subs.bits))), ...);
    });
    in.take_bytes(std::size_t{undefined} * 4);
    if ((type & trace_type::kOpaqueStateBit) != 0) {
        auto os = decode_opaque_state(in);
        if (!os) {
            return os.error();
        }
        node.opaque_state = std::move(*os);
    }
    consumed = in.offset();
    return Ok{};
}

Status check_node_len(std::uint32_t type, std::uint8_t node_len) {
    if ((type & ~trace_type::kMask) != 0) {
        return Errc::invalid_argument;
    }
    if (node_len != trace_type::node_len(type)) {
        return Errc::node_length_mismatch;
    }
    return Ok{};
}

}  // namespace

Result<IoamNode> decode_node(std::uint32_t type, std::uint8_t node_len,
                             std::span<const std::uint8_t> data, std::size_t& consumed) {
    consumed = 0;
    if (auto st = check_node_len(type, node_len); !st) {
        return st.error();
    }
    if (data.size() < std::size_t{node_len} * 4) {
        return Errc::truncated;
    }
    IoamNode node;
    std::size_t used = 0;
    if (auto st = decode_into(type, undefined_count(type), data, node, used); !st) {
        return st.error();
    }
    consumed = used;
    return node;
}

Result<std::vector<IoamNode>> decode_trace_data(std::uint32_t type, std::uint8_t node_len,
                                                std::span<const std::uint8_t> data) {
    if (auto st = check_node_len(type, node_len); !st) {
        return st.error();
    }
    const bool opaque = (type & trace_type::kOpaqueStateBit) != 0;
    const std::size_t stride = std::size_t{node_len} * 4;
    const bool whole =
        opaque ? data.size() % 4 == 0 : (stride == 0 ? data.empty() : data.size() % stride == 0);
    if (!whole) {
        return Errc::data_not_multiple_of_node_length;
    }
    const unsigned undefined = undefined_count(type);
    std::vector<IoamNode> nodes;
    nodes.reserve(std::min(kReserveNodes, data.size() / std::max<std::size_t>(stride, 4)));
    // Every iteration consumes at least 4 octets: node_len > 0, or the opaque state header.
    while (!data.empty()) {
        if (data.size() < stride) {
            return Errc::truncated;
        }
        std::size_t used = 0;
        if (auto st = decode_into(type, undefined, data, nodes.emplace_back(), used); !st) {
            return st.error();
        }
        data = data.subspan(used);
    }
    return nodes;
}

Status encode_node(std::uint32_t type, const IoamNode& node, std::vector<std::uint8_t>& out) {
    if ((type & ~trace_type::kMask) != 0) {
        return Errc::invalid_argument;
    }
    bool in_range = true;
    for_each_field(node, [&](unsigned b, const auto&... subs) {
        in_range = in_range && ((type & bit(b)) == 0 || (fits(subs) && ...));
    });
    const bool opaque = (type & trace_type::kOpaqueStateBit) != 0;
    if (!in_range || (opaque && !check_opaque_state(node.opaque_state))) {
        return Errc::invalid_argument;
    }
    for_each_field(node, [&](unsigned b, const auto&... subs) {
        if ((type & bit(b)) == 0) {
            return;
        }
        std::uint64_t word = 0;
        ((word = (subs.bits >= 64 ? 0 : word << subs.bits) | raw_of(subs)), ...);
        wire::put(out, word, (subs.bits + ...) / 8);
    });
    for (unsigned i = undefined_count(type); i > 0; --i) {
        wire::put(out, wire::ones(32), 4);
    }
    if (opaque) {
        encode_opaque_state(node.opaque_state, out);
    }
    return Ok{};
}

}  // namespace ioam
