#include "collector/decode/record_decoder.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include "common/ioam/node_data.hpp"
#include "common/ioam/node_fields.hpp"
#include "common/ioam/trace_type.hpp"
#include "common/ipfix/ioam_elements.hpp"
#include "common/ipfix/record_layouts.hpp"
#include "common/util/counter.hpp"

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
    kOpaqueSchema,
    kOpaqueData,
    // Sampling options record (RFC 5477 section 8.2.2-3).
    kSamplingInterval,
    kSamplingSpace,
    // Per-node fields from here on: kNodeField + their row in the node field table.
    kNodeField,
    kUnderstood = 0xff,
};
static_assert(kNodeField + node_fields::kCount < kUnderstood, "roles are one octet");
static_assert(kNodeField <= 64, "on_record() dispatches on Template::roles, which holds 64");

struct Named {
    std::string_view name;
    Role role;
};

// Element names are the registry's (common/ipfix/ioam_elements.cpp): the numbers come from
// there, so they are written down once. The per-node fields follow from the node field table.
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
    Named{"ioamOpaqueSchemaId", kOpaqueSchema},
    Named{"ioamOpaqueData", kOpaqueData},
    Named{"samplingPacketInterval", kSamplingInterval},
    Named{"samplingPacketSpace", kSamplingSpace},
    // ioamOptionType and ioamHopCount are implied by the other fields: understood, unused.
    Named{"ioamOptionType", kNone},
    Named{"ioamHopCount", kNone},
};

constexpr std::uint8_t kExtFlagFlowId = 0x80;
constexpr std::uint8_t kExtFlagSequence = 0x40;

// What one IOAM Pre-allocated Trace option can hold (RFC 9197 section 4.4): its data length
// is one octet of 4-octet words, so at most 255 words of node data, hence at most 255 nodes.
constexpr std::size_t kMaxNodeDataOctets = 255 * 4;
constexpr std::size_t kMaxNodes = 255;

constexpr std::uint64_t kMax24 = 0xffffff;      // trace type, opaque state schema id
constexpr std::uint64_t kMaxNodeLen = 0x1f;     // NodeLen: 5 bits
constexpr std::uint64_t kMaxTraceFlags = 0x0f;  // trace option flags: 4 bits

// An unsigned field that must fit `max`: a wider value is rejected (Errc::invalid_argument),
// never truncated into another, valid-looking value.
Result<std::uint64_t> bounded(Bytes b, std::uint64_t max) noexcept {
    const std::uint64_t v = load_uint(b);
    if (b.size() > 8 || v > max) {
        return Errc::invalid_argument;
    }
    return v;
}

// A node field; all ones of its encoded length is RFC 9197 "unavailable".
template <typename T>
Status set_field(std::optional<T>& out, Bytes b,
                 std::uint64_t max = std::numeric_limits<T>::max()) noexcept {
    if (b.empty() ||
        (b.size() <= 8 && load_uint(b) == ipfix::all_ones(static_cast<std::uint16_t>(b.size())))) {
        out.reset();
        return Ok{};
    }
    auto v = bounded(b, max);
    if (!v) {
        return v.error();
    }
    out = static_cast<T>(*v);
    return Ok{};
}

using SetNodeField = Status (*)(IoamNode&, Bytes) noexcept;

// One setter per node field table row, indexed by role - kNodeField.
constexpr auto kNodeFieldSetters = [] {
    std::array<SetNodeField, node_fields::kCount> out{};
    node_fields::for_each([&](auto i) {
        out[i] = [](IoamNode& n, Bytes b) noexcept {
            constexpr const auto& f = node_fields::row<decltype(i)::value>;
            return set_field(n.*f.member, b, f.max());
        };
    });
    return out;
}();

