#include "common/ipfix/record_layouts.hpp"

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "common/ioam/node_fields.hpp"

namespace ioam::ipfix {
namespace {

constexpr std::uint32_t bit(unsigned n) {
    return 0x800000u >> n;
}
constexpr std::uint32_t kOpaqueBit = bit(22);
constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;
constexpr std::uint64_t kNtpToUnixSeconds = 2'208'988'800;  // 1900-01-01 to 1970-01-01
constexpr std::uint8_t kExtFlagFlowId = 0x80;
constexpr std::uint8_t kExtFlagSequence = 0x40;

using Getter = Accessor<IoamNode>::Read;
using Setter = void (*)(IoamNode&, std::optional<std::uint64_t>);

// One integer per-node element: which trace-type bit brings it and where it lives in IoamNode.
struct NodeField {
    std::string_view name;
    std::uint32_t bit;
    Getter get;
    Setter set;
};

template <typename T>
std::optional<std::uint64_t> widen(const std::optional<T>& v) noexcept {
    return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
}

template <typename T>
std::optional<T> narrow(std::optional<std::uint64_t> v) {
    return v ? std::optional<T>(static_cast<T>(*v)) : std::nullopt;
}

// Row I of the node field table as a NodeField.
template <std::size_t I>
constexpr NodeField field() {
    using Row = std::remove_cvref_t<decltype(node_fields::row<I>)>;
    return {node_fields::row<I>.element.name, bit(node_fields::row<I>.bit),
            [](const IoamNode& n) noexcept { return widen(n.*Row::member); },
            [](IoamNode& n, std::optional<std::uint64_t> v) {
                n.*Row::member = narrow<typename Row::value_type>(v);
            }};
}

constexpr NodeField kOpaqueSchemaField{
    "ioamOpaqueSchemaId", kOpaqueBit,
    [](const IoamNode& n) noexcept {
        return n.opaque_state ? std::optional<std::uint64_t>(n.opaque_state->schema_id)
                              : std::nullopt;
    },
    [](IoamNode& n, std::optional<std::uint64_t> v) {
        if (!v) {
            n.opaque_state.reset();
            return;
        }
        if (!n.opaque_state) {
            n.opaque_state.emplace();
        }
        n.opaque_state->schema_id = static_cast<std::uint32_t>(*v);
    }};

// Bit order, and within a bit the order of the fields on the wire: the table's rows, then the
// opaque state snapshot's schema id (bit 22).
constexpr auto kNodeFields = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array{field<I>()..., kOpaqueSchemaField};
}
(std::make_index_sequence<node_fields::kCount>{});

const NodeField* node_field(const ElementSpec& e) {
    for (const auto& f : kNodeFields) {
        if (f.name == e.name && e.pen == kPen) {
            return &f;
        }
    }
    return nullptr;
}

// A DEX report's own node fields, read through kNodeFields.
template <std::size_t I>
std::optional<std::uint64_t> dex_node_read(const DexReport& d) noexcept {
    return kNodeFields[I].get(d.node);
}
template <std::size_t... I>
constexpr auto dex_node_reads(std::index_sequence<I...>) {
    return std::array<Accessor<DexReport>::Read, sizeof...(I)>{&dex_node_read<I>...};
}
constexpr auto kDexNodeReads = dex_node_reads(std::make_index_sequence<kNodeFields.size()>{});

const ElementSpec& element(std::string_view name) {
    // Every name used here is in the table; a typo is a bug the unit tests catch at once.
    return *find(name);
}

// The record-level elements, resolved once so that per-record lookups compare numbers.
struct Known {
    const ElementSpec& time = element("observationTimeNanoseconds");
    const ElementSpec& domain = element("observationDomainId");
    const ElementSpec& ns = element("ioamNamespaceId");
    const ElementSpec& trace_type = element("ioamTraceType");
    const ElementSpec& node_len = element("ioamNodeLength");
    const ElementSpec& trace_flags = element("ioamTraceFlags");
    const ElementSpec& hop_count = element("ioamHopCount");
    const ElementSpec& flow_id = element("ioamDexFlowId");
    const ElementSpec& seq = element("ioamDexSequenceNumber");
    const ElementSpec& dex_flags = element("ioamDexFlags");
    const ElementSpec& ext_flags = element("ioamDexExtFlags");
};

const Known& known() {
    static const Known k;
    return k;
}

bool is(const ElementSpec& e, const ElementSpec& k) {
    return e.pen == k.pen && e.id == k.id;
}

std::optional<std::uint64_t> decode(const ElementSpec& e, std::uint64_t v) {
    return v == all_ones(e.length) ? std::nullopt : std::optional<std::uint64_t>(v);
}

bool is_integer(const ElementSpec& e) {
    return e.length != kVarLen && e.type != DataType::octetArray;
}

void append(Layout& out, std::initializer_list<std::string_view> names) {
    for (const auto name : names) {
        out.push_back(&element(name));
    }
}

std::uint64_t hop_count(const IoamTrace& t) {
    if (!t.nodes.empty() || t.node_len == 0 || (t.trace_type & kOpaqueBit) != 0) {
        return t.nodes.size();
    }
    return t.raw_data.size() / (4u * t.node_len);
}

}  // namespace

