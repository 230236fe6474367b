#pragma once
// libfixbuf 2.4 binding of the element registry and record layouts: the only place that knows
// how ElementSpec and Layout become fbInfoElement_t and fbTemplate_t.
// Thread safety: none of these touch shared state except the fbInfoModel_t / fbTemplate_t the
// caller passes; libfixbuf objects themselves are not thread safe.

#include <fixbuf/public.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/ipfix/ioam_elements.hpp"

namespace ioam::ipfix::fixbuf {

// Registers every enterprise element of elements() (PEN 10383) into `model`, with its native
// width (the widest encoding of its data type: 4 for ioamNodeId, 8 for ioamNodeIdWide,
// FB_IE_VARLEN for octet arrays), endian flag, semantics, units, range and description. The
// IANA elements are in libfixbuf's default model already. Idempotent.
void add_ioam_elements(fbInfoModel_t* model);

// external:    the on-the-wire template, each field in its encoded (reduced) length.
// internal:    the in-memory record libfixbuf transcodes to and from: integers in their native
//              width (uint8/16/32/64_t, host order), octet arrays as fbVarfield_t, lists as
//              fbSubTemplateList_t, packed without padding (see internal_layout()).
// list_member: the in-memory form of records inside a subTemplateList being exported.
//              libfixbuf 2.4 encodes list members with the external template on both sides
//              (fBufSetEncodeSubTemplates), so integers sit at their encoded length in host
//              order (store_uint()), octet arrays as fbVarfield_t. On collection libfixbuf uses
//              the session's internal template of the list's template id when there is one,
//              so list members read back in the internal form.
enum class Side { external, internal, list_member };

// Octets `e` occupies on `side` (FB_IE_VARLEN for variable length on the external side).
std::uint16_t field_length(const ElementSpec& e, Side side) noexcept;

// A template holding `fields` in order, or nullptr with `err` set (e.g. the model lacks an
// element: call add_ioam_elements first). The caller owns it until it is added to a session;
// free an unused one with fbTemplateFreeUnused().
fbTemplate_t* make_template(fbInfoModel_t* model, std::span<const ElementSpec* const> fields,
                            Side side, GError** err);

// Where each field of an in-memory record of `fields` lives (side internal or list_member):
// offsets[i] for fields[i], and the record size. For internal records the size equals
// fbTemplateGetIELenOfMemBuffer() of the internal template.
struct RecordLayout {
    std::vector<std::uint16_t> offsets;
    std::uint16_t size = 0;
};
RecordLayout memory_layout(std::span<const ElementSpec* const> fields, Side side);
inline RecordLayout internal_layout(std::span<const ElementSpec* const> fields) {
    return memory_layout(fields, Side::internal);
}

// A `width`-octet (1..8) unsigned integer in host order, the form libfixbuf's endian
// transcoder reads and writes in memory records (also the reduced widths of list members).
// Inline: encoders call it for every integer of every record.
inline void store_uint(std::uint8_t* at, std::uint16_t width, std::uint64_t value) noexcept {
    width = width < sizeof value ? width : sizeof value;
    std::uint8_t bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    // The low-order `width` octets: first on little-endian hosts, last on big-endian ones.
    const std::size_t from = std::endian::native == std::endian::little ? 0 : sizeof value - width;
    std::memcpy(at, bytes + from, width);
}
std::uint64_t load_uint(const std::uint8_t* at, std::uint16_t width) noexcept;

}  // namespace ioam::ipfix::fixbuf
