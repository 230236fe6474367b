#include "collector/store/record_codec.hpp"

#include "collector/store/node_codec.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/trace_type.hpp"

namespace ioam::collector::store {

namespace {

// True when decoding the raw data gives exactly the nodes (the usual case), so that the
// nodes need not be stored twice.
bool raw_rebuilds(const IoamTrace& t) {
    if (t.raw_data.empty()) {
        return t.nodes.empty();
    }
    // Node by node, as decode_trace_data() reads it on the way back, without its vector.
    if (t.node_len != trace_type::node_len(t.trace_type)) {
        return false;
    }
    std::span<const std::uint8_t> rest = t.raw_data;
    for (const IoamNode& node : t.nodes) {
        std::size_t used = 0;
        auto decoded = decode_node(t.trace_type, t.node_len, rest, used);
        if (!decoded || used == 0 || !(*decoded == node)) {
            return false;
        }
        rest = rest.subspan(used);
    }
    return rest.empty();
}

}  // namespace

RecordHeader header_of(const Record& r) {
    if (const auto* t = std::get_if<IoamTrace>(&r)) {
        return {false,
                t->observation_time_ns,
                t->observation_domain,
                t->namespace_id,
                t->trace_type,
                t->node_len,
                t->flags,
                0,
                std::nullopt,
                std::nullopt};
    }
    const auto& d = std::get<DexReport>(r);
    return {true,
            d.observation_time_ns,
            d.observation_domain,
            d.namespace_id,
            d.trace_type,
            0,
            d.flags,
            d.ext_flags,
            d.flow_id,
            d.sequence_number};
}

std::span<const IoamNode> nodes_of(const Record& r) {
    if (const auto* t = std::get_if<IoamTrace>(&r)) {
        return t->nodes;
    }
    return {&std::get<DexReport>(r).node, 1};
}

void node_ids_of(const Record& r, bool nodes_from_raw, std::vector<NodeIds>& out) {
    const auto* t = std::get_if<IoamTrace>(&r);
    if (t != nullptr && nodes_from_raw && t->nodes.empty()) {
        if (!decode_node_ids(t->trace_type, t->node_len, t->raw_data, out)) {
            out.clear();
        }
        return;
    }
    out.clear();
    for (const IoamNode& n : nodes_of(r)) {
        out.push_back({n.node_id, n.node_id_wide});
    }
}

std::span<const std::uint8_t> raw_of(const Record& r) {
    if (const auto* t = std::get_if<IoamTrace>(&r)) {
        return t->raw_data;
    }
    return {};
}

void compact_of(const Record& r, std::vector<std::uint8_t>& out, bool nodes_from_raw) {
    out.clear();
    const auto* t = std::get_if<IoamTrace>(&r);
    if (!t || !(nodes_from_raw || raw_rebuilds(*t))) {
        encode_nodes(nodes_of(r), out);
    }
}

Record rebuild(const RecordHeader& h, std::span<const std::uint8_t> raw,
               std::span<const std::uint8_t> compact) {
    std::vector<IoamNode> nodes;
    if (!compact.empty()) {
        decode_nodes(compact, nodes);
    }
    if (!h.dex) {
        IoamTrace t;
        t.observation_time_ns = h.time_ns;
        t.observation_domain = h.obs_domain;
        t.namespace_id = h.namespace_id;
        t.trace_type = h.trace_type;
        t.node_len = h.node_len;
        t.flags = h.flags;
        t.raw_data.assign(raw.begin(), raw.end());
        if (!compact.empty()) {
            t.nodes = std::move(nodes);
        } else if (auto decoded = decode_trace_data(t.trace_type, t.node_len, t.raw_data)) {
            t.nodes = std::move(*decoded);
        }
        return t;
    }
    DexReport d;
    d.observation_time_ns = h.time_ns;
    d.observation_domain = h.obs_domain;
    d.namespace_id = h.namespace_id;
    d.trace_type = h.trace_type;
    d.flags = h.flags;
    d.ext_flags = h.ext_flags;
    d.flow_id = h.flow_id;
    d.sequence_number = h.seq;
    if (!nodes.empty()) {
        d.node = std::move(nodes.front());
    }
    return d;
}

}  // namespace ioam::collector::store