std::uint64_t unix_ns_to_ntp(std::uint64_t unix_ns) noexcept {
    const std::uint64_t secs = unix_ns / kNanosPerSecond + kNtpToUnixSeconds;
    const std::uint64_t rem = unix_ns % kNanosPerSecond;
    // Rounding the fraction up makes the truncating decode below give `rem` back exactly.
    const std::uint64_t frac = ((rem << 32) + kNanosPerSecond - 1) / kNanosPerSecond;
    return (secs << 32) + frac;  // seconds wrap modulo 2^32 at the 2036 era boundary
}

std::uint64_t ntp_to_unix_ns(std::uint64_t ntp) noexcept {
    std::uint64_t secs = ntp >> 32;
    if ((secs & 0x80000000u) == 0) {
        secs += std::uint64_t{1} << 32;  // era 1: 2036-2104
    }
    if (secs < kNtpToUnixSeconds) {
        return 0;  // before 1970: not representable, clamp
    }
    const std::uint64_t frac = ((ntp & 0xffffffffu) * kNanosPerSecond) >> 32;
    return (secs - kNtpToUnixSeconds) * kNanosPerSecond + frac;
}

std::uint16_t layout_key(std::uint32_t trace_type) noexcept {
    return static_cast<std::uint16_t>(((trace_type >> 11) & 0x1ffeu) |
                                      ((trace_type & kOpaqueBit) >> 1));
}

std::uint16_t hop_template_id(std::uint32_t trace_type) noexcept {
    return static_cast<std::uint16_t>(kHopTemplateBase + layout_key(trace_type));
}

std::uint16_t dex_template_id(std::uint32_t trace_type) noexcept {
    return static_cast<std::uint16_t>(kDexTemplateBase + layout_key(trace_type));
}

Layout hop_fields(std::uint32_t trace_type) {
    Layout out;
    for (const auto& f : kNodeFields) {
        if ((trace_type & f.bit) != 0) {
            out.push_back(&element(f.name));
        }
    }
    if ((trace_type & kOpaqueBit) != 0) {
        append(out, {"ioamOpaqueData"});
    }
    return out;
}

Layout trace_record_fields(bool with_hops) {
    Layout out;
    append(out,
           {"observationTimeNanoseconds", "observationDomainId", "ioamNamespaceId", "ioamTraceType",
            "ioamNodeLength", "ioamTraceFlags", "ioamHopCount", "ioamTraceData"});
    if (with_hops) {
        append(out, {"subTemplateList"});
    }
    return out;
}

Layout sampling_options_fields() {
    Layout out;
    append(out, {"observationDomainId", "samplingPacketInterval", "samplingPacketSpace"});
    return out;
}

Layout dex_record_fields(std::uint32_t trace_type) {
    Layout out;
    append(out,
           {"observationTimeNanoseconds", "observationDomainId", "ioamNamespaceId", "ioamDexFlowId",
            "ioamDexSequenceNumber", "ioamDexFlags", "ioamDexExtFlags", "ioamTraceType"});
    const auto hops = hop_fields(trace_type);
    out.insert(out.end(), hops.begin(), hops.end());
    return out;
}

Accessor<IoamNode> node_accessor(const ElementSpec& e) noexcept {
    const auto* f = node_field(e);
    return f == nullptr ? Accessor<IoamNode>{} : Accessor<IoamNode>{e, f->get};
}

Result<std::uint64_t> node_value(const IoamNode& node, const ElementSpec& e) noexcept {
    return node_accessor(e)(node);
}

Status set_node_value(IoamNode& node, const ElementSpec& e, std::uint64_t value) noexcept {
    const auto* f = node_field(e);
    if (f == nullptr) {
        return Errc::invalid_argument;
    }
    if (value > all_ones(e.length)) {
        return Errc::too_large;
    }
    f->set(node, decode(e, value));
    return Ok{};
}

std::span<const std::uint8_t> node_opaque_data(const IoamNode& node) noexcept {
    if (!node.opaque_state) {
        return {};
    }
    return node.opaque_state->data;
}

Status set_node_opaque_data(IoamNode& node, std::span<const std::uint8_t> data) {
    if (!node.opaque_state) {
        return data.empty() ? Status(Ok{}) : Status(Errc::invalid_argument);
    }
    node.opaque_state->data.assign(data.begin(), data.end());
    return Ok{};
}

