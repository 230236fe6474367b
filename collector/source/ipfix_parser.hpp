#pragma once
// RFC 7011 message and record parsing, pure: bytes in, template definitions and record views
// out. No I/O, no allocation per record (callers pass a reusable scratch vector).
//
// Why hand-written rather than libfixbuf's collector: fixbuf 2.4 owns the socket or file it
// reads from, keeps templates in one fbSession per collector (per-exporter isolation and
// (session, domain) keying would need one fBuf per peer), reports malformed input as a
// GError that ends the buffer, and converts every record into a static struct through a
// second template. Here the bytes of a datagram or TCP frame are parsed in place, every error
// is an Errc counted per exporter, and a record is a set of spans into the message.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/util/big_endian.hpp"
#include "common/util/result.hpp"

namespace ioam::collector::source {

using Bytes = std::span<const std::uint8_t>;

inline constexpr std::uint16_t kIpfixVersion = 10;
inline constexpr std::size_t kMessageHeaderLen = 16;
inline constexpr std::size_t kSetHeaderLen = 4;
inline constexpr std::uint16_t kTemplateSetId = 2;
inline constexpr std::uint16_t kOptionsTemplateSetId = 3;
inline constexpr std::uint16_t kMinDataSetId = 256;
inline constexpr std::uint16_t kVariableLength = 65535;

using ioam::load_u16;
using ioam::load_u32;
// Unsigned big-endian integer of 1..8 octets (RFC 7011 reduced-size encoding).
inline std::uint64_t load_uint(Bytes b) noexcept {
    std::uint64_t v = 0;
    for (std::uint8_t octet : b.first(b.size() < 8 ? b.size() : 8)) {
        v = (v << 8) | octet;
    }
    return v;
}

struct MessageHeader {
    std::uint16_t length = 0;
    std::uint32_t export_time = 0;
    std::uint32_t sequence = 0;
    std::uint32_t domain = 0;
};

struct FieldSpec {
    std::uint32_t pen = 0;  // 0 for IANA elements
    std::uint16_t id = 0;   // without the enterprise bit
    std::uint16_t length = 0;
    std::uint8_t role = 0;  // what the decoder does with it; 0 = ignored (unknown)
};

// A template as its exporter defined it, immutable once built; shared so that a record being
// decoded keeps its template alive across a withdrawal.
struct Template {
    std::uint16_t id = 0;
    std::uint16_t scope_count = 0;  // > 0 for options templates
    std::vector<FieldSpec> fields;
    std::size_t min_record_len = 0;  // fixed fields plus one octet per variable-length field
    std::size_t unknown_fields = 0;  // fields with role 0
    // Bit r set when a field has role r (< 64): a handler tells the kind of a record by its
    // template once, not by walking the fields of every record.
    std::uint64_t roles = 0;
    bool has_role(std::uint8_t r) const noexcept { return r < 64 && (roles >> r & 1) != 0; }
    // The reference ioam-exporter's shape (see is_reference_exporter()): its quirks are undone.
    bool reference_exporter = false;
    bool options() const noexcept { return scope_count > 0; }
    // How far one record moves the message sequence number: the reference exporter advances it
    // by the template's field count per record instead of by one (RFC 7011 section 3.1).
    std::size_t sequence_step() const noexcept { return reference_exporter ? fields.size() : 1; }
};

// The template of the DEX paper's reference Go exporter (Advanced-Observability/ioam-exporter):
// id 293, ioamNamespaceId (PEN 10383, id 0, 2 octets) first, and nothing but its enterprise
// elements 0-16, each with the length it always uses. The project's exporter never sends such
// a template: its data templates start with observationTimeNanoseconds, its hop templates
// carry no namespace (common/ipfix/record_layouts.hpp). Records of it need:
// - node ids (3 and 7 octets) and the opaque schema id (3 octets) byte-reversed: it writes
//   them little-endian;
// - a long variable-length field's 2-octet length read little-endian too;
// - the per-node records of one trace message (no flow id, no sequence) joined into one trace;
// - its sequence numbers read as advancing by the field count per record (sequence_step()).
bool is_reference_exporter(const Template& t) noexcept;
using TemplatePtr = std::shared_ptr<const Template>;

// Maps an element to the decoder's role for it (0 = not understood); fixed at template time.
using RoleOf = std::uint8_t (*)(std::uint32_t pen, std::uint16_t id) noexcept;

// One set of a validated message.
struct SetView {
    std::uint16_t id = 0;
    Bytes body;  // without the set header
};

// Checks the message header and the framing of every set; a message that fails is dropped
// whole, before any of its sets is applied.
Result<MessageHeader> parse_header(Bytes message) noexcept;
Status split_sets(Bytes message, std::vector<SetView>& sets);

// One (options) template record or withdrawal found in a template set.
struct TemplateDef {
    std::uint16_t id = 0;
    bool withdrawal = false;  // field count 0: withdraw `id` (or all when id is the set id)
    TemplatePtr tmpl;         // null for withdrawals
};

struct TemplateLimits {
    std::size_t max_fields = 512;
};

// Parses all template records of a template (2) or options template (3) set. Stops at the
// first malformed record and returns its error; `out` keeps the records parsed before it.
Status parse_template_set(const SetView& set, const TemplateLimits& limits, RoleOf role_of,
                          std::vector<TemplateDef>& out);

// Splits `data` (a data set body or a subTemplateList's record area) into records of `t`,
// calling on_record(values) with one span per template field. Trailing octets shorter than
// the template's minimum record are padding. Returns the number of records, or the error of
// the first record that overruns (records before it were delivered).
template <typename OnRecord>
Result<std::size_t> walk_records(const Template& t, Bytes data, std::vector<Bytes>& values,
                                 OnRecord&& on_record) {
    std::size_t pos = 0;
    std::size_t count = 0;
    values.resize(t.fields.size());
    while (t.min_record_len > 0 && data.size() - pos >= t.min_record_len) {
        for (std::size_t i = 0; i < t.fields.size(); ++i) {
            std::size_t len = t.fields[i].length;
            if (len == kVariableLength) {
                if (pos >= data.size()) {
                    return Errc::truncated;
                }
                len = data[pos++];
                if (len == 255) {
                    if (data.size() - pos < 2) {
                        return Errc::truncated;
                    }
                    len = t.reference_exporter ? (data[pos] | data[pos + 1] << 8)
                                               : load_u16(&data[pos]);
                    pos += 2;
                }
            }
            if (data.size() - pos < len) {
                return Errc::truncated;
            }
            values[i] = data.subspan(pos, len);
            pos += len;
        }
        on_record(std::span<const Bytes>(values));
        ++count;
    }
    return count;
}

}  // namespace ioam::collector::source
