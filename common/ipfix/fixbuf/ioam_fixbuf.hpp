#pragma once
// libfixbuf 2.4 binding of the element registry and record layouts: the only place that knows
// how ElementSpec and Layout become fbInfoElement_t and fbTemplate_t.
// Thread safety: none of these touch shared state except the fbInfoModel_t / fbTemplate_t the
// caller passes; libfixbuf objects themselves are not thread safe.

#include <fixbuf/public.h>

#include <cstdint>
#include <span>
#include <vector>

#include "common/ipfix/ioam_elements.hpp"

namespace ioam::ipfix::fixbuf {

// Registers every enterprise element of elements() (PEN 10383) into `model`, with its native
// width (the widest encoding of its data type: 4 for ioamNodeId, 8 for ioamNodeIdWide,
// FB_IE_VARLEN for octet arrays), endian flag, semantics, units, range and description. The
// IANA elements are in libfixbuf's default model already. Idempotent.
void add_ioam_elements(fbInfoModel_t* model);

// external: the on-the-wire template, each field in its encoded (reduced) length.
// internal: the in-memory record libfixbuf transcodes to and from: integers in their native
//           width (uint8/16/32/64_t, host order), octet arrays as fbVarfield_t, lists as
//           fbSubTemplateList_t, packed without padding (see internal_layout()).
enum class Side { external, internal };

// Octets `e` occupies on `side` (FB_IE_VARLEN for variable length on the external side).
std::uint16_t field_length(const ElementSpec& e, Side side) noexcept;

// A template holding `fields` in order, or nullptr with `err` set (e.g. the model lacks an
// element: call add_ioam_elements first). The caller owns it until it is added to a session;
// free an unused one with fbTemplateFreeUnused().
fbTemplate_t* make_template(fbInfoModel_t* model, std::span<const ElementSpec* const> fields,
                            Side side, GError** err);

// Where each field of an internal record of `fields` lives: offsets[i] for fields[i], and the
// record size, equal to fbTemplateGetIELenOfMemBuffer() of the internal template.
struct RecordLayout {
    std::vector<std::uint16_t> offsets;
    std::uint16_t size = 0;
};
RecordLayout internal_layout(std::span<const ElementSpec* const> fields);

}  // namespace ioam::ipfix::fixbuf
