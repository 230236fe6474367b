#pragma once
// A lossless compact form of decoded IOAM nodes, for the nodes a back end cannot rebuild from
// the raw trace data (DEX reports; traces that arrived as a hop list or whose raw data does
// not decode). Per node: a presence mask, then the present fields little-endian at their
// natural width, the opaque state as schema (4), length (2) and data.
//
// Threading: pure functions.

#include <cstdint>
#include <span>
#include <vector>

#include "common/model/ioam_trace.hpp"

namespace ioam::collector::store {

void encode_nodes(std::span<const IoamNode> nodes, std::vector<std::uint8_t>& out);
// False on malformed input (`out` then holds what was decoded before the error).
bool decode_nodes(std::span<const std::uint8_t> in, std::vector<IoamNode>& out);

}  // namespace ioam::collector::store
