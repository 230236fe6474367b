#pragma once
// IPFIX records of the project's layouts (common/ipfix/record_layouts.hpp), encoded by hand
// from the IE registry so the collector tests do not depend on the exporter.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/ipfix/record_layouts.hpp"
#include "tests/collector/ipfix_builder.hpp"

namespace ioam::collector::test {

inline void append_template(MessageBuilder& b, std::uint16_t id, const ipfix::Layout& layout) {
    b.u16(id).u16(static_cast<std::uint16_t>(layout.size()));
    for (const ipfix::ElementSpec* e : layout) {
        if (e->pen != 0) {
            b.u16(e->id | 0x8000).u16(e->length).u32(e->pen);
        } else {
            b.u16(e->id).u16(e->length);
        }
    }
}

inline void append_int(MessageBuilder& b, std::uint64_t v, std::uint16_t length) {
    for (int i = length - 1; i >= 0; --i) {
        b.u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

// Template set with the hop template (when with_hops) and the trace record template.
inline void trace_templates(MessageBuilder& b, std::uint32_t trace_type, bool with_hops) {
    b.begin_set(2);
    if (with_hops) {
        append_template(b, ipfix::hop_template_id(trace_type), ipfix::hop_fields(trace_type));
    }
    append_template(b, with_hops ? ipfix::kTraceWithHopsTemplateId : ipfix::kTraceTemplateId,
                    ipfix::trace_record_fields(with_hops));
}

inline void hop_record(MessageBuilder& b, std::uint32_t trace_type, const IoamNode& n) {
    for (const ipfix::ElementSpec* e : ipfix::hop_fields(trace_type)) {
        if (e->length == ipfix::kVarLen) {
            b.varlen(ipfix::node_opaque_data(n));
        } else {
            append_int(b, ipfix::node_value(n, *e).value(), e->length);
        }
    }
}

// One trace record (call inside a data set of the matching template). raw_data is sent as is.
inline void trace_record(MessageBuilder& b, const IoamTrace& t, bool with_hops) {
    for (const ipfix::ElementSpec* e : ipfix::trace_record_fields(with_hops)) {
        if (e->name == "ioamTraceData") {
            b.varlen(t.raw_data);
        } else if (e->name == "subTemplateList") {
            MessageBuilder list(0);  // only its body is used: skip the 16-octet header
            list.u8(0x03).u16(ipfix::hop_template_id(t.trace_type));
            for (const IoamNode& n : t.nodes) {
                hop_record(list, t.trace_type, n);
            }
            const auto bytes = list.finish();
            b.varlen(std::span(bytes).subspan(16));
        } else {
            append_int(b, ipfix::trace_value(t, *e).value(), e->length);
        }
    }
}

inline void dex_template(MessageBuilder& b, std::uint32_t trace_type) {
    b.begin_set(2);
    append_template(b, ipfix::dex_template_id(trace_type), ipfix::dex_record_fields(trace_type));
}

inline void dex_record(MessageBuilder& b, const DexReport& d) {
    for (const ipfix::ElementSpec* e : ipfix::dex_record_fields(d.trace_type)) {
        if (e->length == ipfix::kVarLen) {
            b.varlen(ipfix::node_opaque_data(d.node));
        } else {
            append_int(b, ipfix::dex_value(d, *e).value(), e->length);
        }
    }
}

// A node of trace type 0xf00000-ish content: hop limit, id, interfaces, timestamps.
inline IoamNode make_node(std::uint32_t id, std::uint32_t secs, std::uint32_t usec) {
    IoamNode n;
    n.hop_limit = 64;
    n.node_id = id;
    n.ingress_if_id = 1;
    n.egress_if_id = 2;
    n.timestamp_secs = secs;
    n.timestamp_frac = usec;
    return n;
}

inline constexpr std::uint32_t kTraceType = 0xf00000;  // bits 0-3

// Node `id`'s DEX report of packet `seq` of `flow` (namespace 7), the node's time `usec`
// microseconds into second 1'700'000'000 + seq.
inline DexReport make_dex(std::uint32_t flow, std::uint32_t seq, std::uint32_t id,
                          std::uint32_t usec) {
    DexReport d;
    d.namespace_id = 7;
    d.trace_type = kTraceType;
    d.flow_id = flow;
    d.sequence_number = seq;
    d.node = make_node(id, 1'700'000'000 + seq, usec);
    return d;
}

// A trace over `ids` (oldest first), each hop 100 us after the previous one; raw_data filled.
inline IoamTrace make_trace(std::vector<std::uint32_t> ids, std::uint16_t ns = 123,
                            std::uint64_t time_ns = 1'700'000'000'000'000'000) {
    IoamTrace t;
    t.observation_time_ns = time_ns;
    t.observation_domain = 1;
    t.namespace_id = ns;
    t.trace_type = kTraceType;
    t.node_len = 4;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        // Newest first: the last id is the reporting node.
        const std::size_t hop = ids.size() - 1 - i;
        t.nodes.push_back(
            make_node(ids[hop], 1'700'000'000, static_cast<std::uint32_t>(1000 + 100 * hop)));
    }
    for (const IoamNode& n : t.nodes) {
        (void)encode_node(t.trace_type, n, t.raw_data);
    }
    return t;
}

}  // namespace ioam::collector::test
