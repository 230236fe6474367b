#pragma once
// The IOAM node data fields (RFC 9197 section 4.4.2), one row each: the only place a field is
// described. Every per-field codec walks this table at compile time instead of naming fields:
//   wire (node data lists)     common/ioam/node_data.cpp       bit, bits, always
//   IPFIX elements, layouts    common/ipfix/ioam_elements.cpp, record_layouts.cpp   element
//   IPFIX records -> model     collector/decode/record_decoder.cpp                  element
//   netlink DEX events         exporter/decode/event_decoder.cpp                   bit, bits
//   JSON                       common/json/ioam_json.cpp                           json
//   store blob, v1/v2 columns  collector/store/node_codec.cpp, sqlite_backend.cpp  (index), column
// The generated element docs (docs/ipfix-elements.md, docs/ioam-elements.xml) follow from the
// elements. tests/collector/node_fields_test.cpp round-trips every row through every codec.
//
// To add a field: add its std::optional member to IoamNode (common/model/ioam_trace.hpp) and
// one row here, in trace-type bit order, with a new enterprise element id; then regenerate the
// element docs (ioam-ie-gen). No codec changes. A field of a bit the code still treats as
// undefined (12-21) also needs that bit moved to the defined ones in common/ioam/trace_type.hpp
// and, for DEX events, the kernel's attribute for it (exporter/decode/event_decoder.hpp): the
// static_asserts below and in the event decoder stop the build until then. Rows are appended,
// never inserted: the store's presence mask numbers rows by position, so an inserted row would
// misread stored blobs (node_fields_test pins the existing positions).
//
// Not in the table: the Opaque State Snapshot (bit 22), variable length and not an integer;
// each codec handles it after the rows.
//
// Zero cost: the rows are constants of distinct types (one per member pointer) iterated with a
// fold over their index, so a codec compiles to the straight-line code one would write by hand,
// with no loop or lookup per field. Where the field is known only at run time (an IPFIX
// template's element, a DEX event's attribute) one array index picks its straight-line setter.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/ipfix/ioam_elements.hpp"
#include "common/model/ioam_trace.hpp"

namespace ioam::node_fields {

struct Info {
    unsigned bit;   // RFC 9197 trace-type bit that brings the field (0-11)
    unsigned bits;  // width on the wire; the fields of one bit share one 4- or 8-octet word, in
                    // row order, most significant first
    bool always;    // all ones is a value, not "unavailable" (the hop limits, RFC 9197 4.4.2.1)
    ipfix::ElementSpec element;  // its IPFIX element in hop and DEX records
    std::string_view json;       // key in a node's JSON object
    std::string_view column;     // column of the schema v1/v2 `hops` table, "" when none