Status set_node_field(IoamNode& n, std::uint8_t role, Bytes b) {
    if (role >= kNodeField && role < kNodeField + node_fields::kCount) {
        return kNodeFieldSetters[role - kNodeField](n, b);
    }
    switch (role) {
        case kOpaqueSchema: {
            std::optional<std::uint32_t> schema;
            if (Status st = set_field(schema, b, kMax24); !st) {
                return st;
            }
            if (schema) {
                n.opaque_state.emplace().schema_id = *schema;
            } else {
                n.opaque_state.reset();
            }
            return Ok{};
        }
        case kOpaqueData:
            if (b.size() > kMaxNodeDataOctets) {
                return Errc::too_large;
            }
            // Opaque State Snapshot is counted in 4-octet words (RFC 9197 section 4.4.2.12):
            // a partial word cannot be written back into an option.
            if (b.size() % 4 != 0) {
                return Errc::invalid_argument;
            }
            if (!b.empty()) {
                if (!n.opaque_state) {
                    n.opaque_state.emplace().schema_id = 0;
                }
                n.opaque_state->data.assign(b.begin(), b.end());
            }
            return Ok{};
        default:
            return Ok{};
    }
}

// The fields traces and DEX reports share; other roles are left alone.
Status set_header_field(std::uint8_t role, Bytes b, std::uint32_t& domain,
                        std::uint16_t& namespace_id, std::uint32_t& trace_type) noexcept {
    if (role != kObservationDomain && role != kNamespace && role != kTraceType) {
        return Ok{};
    }
    auto v = bounded(b, role == kObservationDomain ? 0xffffffffu
                        : role == kNamespace       ? 0xffffu
                                                   : kMax24);
    if (!v) {
        return v.error();
    }
    if (role == kObservationDomain) {
        domain = static_cast<std::uint32_t>(*v);
    } else if (role == kNamespace) {
        namespace_id = static_cast<std::uint16_t>(*v);
    } else {
        trace_type = static_cast<std::uint32_t>(*v);
    }
    return Ok{};
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
        for (std::size_t i = 0; i < node_fields::kCount; ++i) {
            const ipfix::ElementSpec& e = node_fields::kInfo[i].element;
            out.push_back({e.pen, e.id, static_cast<std::uint8_t>(kNodeField + i)});
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
    const bool trace = t.has_role(kTraceData) || t.has_role(kHopList);
    const bool dex = t.has_role(kDexExtFlags) || t.has_role(kDexFlowId) || t.has_role(kDexSequence);
    if (t.options()) {
        return decode_options(ctx, t, values);
    }
    if (t.reference_exporter) {
        return decode_reference(ctx, t, values);
    }
    if (trace == dex) {
        add_single_writer(stats_.ignored);
        return Ok{};
    }
    return trace ? decode_trace(ctx, t, values) : decode_dex(ctx, t, values);
}

// An exporter's sampling options record: it keeps `interval` packets of every
// `interval + space`. Other options records are not ours.
Status RecordDecoder::decode_options(const source::RecordContext& ctx, const source::Template& t,
                                     std::span<const source::Bytes> values) {
    std::optional<std::uint64_t> interval;
    std::optional<std::uint64_t> space;
    for (std::size_t i = 0; i < t.fields.size() && i < values.size(); ++i) {
        if (t.fields[i].role == kSamplingInterval) {
            interval = load_uint(values[i]);
        } else if (t.fields[i].role == kSamplingSpace) {
            space = load_uint(values[i]);
        }
    }
    if (!interval || !space) {
        add_single_writer(stats_.ignored);
        return Ok{};
    }
    // Only 1-in-N is what the exporter sends; anything else is not a ratio we can scale by.
    if (*interval != 1 || *space >= kMaxSampleOneIn) {
        return Errc::invalid_argument;
    }
    if (sampling_.size() >= kMaxSamplingEntries &&
        !sampling_.contains({ctx.session.id, ctx.domain})) {
        sampling_.clear();  // bounded: a re-sent options record teaches it again
    }
    // The records before it in this message were sampled at the rate it replaces.
    flush(ctx);
    sampling_[{ctx.session.id, ctx.domain}] = static_cast<std::uint32_t>(*space + 1);
    add_single_writer(stats_.sampling_records);
    return Ok{};
}

void RecordDecoder::on_message_end(const source::RecordContext& ctx) {
    flush(ctx);
}

std::uint32_t RecordDecoder::sample_one_in(source::SessionId session,
                                           std::uint32_t domain) const noexcept {
    const auto it = sampling_.find({session, domain});
    return it == sampling_.end() ? 1 : it->second;
}

Status RecordDecoder::decode_trace(const source::RecordContext& ctx, const source::Template& t,
                                   std::span<const source::Bytes> values) {
    IoamTrace& tr = traces_.next();
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
        const std::uint8_t role = t.fields[i].role;
        if (role == kTraceData) {
            if (b.size() > kMaxNodeDataOctets) {
                return Errc::too_large;
            }
            tr.raw_data.assign(b.begin(), b.end());
        } else if (role == kHopList) {
            hop_list = b;
            has_list = true;
        } else if (role == kObservationTime) {
            tr.observation_time_ns = observation_time(b, ctx.export_time);
        } else if (Status st = set_header_field(role, b, tr.observation_domain, tr.namespace_id,
                                                tr.trace_type);
                   !st) {
            return st;
        } else if (role == kNodeLen || role == kTraceFlags) {
            auto v = bounded(b, role == kNodeLen ? kMaxNodeLen : kMaxTraceFlags);
            if (!v) {
                return v.error();
            }
            (role == kNodeLen ? tr.node_len : tr.flags) = static_cast<std::uint8_t>(*v);
        }
    }
    bool decoded = false;
    if (!tr.raw_data.empty()) {
        const Status st = decode_trace_data(tr.trace_type, tr.node_len, tr.raw_data, tr.nodes);
        if (st) {
            decoded = true;
        } else if (!has_list) {
            return st;
        } else {
            tr.nodes.clear();
            add_single_writer(stats_.raw_fallbacks);
        }
    }
    if (!decoded && has_list) {
        if (Status s = decode_hop_list(ctx, hop_list, tr); !s) {
            return s;
        }
    }
    add_single_writer(stats_.traces);
    traces_from_raw_ += decoded ? 1 : 0;
    commit(ctx, traces_);
    return Ok{};
}

