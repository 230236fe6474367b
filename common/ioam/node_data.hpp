#pragma once
// Node data lists of the Pre-allocated Trace (RFC 9197 section 4.4), as the kernel's
// IOAM6_EVENT_TRACE hands them: the filled part only, newest node first.
//
// Layout of one node, as net/ipv6/ioam6.c __ioam6_fill_trace_data writes it: the fields of
// bits 0-11 in bit order, then one 4-octet word per undefined bit 12-21 (all ones), then the
// opaque state snapshot (bit 22: a 4-octet header Length|Schema ID, then Length * 4 octets)
// which is not part of NodeLen. NodeLen must equal trace_type::node_len(type), which counts
// the undefined bits like the kernel does since 6db8b56eed62; the kernel drops packets where
// it does not, so a mismatching event or record is malformed. The undefined words carry no
// data and are skipped; the reserved bit 23 is ignored (RFC 9197: ignored upon receipt).
//
// All-ones subfields mean "unavailable" and decode as absent optionals, per subfield (e.g.
// egress 0xffff absent while ingress present). The hop limits are always present when their
// bit is set. An opaque state snapshot of length 0 with schema ID 0xffffff (what the kernel
// writes without a schema) decodes as absent.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam {

// Decodes one node's data starting at data[0]; sets `consumed` to the octets it used
// (node_len * 4, plus the opaque state snapshot when bit 22 is set), 0 on error.
// Errors: invalid_argument (type beyond 24 bits), node_length_mismatch, truncated,
// opaque_state_overflow (snapshot length runs past the data).
Result<IoamNode> decode_node(std::uint32_t trace_type, std::uint8_t node_len,
                             std::span<const std::uint8_t> data, std::size_t& consumed);

// Decodes a whole filled node data list, newest node first. Checks node_len against the
// trace type and, without opaque state, that the data is a whole number of nodes
// (data_not_multiple_of_node_length); with opaque state, that the data is a whole number of
// 4-octet words. Empty data gives no nodes.
Result<std::vector<IoamNode>> decode_trace_data(std::uint32_t trace_type, std::uint8_t node_len,
                                                std::span<const std::uint8_t> data);
// The same into `out` (cleared first, its capacity reused: no allocation per trace on the
// collector's receive path); `out` is unspecified after an error.
Status decode_trace_data(std::uint32_t trace_type, std::uint8_t node_len,
                         std::span<const std::uint8_t> data, std::vector<IoamNode>& out);

// What paths are keyed on, without the rest of a node: its node_id and wide node_id, absent
// like IoamNode's (bit clear, or all ones).
struct NodeIds {
    std::optional<std::uint32_t> node_id;
    std::optional<std::uint64_t> node_id_wide;
};
// How the collector tells nodes apart: node_id, else the wide node_id.
constexpr std::optional<std::uint64_t> identity(const NodeIds& n) noexcept {
    return n.node_id ? std::optional<std::uint64_t>{*n.node_id} : n.node_id_wide;
}
// The NodeIds of every node of a list, as decode_trace_data() would decode them, with its
// checks and errors, at a fraction of its cost (the store's path dictionary reads them per
// record).
Status decode_node_ids(std::uint32_t trace_type, std::uint8_t node_len,
                       std::span<const std::uint8_t> data, std::vector<NodeIds>& out);

// Appends one node's data for `trace_type`, absent fields as all ones (inverse of decode_node;
// a present value equal to all ones decodes as absent). Fields whose bit is clear are not
// written. Errors, with `out` left untouched: invalid_argument for a type beyond 24 bits, a
// value wider than its field (node id > 24 bits, wide node id > 56 bits, schema id > 24 bits)
// or opaque data that is not a multiple of 4 octets or longer than 1020.
Status encode_node(std::uint32_t trace_type, const IoamNode& node, std::vector<std::uint8_t>& out);

}  // namespace ioam
