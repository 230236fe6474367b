#include "common/json/ioam_json.hpp"

#include <cstdio>
#include <string_view>

#include "common/ioam/node_fields.hpp"

namespace ioam::json {
namespace {

using nlohmann::json;

template <typename T>
void put(json& j, std::string_view key, const std::optional<T>& v) {
    if (v) {
        j[key] = *v;
    }
}

}  // namespace

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0xf]);
    }
    return out;
}

std::string trace_type_hex(std::uint32_t trace_type) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%06x", trace_type);
    return buf;
}

json to_json(const IoamNode& n) {
    json j = json::object();
    node_fields::for_each([&](auto i) {
        constexpr const auto& f = node_fields::row<i>;
        put(j, f.json, n.*f.member);
    });
    if (n.opaque_state) {
        j["opaque_state"] = {{"schema_id", n.opaque_state->schema_id},
                             {"data", hex(n.opaque_state->data)}};
    }
    return j;
}

json to_json(const IoamTrace& t) {
    json nodes = json::array();
    for (const auto& n : t.nodes) {
        nodes.push_back(to_json(n));
    }
    return {{"kind", "trace"},
            {"observation_time_ns", t.observation_time_ns},
            {"domain", t.observation_domain},
            {"namespace", t.namespace_id},
            {"trace_type", trace_type_hex(t.trace_type)},
            {"node_len", t.node_len},
            {"flags", t.flags},
            {"raw_data", hex(t.raw_data)},
            {"nodes", std::move(nodes)}};
}

json to_json(const DexReport& d) {
    json j = {{"kind", "dex"},
              {"observation_time_ns", d.observation_time_ns},
              {"domain", d.observation_domain},
              {"namespace", d.namespace_id},
              {"flags", d.flags},
              {"ext_flags", d.ext_flags},
              {"trace_type", trace_type_hex(d.trace_type)},
              {"node", to_json(d.node)}};
    put(j, "flow_id", d.flow_id);
    put(j, "sequence_number", d.sequence_number);
    return j;
}

}  // namespace ioam::json