Origin RecordDecoder::origin(const source::RecordContext& ctx) const noexcept {
    return {ctx.session.address, ctx.domain, ctx.session.transport == source::Transport::tcp,
            sample_one_in(ctx.session.id, ctx.domain)};
}

template <typename Record>
void RecordDecoder::commit(const source::RecordContext& ctx, Pending<Record>& pending) {
    if (++pending.size == kMaxBatch) {
        flush(ctx);
    }
}

void RecordDecoder::flush(const source::RecordContext& ctx) {
    if (traces_.size == 0 && dex_.size == 0) {
        return;
    }
    Origin o = origin(ctx);
    o.nodes_from_raw = traces_from_raw_ == traces_.size;
    const std::span<IoamTrace> traces(traces_.records.data(), traces_.size);
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
        // The last sink may take the traces: they are scratch, decoded into again.
        if (!traces.empty() && i + 1 == sinks_.size()) {
            sinks_[i]->take(o, traces);
        } else if (!traces.empty()) {
            sinks_[i]->consume(o, std::span<const IoamTrace>(traces));
        }
        if (dex_.size > 0) {
            sinks_[i]->consume(o, std::span<const DexReport>(dex_.records.data(), dex_.size));
        }
    }
    traces_.size = 0;
    traces_from_raw_ = 0;
    dex_.size = 0;
}