    // All ones over the field's width: the "unavailable" value and the largest one.
    constexpr std::uint64_t max() const noexcept {
        return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    }
};

// A row: Info plus the IoamNode member, as a type so that access compiles to a plain load.
template <auto Member>
struct Field : Info {
    static constexpr auto member = Member;
    using value_type =
        typename std::remove_cvref_t<decltype(std::declval<IoamNode&>().*Member)>::value_type;
};

template <auto Member>
constexpr Field<Member> field(Info info) {
    return {info};
}

using enum ipfix::DataType;
using ipfix::kPen;

inline constexpr std::tuple kFields{
    field<&IoamNode::hop_limit>(
        {.bit = 0,
         .bits = 8,
         .always = true,
         .element = {"ioamHopLimit", kPen, 1, 1, unsigned8, "quantity", "hops",
                     "Hop_Lim a node recorded (trace type bit 0): the IPv6 Hop Limit of the "
                     "packet when that node processed it (RFC 9197 section 4.4.2.1)."},
         .json = "hop_limit",
         .column = "hop_limit"}),
    field<&IoamNode::node_id>(
        {.bit = 0,
         .bits = 24,
         .always = false,
         .element = {"ioamNodeId", kPen, 2, 3, unsigned32, "identifier", "",
                     "24-bit node_id a node recorded (trace type bit 0), unique within the IOAM "
                     "namespace (RFC 9197 section 4.4.2.1)."},
         .json = "node_id",
         .column = "node_id"}),
    field<&IoamNode::ingress_if_id>(
        {.bit = 1,
         .bits = 16,
         .always = false,
         .element = {"ioamIngressIfId", kPen, 3, 2, unsigned16, "identifier", "",
                     "16-bit ingress_if_id (trace type bit 1): the interface on which the node "
                     "received the packet (RFC 9197 section 4.4.2.2)."},
         .json = "ingress_if_id",
         .column = "ingress_if"}),
    field<&IoamNode::egress_if_id>(
        {.bit = 1,
         .bits = 16,
         .always = false,
         .element = {"ioamEgressIfId", kPen, 4, 2, unsigned16, "identifier", "",
                     "16-bit egress_if_id (trace type bit 1): the interface through which the "
                     "node forwarded the packet (RFC 9197 section 4.4.2.2)."},
         .json = "egress_if_id",
         .column = "egress_if"}),
    field<&IoamNode::timestamp_secs>(
        {.bit = 2,
         .bits = 32,
         .always = false,
         .element = {"ioamTimestampSeconds", kPen, 5, 4, unsigned32, "default", "seconds",
                     "Seconds part of the time the node received the packet (trace type bit 2); "
                     "the epoch and format are those of the namespace (RFC 9197 sections "
                     "4.4.2.3, 5)."},
         .json = "timestamp_secs",
         .column = "ts_secs"}),
    field<&IoamNode::timestamp_frac>(
        {.bit = 3,
         .bits = 32,
         .always = false,
         .element = {"ioamTimestampFraction", kPen, 6, 4, unsigned32, "default", "",
                     "Sub-second part of the reception time (trace type bit 3): nanoseconds for "
                     "PTP, microseconds for POSIX, a binary fraction for NTP timestamps, as the "
                     "namespace defines (RFC 9197 sections 4.4.2.4, 5); Linux writes "
                     "microseconds."},
         .json = "timestamp_frac",
         .column = "ts_frac"}),
    field<&IoamNode::transit_delay>(
        {.bit = 4,
         .bits = 32,
         .always = false,
         .element = {"ioamTransitDelay", kPen, 17, 4, unsigned32, "quantity", "nanoseconds",
                     "Time the packet spent in the node, from reception to transmission (trace "
                     "type bit 4, RFC 9197 section 4.4.2.5); the most significant bit flags an "
                     "overflow."},
         .json = "transit_delay",
         .column = "transit_delay"}),
    field<&IoamNode::namespace_data>(
        {.bit = 5,
         .bits = 32,
         .always = false,
         .element = {"ioamNamespaceData", kPen, 7, 4, unsigned32, "default", "",
                     "4-octet namespace-specific data (trace type bit 5), opaque outside the "
                     "namespace (RFC 9197 section 4.4.2.6)."},
         .json = "namespace_data",
         .column = "namespace_data"}),
    field<&IoamNode::queue_depth>(
        {.bit = 6,
         .bits = 32,
         .always = false,
         .element = {"ioamQueueDepth", kPen, 8, 4, unsigned32, "quantity", "",
                     "Current length of the egress interface queue (trace type bit 6, RFC 9197 "
                     "section 4.4.2.7); Linux writes the egress qdisc backlog in octets."},
         .json = "queue_depth",
         .column = "queue_depth"}),
    field<&IoamNode::checksum_complement>(
        {.bit = 7,
         .bits = 32,
         .always = false,
         .element = {"ioamChecksumComplement", kPen, 18, 4, unsigned32, "default", "",
                     "Checksum Complement (trace type bit 7, RFC 9197 section 4.4.2.8): a value "
                     "the node wrote to keep an upper-layer checksum valid, meaningless on its "
                     "own."},
         .json = "checksum_complement",
         .column = "checksum"}),
    field<&IoamNode::hop_limit_wide>(
        {.bit = 8,
         .bits = 8,
         .always = true,
         .element = {"ioamHopLimitWide", kPen, 28, 1, unsigned8, "quantity", "hops",
                     "Hop_Lim a node recorded with its wide node id (trace type bit 8, RFC 9197 "
                     "section 4.4.2.9)."},
         .json = "hop_limit_wide",
         .column = "hop_limit_wide"}),
    field<&IoamNode::node_id_wide>(
        {.bit = 8,
         .bits = 56,
         .always = false,
         .element = {"ioamNodeIdWide", kPen, 9, 7, unsigned64, "identifier", "",
                     "56-bit wide node_id (trace type bit 8, RFC 9197 section 4.4.2.9)."},
         .json = "node_id_wide",
         .column = "node_id_wide"}),
    field<&IoamNode::ingress_if_id_wide>(
        {.bit = 9,
         .bits = 32,
         .always = false,
         .element = {"ioamIngressIfIdWide", kPen, 10, 4, unsigned32, "identifier", "",
                     "32-bit wide ingress_if_id (trace type bit 9, RFC 9197 section "
                     "4.4.2.10)."},
         .json = "ingress_if_id_wide",
         .column = "ingress_if_wide"}),
    field<&IoamNode::egress_if_id_wide>(
        {.bit = 9,
         .bits = 32,
         .always = false,
         .element = {"ioamEgressIfIdWide", kPen, 11, 4, unsigned32, "identifier", "",
                     "32-bit wide egress_if_id (trace type bit 9, RFC 9197 section 4.4.2.10)."},
         .json = "egress_if_id_wide",
         .column = "egress_if_wide"}),
    field<&IoamNode::namespace_data_wide>(
        {.bit = 10,
         .bits = 64,
         .always = false,
         .element = {"ioamNamespaceDataWide", kPen, 12, 8, unsigned64, "default", "",
                     "8-octet namespace-specific data (trace type bit 10, RFC 9197 section "
                     "4.4.2.11)."},
         .json = "namespace_data_wide",
         .column = "namespace_data_wide"}),
    field<&IoamNode::buffer_occupancy>(
        {.bit = 11,
         .bits = 32,
         .always = false,
         .element = {"ioamBufferOccupancy", kPen, 19, 4, unsigned32, "quantity", "",
                     "Occupancy of the buffer pool shared by the node's queues (trace type bit "
                     "11, RFC 9197 section 4.4.2.13); units are implementation specific."},
         .json = "buffer_occupancy",
         .column = "buffer_occupancy"}),
};

inline constexpr std::size_t kCount = std::tuple_size_v<decltype(kFields)>;

// Row I, a constant: row<I>.member is its IoamNode member pointer.
template <std::size_t I>
inline constexpr const auto& row = std::get<I>(kFields);

// The rows as plain Info, for loops that need no member (names, element lists, docs).
inline constexpr auto kInfo = std::apply(
    [](const auto&... r) { return std::array<Info, kCount>{static_cast<const Info&>(r)...}; },
    kFields);

// Calls f(std::integral_constant<std::size_t, I>{}) for every row in table order; f reaches
// the row as row<i>, a constant expression.
template <typename F>
constexpr void for_each(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<kCount>{});
}

