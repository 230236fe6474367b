#pragma once
// How every back end stores a record: its header fields as columns, the hops as the raw trace
// data (decoded on read), and the compact node form (node_codec) only when the raw data does
// not rebuild the nodes (DEX reports, hop lists, traces whose raw data disagrees).
//
// Threading: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/model/ioam_trace.hpp"

namespace ioam::collector::store {

using Record = std::variant<IoamTrace, DexReport>;

// A record's header as columns (fields a kind does not have are 0 / nullopt).
struct RecordHeader {
    bool dex = false;
    std::uint64_t time_ns = 0;
    std::uint32_t obs_domain = 0;
    std::uint16_t namespace_id = 0;
    std::uint32_t trace_type = 0;
    std::uint8_t node_len = 0;
    std::uint8_t flags = 0;
    std::uint8_t ext_flags = 0;
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> seq;
};

RecordHeader header_of(const Record& r);
std::span<const IoamNode> nodes_of(const Record& r);
// The NodeIds of the record's nodes into `out`; for a trace queued without its nodes
// (`nodes_from_raw`, none left) read off its raw data, none when that does not decode.
void node_ids_of(const Record& r, bool nodes_from_raw, std::vector<NodeIds>& out);
std::span<const std::uint8_t> raw_of(const Record& r);
// Fills `out` with the compact nodes the record needs stored, or leaves it empty when its raw
// data rebuilds them: checked by decoding it, unless `nodes_from_raw` says they were decoded
// from it (Origin::nodes_from_raw).
void compact_of(const Record& r, std::vector<std::uint8_t>& out, bool nodes_from_raw = false);
// The record back from its columns; `compact` empty when none was stored.
Record rebuild(const RecordHeader& h, std::span<const std::uint8_t> raw,
               std::span<const std::uint8_t> compact);

}  // namespace ioam::collector::store
