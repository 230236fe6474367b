#include "common/ipfix/fixbuf/ioam_fixbuf.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/ipfix/record_layouts.hpp"

namespace ioam::ipfix::fixbuf {
namespace {

std::uint8_t fb_type(DataType t) {
    switch (t) {
        case DataType::unsigned8:
            return FB_UINT_8;
        case DataType::unsigned16:
            return FB_UINT_16;
        case DataType::unsigned32:
            return FB_UINT_32;
        case DataType::unsigned64:
            return FB_UINT_64;
        case DataType::octetArray:
            return FB_OCTET_ARRAY;
        case DataType::dateTimeNanoseconds:
            return FB_DT_NANOSEC;
        case DataType::subTemplateList:
            return FB_SUB_TMPL_LIST;
    }
    return FB_OCTET_ARRAY;
}

std::uint32_t fb_semantics(std::string_view s) {
    if (s == "quantity") {
        return FB_IE_QUANTITY;
    }
    if (s == "identifier") {
        return FB_IE_IDENTIFIER;
    }
    if (s == "flags") {
        return FB_IE_FLAGS;
    }
    if (s == "list") {
        return FB_IE_LIST;
    }
    return FB_IE_DEFAULT;
}

std::uint32_t fb_units(std::string_view u) {
    if (u == "seconds") {
        return FB_UNITS_SECONDS;
    }
    if (u == "nanoseconds") {
        return FB_UNITS_NANOSECONDS;
    }
    if (u == "hops") {
        return FB_UNITS_HOPS;
    }
    if (u == "4-octet words") {
        return FB_UNITS_WORDS;
    }
    return 0;  // none
}

bool is_integer(DataType t) {
    return t == DataType::unsigned8 || t == DataType::unsigned16 || t == DataType::unsigned32 ||
           t == DataType::unsigned64;
}

std::uint16_t native_length(DataType t) {
    switch (t) {
        case DataType::unsigned8:
            return 1;
        case DataType::unsigned16:
            return 2;
        case DataType::unsigned32:
            return 4;
        case DataType::unsigned64:
        case DataType::dateTimeNanoseconds:
            return 8;
        case DataType::octetArray:
        case DataType::subTemplateList:
            break;
    }
    return FB_IE_VARLEN;
}

fbInfoElement_t to_fb(const ElementSpec& e) {
    const std::uint32_t flags = (is_integer(e.type) ? FB_IE_F_ENDIAN : FB_IE_F_NONE) |
                                fb_semantics(e.semantics) | fb_units(e.units);
    const std::uint64_t max = is_integer(e.type) ? all_ones(e.length) : 0;
    // The names and descriptions are string literals of the static table: NUL-terminated and
    // alive for the program's lifetime, as the model requires of descriptions.
    fbInfoElement_t ie = FB_IE_INIT_FULL(e.name.data(), e.pen, e.id, native_length(e.type), flags,
                                         0, max, fb_type(e.type), e.description.data());
    return ie;
}

}  // namespace

void add_ioam_elements(fbInfoModel_t* model) {
    for (const auto& e : elements()) {
        if (e.pen == 0 || fbInfoModelGetElementByID(model, e.id, e.pen) != nullptr) {
            continue;
        }
        auto ie = to_fb(e);
        fbInfoModelAddElement(model, &ie);
    }
}

std::uint16_t field_length(const ElementSpec& e, Side side) noexcept {
    switch (e.type) {
        case DataType::octetArray:
            return side == Side::external ? FB_IE_VARLEN : sizeof(fbVarfield_t);
        case DataType::subTemplateList:
            return side == Side::external ? FB_IE_VARLEN : sizeof(fbSubTemplateList_t);
        default:
            return side == Side::internal ? native_length(e.type) : e.length;
    }
}

fbTemplate_t* make_template(fbInfoModel_t* model, std::span<const ElementSpec* const> fields,
                            Side side, GError** err) {
    fbTemplate_t* tmpl = fbTemplateAlloc(model);
    for (const auto* e : fields) {
        // libfixbuf sizes variable-length fields of internal templates itself.
        const std::uint16_t len = e->length == kVarLen ? FB_IE_VARLEN : field_length(*e, side);
        std::string name(e->name);
        fbInfoElementSpec_t spec{name.data(), len, 0};
        if (!fbTemplateAppendSpec(tmpl, &spec, 0, err)) {
            fbTemplateFreeUnused(tmpl);
            return nullptr;
        }
    }
    return tmpl;
}

RecordLayout memory_layout(std::span<const ElementSpec* const> fields, Side side) {
    RecordLayout out;
    out.offsets.reserve(fields.size());
    for (const auto* e : fields) {
        out.offsets.push_back(out.size);
        out.size = static_cast<std::uint16_t>(out.size + field_length(*e, side));
    }
    return out;
}

std::uint64_t load_uint(const std::uint8_t* at, std::uint16_t width) noexcept {
    width = std::min<std::uint16_t>(width, sizeof(std::uint64_t));
    std::uint8_t bytes[sizeof(std::uint64_t)] = {};
    const std::size_t to =
        std::endian::native == std::endian::little ? 0 : sizeof(std::uint64_t) - width;
    std::memcpy(bytes + to, at, width);
    std::uint64_t value = 0;
    std::memcpy(&value, bytes, sizeof value);
    return value;
}

}  // namespace ioam::ipfix::fixbuf
