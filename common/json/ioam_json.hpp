#pragma once
// The one JSON shape of the IOAM model, shared by the exporter's --print json lines and the
// collector's API, so that a script reading one reads the other. Absent (unavailable) fields
// are left out; octet strings are lowercase hex; trace types are "0x" and six hex digits.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "common/model/ioam_trace.hpp"

namespace ioam::json {

nlohmann::json to_json(const IoamNode& node);
// "kind": "trace", time, domain, namespace, trace type, node length, flags, raw data, nodes.
nlohmann::json to_json(const IoamTrace& trace);
// "kind": "dex", time, domain, namespace, flags, ext flags, trace type, flow id and sequence
// number when present, node.
nlohmann::json to_json(const DexReport& report);

std::string hex(std::span<const std::uint8_t> bytes);
std::string trace_type_hex(std::uint32_t trace_type);

}  // namespace ioam::json