// The row of IoamNode member Member (kCount when none has it).
template <auto Member>
inline constexpr std::size_t index_of = [] {
    std::size_t out = kCount;
    for_each([&](auto i) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(row<i>)>, Field<Member>>) {
            out = i;
        }
    });
    return out;
}();

// Wire layout of the word row i shares with the other fields of its bit.
constexpr bool opens_word(std::size_t i) noexcept {
    return i == 0 || kInfo[i - 1].bit != kInfo[i].bit;
}
constexpr unsigned shift_of(std::size_t i) noexcept {  // bits after row i in its word
    unsigned s = 0;
    for (std::size_t j = i + 1; j < kCount && kInfo[j].bit == kInfo[i].bit; ++j) {
        s += kInfo[j].bits;
    }
    return s;
}
constexpr unsigned word_octets(unsigned bit) noexcept {  // 0 for a bit without fields
    unsigned bits = 0;
    for (const Info& f : kInfo) {
        bits += f.bit == bit ? f.bits : 0;
    }
    return bits / 8;
}

// The value of row I from its raw wire bits: all ones is "unavailable" unless `always`.
template <std::size_t I>
constexpr auto value_of(std::uint64_t raw) noexcept {
    constexpr const auto& r = row<I>;
    using T = typename std::remove_cvref_t<decltype(r)>::value_type;
    return r.always || raw != r.max() ? std::optional<T>{static_cast<T>(raw)} : std::nullopt;
}

// Sets row I's member from its raw wire bits, leaving an unavailable one alone.
template <std::size_t I>
inline void set_raw(IoamNode& n, std::uint64_t raw) noexcept {
    if (const auto v = value_of<I>(raw)) {
        n.*row<I>.member = *v;
    }
}

// Trace-type bits with fields: 0 .. kBits - 1.
inline constexpr unsigned kBits = kInfo[kCount - 1].bit + 1;

// word_octets() of each bit, for run-time lookups.
inline constexpr auto kWordOctets = [] {
    std::array<std::uint8_t, kBits> out{};
    for (unsigned b = 0; b < kBits; ++b) {
        out[b] = static_cast<std::uint8_t>(word_octets(b));
    }
    return out;
}();

// Sets the fields of trace-type bit `Bit` from their shared wire word (its low
// word_octets(Bit) octets); other fields are left alone.
template <unsigned Bit>
void set_word(IoamNode& n, std::uint64_t word) noexcept {
    for_each([&](auto i) {
        if constexpr (row<i>.bit == Bit) {
            set_raw<i>(n, (word >> shift_of(i)) & row<i>.max());
        }
    });
}

// The same for a bit known at run time (< kBits): one indirect call to the bit's straight-line
// setter, not a search of the rows.
inline void set_from_word(IoamNode& n, unsigned bit, std::uint64_t word) noexcept {
    using SetWord = void (*)(IoamNode&, std::uint64_t) noexcept;
    static constexpr auto kSetWord = []<unsigned... B>(std::integer_sequence<unsigned, B...>) {
        return std::array<SetWord, kBits>{&set_word<B>...};
    }
    (std::make_integer_sequence<unsigned, kBits>{});
    kSetWord[bit](n, word);
}

namespace detail {
constexpr bool well_formed() {
    for (std::size_t i = 0; i < kCount; ++i) {
        const Info& f = kInfo[i];
        const bool ordered = i == 0 || kInfo[i - 1].bit <= f.bit;
        const unsigned word = word_octets(f.bit);
        const bool fits_element =
            f.element.length * 8 >= f.bits && f.element.length * 8 < f.bits + 8;
        if (!ordered || f.bit > 11 || (word != 4 && word != 8) || !fits_element ||
            f.element.pen != kPen || f.json.empty()) {
            return false;
        }
    }
    return true;
}
}  // namespace detail
static_assert(detail::well_formed(),
              "node field rows: bit order, bits 0-11, 4- or 8-octet words, element length of "
              "the width, enterprise element, JSON key");

}  // namespace ioam::node_fields
