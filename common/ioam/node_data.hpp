#pragma once
// Node data lists of the Pre-allocated Trace (RFC 9197 section 4.4), as the kernel's
// IOAM6_EVENT_TRACE hands them: the filled part only, newest node first.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam {

// Decodes one node's data starting at data[0]; sets `consumed` to the octets it used
// (node_len * 4, plus the opaque state snapshot when bit 22 is set). All-ones fields are
// returned absent.
Result<IoamNode> decode_node(std::uint32_t trace_type, std::uint8_t node_len,
                             std::span<const std::uint8_t> data, std::size_t& consumed);

// Decodes a whole filled node data list. Checks node_len against the trace type and, without
// opaque state, that the data is a whole number of nodes.
Result<std::vector<IoamNode>> decode_trace_data(std::uint32_t trace_type, std::uint8_t node_len,
                                                std::span<const std::uint8_t> data);

// Appends one node's data for `trace_type`, absent fields as all ones (inverse of decode_node).
Status encode_node(std::uint32_t trace_type, const IoamNode& node, std::vector<std::uint8_t>& out);

}  // namespace ioam
