#include "common/ioam/node_data.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/ioam/node_fields.hpp"
#include "common/ioam/trace_type.hpp"
#include "common/ioam/wire.hpp"

namespace ioam {
namespace {

using trace_type::bit;

constexpr std::uint32_t kNoSchema = 0xffffffu;
constexpr std::size_t kMaxOpaqueOctets = 255 * 4;  // 8-bit length in 4-octet units
constexpr std::size_t kReserveNodes = 61;          // a full kernel trace of 4-octet nodes (244 / 4)

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
    std::uint64_t word = 0;
    node_fields::for_each([&](auto i) {
        constexpr const auto& f = node_fields::row<i>;
        if ((type & bit(f.bit)) == 0) {
            return;
        }
        if constexpr (node_fields::opens_word(i)) {
            word = in.take(node_fields::word_octets(f.bit));
        }
        node_fields::set_raw<i>(node, (word >> node_fields::shift_of(i)) & f.max());
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

// Walks a whole node data list, decoding each node with one_node(data, node, consumed) into
// a new element of `nodes`; the checks decode_trace_data() documents.
template <typename Node, typename OneNode>
Status walk_trace_data(std::uint32_t type, std::uint8_t node_len,
                       std::span<const std::uint8_t> data, std::vector<Node>& nodes,
                       OneNode&& one_node) {
    nodes.clear();
    if (auto st = check_node_len(type, node_len); !st) {
        return st;
    }
    const bool opaque = (type & trace_type::kOpaqueStateBit) != 0;
    const std::size_t stride = std::size_t{node_len} * 4;
    const bool whole =
        opaque ? data.size() % 4 == 0 : (stride == 0 ? data.empty() : data.size() % stride == 0);
    if (!whole) {
        return Errc::data_not_multiple_of_node_length;
    }
    nodes.reserve(std::min(kReserveNodes, data.size() / std::max<std::size_t>(stride, 4)));
    // Every iteration consumes at least 4 octets: node_len > 0, or the opaque state header.
    while (!data.empty()) {
        if (data.size() < stride) {
            return Errc::truncated;
        }
        std::size_t used = 0;
        if (auto st = one_node(data, nodes.emplace_back(), used); !st) {
            return st;
        }
        data = data.subspan(used);
    }
    return Ok{};
}

constexpr std::size_t kNodeIdRow = node_fields::index_of<&IoamNode::node_id>;
constexpr std::size_t kNodeIdWideRow = node_fields::index_of<&IoamNode::node_id_wide>;

// Where row I's word is in a node of a type without opaque state, if the type has it.
struct RowAt {
    bool present = false;
    std::size_t offset = 0;
};

template <std::size_t I>
RowAt row_at(std::uint32_t type) noexcept {
    constexpr unsigned b = node_fields::row<I>.bit;
    RowAt at{(type & bit(b)) != 0, 0};
    for (unsigned earlier = 0; earlier < b; ++earlier) {
        at.offset += (type & bit(earlier)) != 0 ? node_fields::kWordOctets[earlier] : 0;
    }
    return at;
}

// Row I of a node whose first node_len * 4 octets `node` holds, as decode_into() sets it.
template <std::size_t I>
auto read_row(const RowAt& at, std::span<const std::uint8_t> node) noexcept {
    constexpr const auto& f = node_fields::row<I>;
    if (!at.present) {
        return decltype(node_fields::value_of<I>(0)){};
    }
    wire::Reader in(node.subspan(at.offset));
    return node_fields::value_of<I>(
        (in.take(node_fields::word_octets(f.bit)) >> node_fields::shift_of(I)) & f.max());
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

Status decode_trace_data(std::uint32_t type, std::uint8_t node_len,
                         std::span<const std::uint8_t> data, std::vector<IoamNode>& nodes) {
    const unsigned undefined = undefined_count(type);
    return walk_trace_data(type, node_len, data, nodes,
                           [&](std::span<const std::uint8_t> d, IoamNode& n, std::size_t& used) {
                               return decode_into(type, undefined, d, n, used);
                           });
}

Status decode_node_ids(std::uint32_t type, std::uint8_t node_len,
                       std::span<const std::uint8_t> data, std::vector<NodeIds>& out) {
    if ((type & trace_type::kOpaqueStateBit) != 0) {  // nodes of their own lengths: decoded
        IoamNode node;
        const unsigned undefined = undefined_count(type);
        return walk_trace_data(
            type, node_len, data, out,
            [&](std::span<const std::uint8_t> d, NodeIds& ids, std::size_t& used) {
                node = IoamNode{};
                const Status st = decode_into(type, undefined, d, node, used);
                ids = {node.node_id, node.node_id_wide};
                return st;
            });
    }
    const RowAt id = row_at<kNodeIdRow>(type);
    const RowAt wide = row_at<kNodeIdWideRow>(type);
    const std::size_t stride = std::size_t{node_len} * 4;
    return walk_trace_data(type, node_len, data, out,
                           [&](std::span<const std::uint8_t> d, NodeIds& ids, std::size_t& used) {
                               ids.node_id = read_row<kNodeIdRow>(id, d);
                               ids.node_id_wide = read_row<kNodeIdWideRow>(wide, d);
                               used = stride;
                               return Status{Ok{}};
                           });
}

Result<std::vector<IoamNode>> decode_trace_data(std::uint32_t type, std::uint8_t node_len,
                                                std::span<const std::uint8_t> data) {
    std::vector<IoamNode> nodes;
    if (auto st = decode_trace_data(type, node_len, data, nodes); !st) {
        return st.error();
    }
    return nodes;
}

Status encode_node(std::uint32_t type, const IoamNode& node, std::vector<std::uint8_t>& out) {
    if ((type & ~trace_type::kMask) != 0) {
        return Errc::invalid_argument;
    }
    bool in_range = true;
    node_fields::for_each([&](auto i) {
        constexpr const auto& f = node_fields::row<i>;
        const auto& v = node.*f.member;
        in_range = in_range && ((type & bit(f.bit)) == 0 || !v || std::uint64_t{*v} <= f.max());
    });
    const bool opaque = (type & trace_type::kOpaqueStateBit) != 0;
    if (!in_range || (opaque && !check_opaque_state(node.opaque_state))) {
        return Errc::invalid_argument;
    }
    std::uint64_t word = 0;
    node_fields::for_each([&](auto i) {
        constexpr const auto& f = node_fields::row<i>;
        if ((type & bit(f.bit)) == 0) {
            return;
        }
        const auto& v = node.*f.member;
        word =
            (node_fields::opens_word(i) ? 0 : word << f.bits) | (v ? std::uint64_t{*v} : f.max());
        if constexpr (node_fields::shift_of(i) == 0) {
            wire::put(out, word, node_fields::word_octets(f.bit));
        }
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
