#include "collector/decode/record_decoder.hpp"

#include <array>
#include <string_view>

#include "common/ioam/node_data.hpp"
#include "common/ipfix/ioam_elements.hpp"
#include "common/ipfix/record_layouts.hpp"

namespace ioam::collector::decode {

namespace {

using source::Bytes;
using source::load_uint;

enum Role : std::uint8_t {
    kNone = 0,
    kObservationTime,
    kObservationDomain,
    kNamespace,
    kTraceType,
    kNodeLen,
    kTraceFlags,
    kTraceData,
    kHopList,
    kDexFlowId,
    kDexSequence,
    kDexFlags,
    kDexExtFlags,
    // Per-node fields from here on.
    kHopLimit,
    kNodeId,
    kIngressIf,
    kEgressIf,
    kTimestampSecs,
    kTimestampFrac,
    kTransitDelay,
    kNamespaceData,
    kQueueDepth,
    kChecksum,
    kHopLimitWide,
    kNodeIdWide,
    kIngressIfWide,
    kEgressIfWide,
    kNamespaceDataWide,
    kBufferOccupancy,
    kOpaqueSchema,
    kOpaqueData,
    kUnderstood = 0xff,
};

struct Named {
    std::string_view name;
    Role role;
};

// Element names are the registry's (common/ipfix/ioam_elements.cpp): the numbers come from
// there, so they are written down once.
constexpr std::array kRoleNames = {
    Named{"observationTimeNanoseconds", kObservationTime},
    Named{"observationDomainId", kObservationDomain},
    Named{"ioamNamespaceId", kNamespace},
    Named{"ioamTraceType", kTraceType},
    Named{"ioamNodeLength", kNodeLen},
    Named{"ioamTraceFlags", kTraceFlags},
    Named{"ioamTraceData", kTraceData},
    Named{"subTemplateList", kHopList},
    Named{"ioamDexFlowId", kDexFlowId},
    Named{"ioamDexSequenceNumber", kDexSequence},
    Named{"ioamDexFlags", kDexFlags},
    Named{"ioamDexExtFlags", kDexExtFlags},
    Named{"ioamHopLimit", kHopLimit},
    Named{"ioamNodeId", kNodeId},
    Named{"ioamIngressIfId", kIngressIf},
    Named{"ioamEgressIfId", kEgressIf},
    Named{"ioamTimestampSeconds", kTimestampSecs},
    Named{"ioamTimestampFraction", kTimestampFrac},
    Named{"ioamTransitDelay", kTransitDelay},
    Named{"ioamNamespaceData", kNamespaceData},
    Named{"ioamQueueDepth", kQueueDepth},
    Named{"ioamChecksumComplement", kChecksum},
    Named{"ioamHopLimitWide", kHopLimitWide},
    Named{"ioamNodeIdWide", kNodeIdWide},
    Named{"ioamIngressIfIdWide", kIngressIfWide},
    Named{"ioamEgressIfIdWide", kEgressIfWide},
    Named{"ioamNamespaceDataWide", kNamespaceDataWide},
    Named{"ioamBufferOccupancy", kBufferOccupancy},
    Named{"ioamOpaqueSchemaId", kOpaqueSchema},
    Named{"ioamOpaqueData", kOpaqueData},
    // ioamOptionType and ioamHopCount are implied by the other fields: understood, unused.
    Named{"ioamOptionType", kNone},
    Named{"ioamHopCount", kNone},
};

constexpr std::uint8_t kExtFlagFlowId = 0x80;
constexpr std::uint8_t kExtFlagSequence = 0x40;

// An integer field; all ones of its encoded length is RFC 9197 "unavailable".
template <typename T>
void set_field(std::optional<T>& out, Bytes b) noexcept {
    const std::uint64_t v = load_uint(b);
    if (b.empty() || b.size() > 8 || v == ipfix::all_ones(static_cast<std::uint16_t>(b.size()))) {
        out.reset();
    } else {
        out = static_cast<T>(v);
    }
}

void set_node_field(IoamNode& n, std::uint8_t role, Bytes b) {
    switch (role) {
        case kHopLimit:
            set_field(n.hop_limit, b);
            break;
        case kNodeId:
            set_field(n.node_id, b);
            break;
        case kIngressIf:
            set_field(n.ingress_if_id, b);
            break;
        case kEgressIf:
            set_field(n.egress_if_id, b);
            break;
        case kTimestampSecs:
            set_field(n.timestamp_secs, b);
            break;
        case kTimestampFrac:
            set_field(n.timestamp_frac, b);
            break;
        case kTransitDelay:
            set_field(n.transit_delay, b);
            break;
        case kNamespaceData:
            set_field(n.namespace_data, b);
            break;
        case kQueueDepth:
            set_field(n.queue_depth, b);
            break;
        case kChecksum:
            set_field(n.checksum_complement, b);
            break;
        case kHopLimitWide:
            set_field(n.hop_limit_wide, b);
            break;
        case kNodeIdWide:
            set_field(n.node_id_wide, b);
            break;
        case kIngressIfWide:
            set_field(n.ingress_if_id_wide, b);
            break;
        case kEgressIfWide:
            set_field(n.egress_if_id_wide, b);
            break;
        case kNamespaceDataWide:
            set_field(n.namespace_data_wide, b);
            break;
        case kBufferOccupancy:
            set_field(n.buffer_occupancy, b);
            break;
        case kOpaqueSchema: {
            std::optional<std::uint32_t> schema;
            set_field(schema, b);
            if (schema) {
                n.opaque_state.emplace().schema_id = *schema;
            } else {
                n.opaque_state.reset();
            }
            break;
        }
        case kOpaqueData:
            if (!b.empty()) {
                if (!n.opaque_state) {
                    n.opaque_state.emplace().schema_id = 0;
                }
                n.opaque_state->data.assign(b.begin(), b.end());
            }
            break;
        default:
            break;
    }
}

std::uint64_t observation_time(Bytes b, std::uint32_t export_time) noexcept {
    if (b.size() == 8) {
        return ipfix::ntp_to_unix_ns(load_uint(b));
    }
    return std::uint64_t{export_time} * 1'000'000'000;
}

}  // namespace

std::uint8_t role_of(std::uint32_t pen, std::uint16_t id) noexcept {
    struct Entry {
        std::uint32_t pen;
        std::uint16_t id;
        std::uint8_t role;
    };
    // Resolved once: templates are re-sent often and are parsed on the receive path.
    static const std::vector<Entry> table = [] {
        std::vector<Entry> out;
        for (const Named& n : kRoleNames) {
            if (const ipfix::ElementSpec* e = ipfix::find(n.name); e != nullptr) {
                // Understood elements without a use get a non-zero role to count as known.
                out.push_back({e->pen, e->id, n.role == kNone ? kUnderstood : n.role});
            }
        }
        return out;
    }();
    for (const Entry& e : table) {
        if (e.pen == pen && e.id == id) {
            return e.role;
        }
    }
    return kNone;
}

Status RecordDecoder::on_record(const source::RecordContext& ctx, const source::Template& t,
                                std::span<const source::Bytes> values) {
    bool trace = false;
    bool dex = false;
    for (const source::FieldSpec& f : t.fields) {
        trace = trace || f.role == kTraceData || f.role == kHopList;
        dex = dex || f.role == kDexExtFlags || f.role == kDexFlowId || f.role == kDexSequence;
    }
    if (t.options() || trace == dex) {
        stats_.ignored++;
        return Ok{};
    }
    return trace ? decode_trace(ctx, t, values) : decode_dex(ctx, t, values);
}

Status RecordDecoder::decode_trace(const source::RecordContext& ctx, const source::Template& t,
                                   std::span<const source::Bytes> values) {
    IoamTrace& tr = trace_;
    tr.observation_time_ns = std::uint64_t{ctx.export_time} * 1'000'000'000;
    tr.observation_domain = ctx.domain;
    tr.namespace_id = 0;
    tr.trace_type = 0;
    tr.node_len = 0;
    tr.flags = 0;
    tr.raw_data.clear();
    tr.nodes.clear();
    Bytes hop_list;
    bool has_list = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const Bytes b = values[i];
        switch (t.fields[i].role) {
            case kObservationTime:
                tr.observation_time_ns = observation_time(b, ctx.export_time);
                break;
            case kObservationDomain:
                tr.observation_domain = static_cast<std::uint32_t>(load_uint(b));
                break;
            case kNamespace:
                tr.namespace_id = static_cast<std::uint16_t>(load_uint(b));
                break;
            case kTraceType:
                tr.trace_type = static_cast<std::uint32_t>(load_uint(b)) & 0xffffffu;
                break;
            case kNodeLen:
                tr.node_len = static_cast<std::uint8_t>(load_uint(b));
                break;
            case kTraceFlags:
                tr.flags = static_cast<std::uint8_t>(load_uint(b));
                break;
            case kTraceData:
                tr.raw_data.assign(b.begin(), b.end());
                break;
            case kHopList:
                hop_list = b;
                has_list = true;
                break;
            default:
                break;
        }
    }
    bool decoded = false;
    if (!tr.raw_data.empty()) {
        auto nodes = decode_trace_data(tr.trace_type, tr.node_len, tr.raw_data);
        if (nodes) {
            tr.nodes = std::move(*nodes);
            decoded = true;
        } else if (!has_list) {
            return nodes.error();
        } else {
            stats_.raw_fallbacks++;
        }
    }
    if (!decoded && has_list) {
        if (Status s = decode_hop_list(ctx, hop_list); !s) {
            return s;
        }
    }
    stats_.traces++;
    const Origin origin{ctx.session.address, ctx.domain,
                        ctx.session.transport == source::Transport::tcp};
    for (TraceSink* sink : sinks_) {
        sink->consume(origin, tr);
    }
    return Ok{};
}

