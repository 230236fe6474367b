#pragma once
// The project's IPFIX Information Elements: the single source of truth, the per-node field
// elements coming from the node field table (common/ioam/node_fields.hpp).
// docs/ipfix-elements.md and the ipfixcol2/libfds element file are generated from this
// table (tool ioam-ie-gen) and a test checks that the committed copies agree.
//
// Unavailable values: a hop field the node could not fill (RFC 9197 "all ones") travels as
// all ones of the field's length, so every hop of a trace fits one template; decoders map all
// ones back to "absent".

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ioam::ipfix {

inline constexpr std::uint32_t kPen = 10383;     // ULiege, as the reference exporter
inline constexpr std::uint16_t kVarLen = 65535;  // RFC 7011 variable length

enum class DataType : std::uint8_t {
    unsigned8,
    unsigned16,
    unsigned32,
    unsigned64,
    octetArray,
    dateTimeNanoseconds,
    subTemplateList,
};

struct ElementSpec {
    std::string_view name;  // IPFIX camelCase name, unique
    std::uint32_t pen;      // 0 for IANA elements
    std::uint16_t id;       // element id (without the enterprise bit)
    std::uint16_t length;   // encoded length in octets (reduced-size encoding), or kVarLen
    DataType type;
    std::string_view semantics;  // RFC 7012: "identifier", "quantity", "flags", "default", ...
    std::string_view units;      // "" when none
    std::string_view description;
};

// Every element the project uses, IANA first, then enterprise ones in id order.
std::span<const ElementSpec> elements() noexcept;
const ElementSpec* find(std::string_view name) noexcept;
const ElementSpec* find(std::uint32_t pen, std::uint16_t id) noexcept;

std::string_view to_string(DataType t) noexcept;

}  // namespace ioam::ipfix