Status RecordDecoder::decode_hop_list(const source::RecordContext& ctx, source::Bytes list,
                                      IoamTrace& tr) {
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
    // Nodes beyond what an IOAM option holds are not built: a 64 KB list of one-octet hops
    // must not become a multi-megabyte trace.
    Status status = Ok{};
    std::size_t opaque_octets = 0;
    auto n = source::walk_records(
        *hop_t, list.subspan(3), hop_values_, [&](std::span<const source::Bytes> v) {
            if (!status) {
                return;
            }
            if (tr.nodes.size() == kMaxNodes) {
                status = Errc::too_large;
                return;
            }
            IoamNode& node = tr.nodes.emplace_back();
            for (std::size_t i = 0; i < v.size() && status; ++i) {
                status = set_node_field(node, hop_t->fields[i].role, v[i]);
            }
            opaque_octets += node.opaque_state ? node.opaque_state->data.size() : 0;
        });
    if (!n) {
        return n.error();
    }
    if (status && tr.nodes.size() * tr.node_len * 4 + opaque_octets > kMaxNodeDataOctets) {
        status = Errc::too_large;
    }
    return status;
}

Status RecordDecoder::decode_dex(const source::RecordContext& ctx, const source::Template& t,
                                 std::span<const source::Bytes> values) {
    if (Status st = parse_dex(ctx, t, values); !st) {
        return st;
    }
    add_single_writer(stats_.dex_reports);
    commit(ctx, dex_);
    return Ok{};
}

Status RecordDecoder::parse_dex(const source::RecordContext& ctx, const source::Template& t,
                                std::span<const source::Bytes> values) {
    DexReport& d = dex_.next();
    d = DexReport{};
    d.observation_time_ns = std::uint64_t{ctx.export_time} * 1'000'000'000;
    d.observation_domain = ctx.domain;
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence;
    bool has_ext_flags = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const Bytes b = values[i];
        Status st = Ok{};
        switch (t.fields[i].role) {
            case kObservationTime:
                d.observation_time_ns = observation_time(b, ctx.export_time);
                break;
            case kObservationDomain:
            case kNamespace:
            case kTraceType:
                st = set_header_field(t.fields[i].role, b, d.observation_domain, d.namespace_id,
                                      d.trace_type);
                break;
            case kDexFlags:
            case kDexExtFlags:
                if (auto v = bounded(b, 0xff); v) {
                    (t.fields[i].role == kDexFlags ? d.flags : d.ext_flags) =
                        static_cast<std::uint8_t>(*v);
                    has_ext_flags = has_ext_flags || t.fields[i].role == kDexExtFlags;
                } else {
                    st = v.error();
                }
                break;
            case kDexFlowId:
            case kDexSequence:
                if (auto v = bounded(b, 0xffffffffu); v) {
                    (t.fields[i].role == kDexFlowId ? flow_id : sequence) =
                        static_cast<std::uint32_t>(*v);
                } else {
                    st = v.error();
                }
                break;
            default:
                st = set_node_field(d.node, t.fields[i].role, b);
                break;
        }
        if (!st) {
            return st;
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
    return Ok{};
}

namespace {

// The trace type the reference exporter's fields imply (it sends none): the bits whose
// fields its template carries. Transit delay, checksum and buffer occupancy it never sends.
std::uint32_t reference_trace_type(const source::Template& t) noexcept {
    using trace_type::bit;
    // By element id: 0 namespace and 1 hop limit imply nothing, 15-16 are DEX fields.
    constexpr std::array<std::uint32_t, 17> kBits = {
        0,      0,      bit(0), bit(1),  bit(1),  bit(2),  bit(3), bit(5), bit(6),
        bit(8), bit(9), bit(9), bit(10), bit(22), bit(22), 0,      0};
    std::uint32_t type = 0;
    for (const source::FieldSpec& f : t.fields) {
        type |= kBits[f.id];  // ids < 17: source::is_reference_exporter()
    }
    return type;
}

// Its one hop limit element is the node's for bit 0 or bit 8, whichever the trace has.
void fix_reference_hop_limit(IoamNode& node, std::uint32_t type) noexcept {
    if ((type & trace_type::bit(8)) != 0) {
        node.hop_limit_wide = node.hop_limit;
    }
    if ((type & trace_type::bit(0)) == 0) {
        node.hop_limit.reset();
    }
}

}  // namespace

// Node ids (3 and 7 octets) and the opaque schema id (3 octets) are written little-endian
// (ioam-exporter ipfix.go, encodeIoam): reversed here into scratch octets.
std::span<const source::Bytes> RecordDecoder::undo_reference_byte_order(
    const source::Template& t, std::span<const source::Bytes> values) {
    reference_values_.assign(values.begin(), values.end());
    reference_octets_.resize(values.size() * 8);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t id = t.fields[i].id;
        if (id != 2 && id != 9 && id != 13) {
            continue;
        }
        std::uint8_t* out = &reference_octets_[i * 8];
        std::reverse_copy(values[i].begin(), values[i].end(), out);
        reference_values_[i] = source::Bytes(out, values[i].size());
    }
    return reference_values_;
}

