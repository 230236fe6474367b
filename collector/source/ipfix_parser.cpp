#include "collector/source/ipfix_parser.hpp"

#include <algorithm>
#include <array>

namespace ioam::collector::source {

Result<MessageHeader> parse_header(Bytes message) noexcept {
    if (message.size() >= 2 && load_u16(&message[0]) != kIpfixVersion) {
        return Errc::bad_ipfix;
    }
    if (message.size() < kMessageHeaderLen) {
        return Errc::truncated;
    }
    MessageHeader h;
    h.length = load_u16(&message[2]);
    if (h.length < kMessageHeaderLen || h.length != message.size()) {
        return Errc::bad_header_length;
    }
    h.export_time = load_u32(&message[4]);
    h.sequence = load_u32(&message[8]);
    h.domain = load_u32(&message[12]);
    return h;
}

Status split_sets(Bytes message, std::vector<SetView>& sets) {
    sets.clear();
    std::size_t pos = kMessageHeaderLen;
    while (pos < message.size()) {
        if (message.size() - pos < kSetHeaderLen) {
            return Errc::truncated;
        }
        const std::uint16_t id = load_u16(&message[pos]);
        const std::uint16_t len = load_u16(&message[pos + 2]);
        if (len < kSetHeaderLen || len > message.size() - pos) {
            return Errc::bad_header_length;
        }
        sets.push_back({id, message.subspan(pos + kSetHeaderLen, len - kSetHeaderLen)});
        pos += len;
    }
    return Ok{};
}

namespace {

// Parses `count` field specifiers at body[pos...]; advances pos.
Status parse_fields(Bytes body, std::size_t& pos, std::size_t count, RoleOf role_of, Template& t) {
    t.fields.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        if (body.size() - pos < 4) {
            return Errc::truncated;
        }
        FieldSpec f;
        const std::uint16_t raw_id = load_u16(&body[pos]);
        f.id = raw_id & 0x7fffu;
        f.length = load_u16(&body[pos + 2]);
        pos += 4;
        if (raw_id & 0x8000u) {
            if (body.size() - pos < 4) {
                return Errc::truncated;
            }
            f.pen = load_u32(&body[pos]);
            pos += 4;
        }
        f.role = role_of != nullptr ? role_of(f.pen, f.id) : 0;
        t.unknown_fields += f.role == 0 ? 1 : 0;
        t.roles |= f.role < 64 ? std::uint64_t{1} << f.role : 0;
        t.min_record_len += f.length == kVariableLength ? 1 : f.length;
        t.fields.push_back(f);
    }
    return Ok{};
}

}  // namespace

Status parse_template_set(const SetView& set, const TemplateLimits& limits, RoleOf role_of,
                          std::vector<TemplateDef>& out) {
    const bool options = set.id == kOptionsTemplateSetId;
    const Bytes body = set.body;
    std::size_t pos = 0;
    // Anything shorter than a withdrawal record (4 octets) is padding.
    while (body.size() - pos >= 4) {
        TemplateDef def;
        def.id = load_u16(&body[pos]);
        const std::uint16_t field_count = load_u16(&body[pos + 2]);
        pos += 4;
        if (field_count == 0) {
            if (def.id < kMinDataSetId && def.id != set.id) {
                return Errc::bad_ipfix;
            }
            def.withdrawal = true;
            out.push_back(std::move(def));
            continue;
        }
        if (def.id < kMinDataSetId) {
            return Errc::bad_ipfix;
        }
        if (field_count > limits.max_fields) {
            return Errc::too_large;
        }
        auto t = std::make_shared<Template>();
        t->id = def.id;
        if (options) {
            if (body.size() - pos < 2) {
                return Errc::truncated;
            }
            t->scope_count = load_u16(&body[pos]);
            pos += 2;
            if (t->scope_count == 0 || t->scope_count > field_count) {
                return Errc::bad_ipfix;
            }
        }
        if (Status s = parse_fields(body, pos, field_count, role_of, *t); !s) {
            return s.error();
        }
        if (t->min_record_len == 0) {
            return Errc::bad_ipfix;  // records of zero octets cannot be delimited
        }
        t->reference_exporter = is_reference_exporter(*t);
        def.tmpl = std::move(t);
        out.push_back(std::move(def));
    }
    return Ok{};
}

bool is_reference_exporter(const Template& t) noexcept {
    constexpr std::uint16_t kTemplateId = 293;
    constexpr std::uint32_t kPen = 10383;
    // Its element lengths by id (ioam-exporter ipfix.go, createIOAMTemplateSet).
    constexpr std::array<std::uint16_t, 17> kLengths = {
        2, 1, 3, 2, 2, 4, 4, 4, 4, 7, 4, 4, 8, 3, kVariableLength, 4, 4};
    if (t.id != kTemplateId || t.options() || t.fields.empty() || t.fields[0].pen != kPen ||
        t.fields[0].id != 0) {
        return false;
    }
    return std::all_of(t.fields.begin(), t.fields.end(), [&](const FieldSpec& f) {
        return f.pen == kPen && f.id < kLengths.size() && f.length == kLengths[f.id];
    });
}

}  // namespace ioam::collector::source