Status RecordDecoder::decode_hop_list(const source::RecordContext& ctx, source::Bytes list) {
    if (list.empty()) {
        return Ok{};  // an empty list: a trace no node has filled yet
    }
    if (list.size() < 3) {
        return Errc::truncated;
    }
    const source::Template* hop_t = ctx.templates.find(source::load_u16(&list[1]));
    if (hop_t == nullptr) {
        return Errc::unknown_template;
    }
    auto n = source::walk_records(*hop_t, list.subspan(3), hop_values_,
                                  [&](std::span<const source::Bytes> v) {
                                      IoamNode& node = trace_.nodes.emplace_back();
                                      for (std::size_t i = 0; i < v.size(); ++i) {
                                          set_node_field(node, hop_t->fields[i].role, v[i]);
                                      }
                                  });
    if (!n) {
        return n.error();
    }
    return Ok{};
}

Status RecordDecoder::decode_dex(const source::RecordContext& ctx, const source::Template& t,
                                 std::span<const source::Bytes> values) {
    DexReport& d = dex_;
    d = DexReport{};
    d.observation_time_ns = std::uint64_t{ctx.export_time} * 1'000'000'000;
    d.observation_domain = ctx.domain;
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence;
    bool has_ext_flags = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const Bytes b = values[i];
        switch (t.fields[i].role) {
            case kObservationTime:
                d.observation_time_ns = observation_time(b, ctx.export_time);
                break;
            case kObservationDomain:
                d.observation_domain = static_cast<std::uint32_t>(load_uint(b));
                break;
            case kNamespace:
                d.namespace_id = static_cast<std::uint16_t>(load_uint(b));
                break;
            case kTraceType:
                d.trace_type = static_cast<std::uint32_t>(load_uint(b)) & 0xffffffu;
                break;
            case kDexFlags:
                d.flags = static_cast<std::uint8_t>(load_uint(b));
                break;
            case kDexExtFlags:
                d.ext_flags = static_cast<std::uint8_t>(load_uint(b));
                has_ext_flags = true;
                break;
            case kDexFlowId:
                flow_id = static_cast<std::uint32_t>(load_uint(b));
                break;
            case kDexSequence:
                sequence = static_cast<std::uint32_t>(load_uint(b));
                break;
            default:
                set_node_field(d.node, t.fields[i].role, b);
                break;
        }
    }
    // Presence follows the extension flags, so a real all-ones flow id survives; without the
    // flags, all ones means absent as for any other field.
    if (has_ext_flags) {
        d.flow_id = (d.ext_flags & kExtFlagFlowId) ? flow_id : std::nullopt;
        d.sequence_number = (d.ext_flags & kExtFlagSequence) ? sequence : std::nullopt;
    } else {
        d.flow_id = flow_id != 0xffffffffu ? flow_id : std::nullopt;
        d.sequence_number = sequence != 0xffffffffu ? sequence : std::nullopt;
    }
    stats_.dex_reports++;
    const Origin origin{ctx.session.address, ctx.domain,
                        ctx.session.transport == source::Transport::tcp};
    for (TraceSink* sink : sinks_) {
        sink->consume(origin, d);
    }
    return Ok{};
}

}  // namespace ioam::collector::decode