Status RecordDecoder::decode_reference(const source::RecordContext& ctx, const source::Template& t,
                                       std::span<const source::Bytes> in) {
    add_single_writer(stats_.reference_records);
    const std::span<const source::Bytes> values = undo_reference_byte_order(t, in);
    const std::uint32_t type = reference_trace_type(t);
    const bool dex = std::any_of(t.fields.begin(), t.fields.end(), [](const source::FieldSpec& f) {
        return f.role == kDexFlowId || f.role == kDexSequence;
    });
    if (dex) {
        if (Status st = parse_dex(ctx, t, values); !st) {
            return st;
        }
        DexReport& d = dex_.records[dex_.size];
        d.trace_type = type;
        fix_reference_hop_limit(d.node, type);
        add_single_writer(stats_.dex_reports);
        commit(ctx, dex_);
        return Ok{};
    }
    IoamTrace& tr = reference_trace_;
    if (tr.nodes.size() == kMaxNodes) {
        return Errc::too_large;
    }
    IoamNode node;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint8_t role = t.fields[i].role;
        Status st = role == kNamespace ? set_header_field(role, values[i], tr.observation_domain,
                                                          tr.namespace_id, tr.trace_type)
                                       : set_node_field(node, role, values[i]);
        if (!st) {
            return st;
        }
    }
    fix_reference_hop_limit(node, type);
    tr.nodes.push_back(std::move(node));
    return Ok{};
}

// The reference exporter's trace message ends: its nodes, in the order of the option's data
// (the last node to write it first), become one trace.
Status RecordDecoder::on_set_end(const source::RecordContext& ctx, const source::Template& t) {
    IoamTrace& tr = reference_trace_;
    if (!t.reference_exporter || tr.nodes.empty()) {
        return Ok{};  // the records wait for the message's end
    }
    tr.observation_time_ns = std::uint64_t{ctx.export_time} * 1'000'000'000;
    tr.observation_domain = ctx.domain;
    tr.trace_type = reference_trace_type(t);
    tr.node_len = trace_type::node_len(tr.trace_type);
    tr.flags = 0;
    tr.raw_data.clear();
    Status st = Ok{};
    for (const IoamNode& node : tr.nodes) {
        if (st = encode_node(tr.trace_type, node, tr.raw_data); !st) {
            break;
        }
    }
    if (st && tr.raw_data.size() > kMaxNodeDataOctets) {
        st = Errc::too_large;
    }
    if (st) {
        add_single_writer(stats_.traces);
        std::swap(traces_.next(), tr);  // the scratch it takes back is cleared below
        commit(ctx, traces_);
    }
    tr.nodes.clear();
    tr.namespace_id = 0;
    return st;
}

}  // namespace ioam::collector::decode