Accessor<IoamTrace> trace_accessor(const ElementSpec& e) noexcept {
    using Value = std::optional<std::uint64_t>;
    const auto& k = known();
    if (is(e, k.time)) {
        return {e, [](const IoamTrace& t) noexcept -> Value {
                    return unix_ns_to_ntp(t.observation_time_ns);
                }};
    }
    if (is(e, k.domain)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return t.observation_domain; }};
    }
    if (is(e, k.ns)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return t.namespace_id; }};
    }
    if (is(e, k.trace_type)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return t.trace_type; }};
    }
    if (is(e, k.node_len)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return t.node_len; }};
    }
    if (is(e, k.trace_flags)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return t.flags; }};
    }
    if (is(e, k.hop_count)) {
        return {e, [](const IoamTrace& t) noexcept -> Value { return hop_count(t); }};
    }
    return {};
}

Result<std::uint64_t> trace_value(const IoamTrace& t, const ElementSpec& e) noexcept {
    return trace_accessor(e)(t);
}

Status set_trace_value(IoamTrace& t, const ElementSpec& e, std::uint64_t v) noexcept {
    const auto& k = known();
    if (!is_integer(e) || v > all_ones(e.length)) {
        return is_integer(e) ? Errc::too_large : Errc::invalid_argument;
    }
    if (is(e, k.time)) {
        t.observation_time_ns = ntp_to_unix_ns(v);
    } else if (is(e, k.domain)) {
        t.observation_domain = static_cast<std::uint32_t>(v);
    } else if (is(e, k.ns)) {
        t.namespace_id = static_cast<std::uint16_t>(v);
    } else if (is(e, k.trace_type)) {
        t.trace_type = static_cast<std::uint32_t>(v);
    } else if (is(e, k.node_len)) {
        t.node_len = static_cast<std::uint8_t>(v);
    } else if (is(e, k.trace_flags)) {
        t.flags = static_cast<std::uint8_t>(v);
    } else if (!is(e, k.hop_count)) {
        return Errc::invalid_argument;
    }
    return Ok{};
}

Accessor<DexReport> dex_accessor(const ElementSpec& e) noexcept {
    using Value = std::optional<std::uint64_t>;
    const auto& k = known();
    if (is(e, k.time)) {
        return {e, [](const DexReport& d) noexcept -> Value {
                    return unix_ns_to_ntp(d.observation_time_ns);
                }};
    }
    if (is(e, k.domain)) {
        return {e, [](const DexReport& d) noexcept -> Value { return d.observation_domain; }};
    }
    if (is(e, k.ns)) {
        return {e, [](const DexReport& d) noexcept -> Value { return d.namespace_id; }};
    }
    if (is(e, k.flow_id)) {
        return {e, [](const DexReport& d) noexcept { return widen(d.flow_id); }};
    }
    if (is(e, k.seq)) {
        return {e, [](const DexReport& d) noexcept { return widen(d.sequence_number); }};
    }
    if (is(e, k.dex_flags)) {
        return {e, [](const DexReport& d) noexcept -> Value { return d.flags; }};
    }
    if (is(e, k.ext_flags)) {
        return {e, [](const DexReport& d) noexcept -> Value { return d.ext_flags; }};
    }
    if (is(e, k.trace_type)) {
        return {e, [](const DexReport& d) noexcept -> Value { return d.trace_type; }};
    }
    const auto* f = node_field(e);
    if (f == nullptr) {
        return {};
    }
    return {e, kDexNodeReads[static_cast<std::size_t>(f - kNodeFields.data())]};
}

Result<std::uint64_t> dex_value(const DexReport& d, const ElementSpec& e) noexcept {
    return dex_accessor(e)(d);
}

Status set_dex_value(DexReport& d, const ElementSpec& e, std::uint64_t v) noexcept {
    const auto& k = known();
    if (!is_integer(e) || v > all_ones(e.length)) {
        return is_integer(e) ? Errc::too_large : Errc::invalid_argument;
    }
    if (is(e, k.time)) {
        d.observation_time_ns = ntp_to_unix_ns(v);
    } else if (is(e, k.domain)) {
        d.observation_domain = static_cast<std::uint32_t>(v);
    } else if (is(e, k.ns)) {
        d.namespace_id = static_cast<std::uint16_t>(v);
    } else if (is(e, k.flow_id)) {
        d.flow_id = static_cast<std::uint32_t>(v);
    } else if (is(e, k.seq)) {
        d.sequence_number = static_cast<std::uint32_t>(v);
    } else if (is(e, k.dex_flags)) {
        d.flags = static_cast<std::uint8_t>(v);
    } else if (is(e, k.ext_flags)) {
        d.ext_flags = static_cast<std::uint8_t>(v);
        if ((d.ext_flags & kExtFlagFlowId) == 0) {
            d.flow_id.reset();
        }
        if ((d.ext_flags & kExtFlagSequence) == 0) {
            d.sequence_number.reset();
        }
    } else if (is(e, k.trace_type)) {
        d.trace_type = static_cast<std::uint32_t>(v);
    } else {
        return set_node_value(d.node, e, v);
    }
    return Ok{};
}

}  // namespace ioam::ipfix
