#pragma once
// A small, independent IPFIX (RFC 7011 / RFC 6313) reader for tests: parses messages by hand,
// keeps the templates of one transport session, and gives each data record's field values by
// (enterprise, element id). It shares no code with the exporter, so a test that round-trips
// through it checks the bytes, not the implementation against itself.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ioam::exporter::test {

struct FieldKey {
    std::uint32_t pen = 0;
    std::uint16_t id = 0;
    auto operator<=>(const FieldKey&) const = default;
};

struct TemplateField {
    FieldKey key;
    std::uint16_t length = 0;  // 65535: variable
};

struct IpfixRecord {
    std::uint16_t template_id = 0;
    std::vector<std::pair<FieldKey, std::vector<std::uint8_t>>> fields;  // in template order

    const std::vector<std::uint8_t>* raw(FieldKey k) const {
        for (const auto& [key, v] : fields) {
            if (key == k) {
                return &v;
            }
        }
        return nullptr;
    }
    bool has(FieldKey k) const { return raw(k) != nullptr; }
    std::uint64_t uint(FieldKey k) const {
        const auto* v = raw(k);
        if (v == nullptr) {
            throw std::runtime_error("no field " + std::to_string(k.pen) + "/" +
                                     std::to_string(k.id));
        }
        std::uint64_t x = 0;
        for (auto b : *v) {
            x = (x << 8) | b;
        }
        return x;
    }
};

struct IpfixMessage {
    std::uint16_t length = 0;
    std::uint32_t export_time = 0;
    std::uint32_t sequence = 0;
    std::uint32_t domain = 0;
    std::vector<std::uint16_t> templates;  // template ids defined in this message
    std::vector<IpfixRecord> records;
};

class IpfixReader {
  public:
    IpfixMessage read(std::span<const std::uint8_t> m) {
        IpfixMessage out;
        need(m.size() >= 16, "short header");
        need(u16(m, 0) == 10, "version");
        out.length = u16(m, 2);
        need(out.length == m.size(), "length");
        out.export_time = u32(m, 4);
        out.sequence = u32(m, 8);
        out.domain = u32(m, 12);
        std::size_t off = 16;
        while (off < m.size()) {
            need(m.size() - off >= 4, "set header");
            const auto set_id = u16(m, off);
            const auto set_len = u16(m, off + 2);
            need(set_len >= 4 && set_len <= m.size() - off, "set length");
            const auto body = m.subspan(off + 4, set_len - 4);
            if (set_id == 2 || set_id == 3) {
                read_templates(body, out, set_id == 3);
            } else {
                need(set_id >= 256, "set id");
                read_data(set_id, body, out.records);
            }
            off += set_len;
        }
        return out;
    }

    // Records of an RFC 6313 subTemplateList value.
    std::pair<std::uint8_t, std::vector<IpfixRecord>> sub_template_list(
        std::span<const std::uint8_t> v) const {
        need(v.size() >= 3, "stl header");
        std::vector<IpfixRecord> recs;
        read_data(u16(v, 1), v.subspan(3), recs);
        return {v[0], std::move(recs)};
    }

    const std::map<std::uint16_t, std::vector<TemplateField>>& templates() const {
        return templates_;
    }
    // Scope field count of each options template (RFC 7011 section 3.4.2.2).
    const std::map<std::uint16_t, std::uint16_t>& scope_counts() const { return scope_counts_; }

  private:
    static void need(bool ok, const char* what) {
        if (!ok) {
            throw std::runtime_error(std::string("bad IPFIX: ") + what);
        }
    }
    static std::uint16_t u16(std::span<const std::uint8_t> b, std::size_t o) {
        return static_cast<std::uint16_t>(b[o] << 8 | b[o + 1]);
    }
    static std::uint32_t u32(std::span<const std::uint8_t> b, std::size_t o) {
        return static_cast<std::uint32_t>(u16(b, o)) << 16 | u16(b, o + 2);
    }

    void read_templates(std::span<const std::uint8_t> b, IpfixMessage& out, bool options) {
        std::size_t off = 0;
        while (b.size() - off >= (options ? 6u : 4u)) {
            const auto tid = u16(b, off);
            const auto count = u16(b, off + 2);
            off += 4;
            if (options) {
                scope_counts_[tid] = u16(b, off);
                off += 2;
            }
            std::vector<TemplateField> fields;
            for (int i = 0; i < count; ++i) {
                need(b.size() - off >= 4, "template field");
                TemplateField f;
                const auto raw_id = u16(b, off);
                f.length = u16(b, off + 2);
                off += 4;
                f.key.id = raw_id & 0x7fff;
                if (raw_id & 0x8000) {
                    need(b.size() - off >= 4, "enterprise number");
                    f.key.pen = u32(b, off);
                    off += 4;
                }
                fields.push_back(f);
            }
            templates_[tid] = std::move(fields);
            out.templates.push_back(tid);
        }
    }

    void read_data(std::uint16_t tid, std::span<const std::uint8_t> b,
                   std::vector<IpfixRecord>& out) const {
        const auto it = templates_.find(tid);
        need(it != templates_.end(), "data before its template");
        std::size_t off = 0;
        std::size_t min_len = 0;
        for (const auto& f : it->second) {
            min_len += f.length == 65535 ? 1 : f.length;
        }
        while (b.size() - off >= min_len && min_len > 0) {
            IpfixRecord r;
            r.template_id = tid;
            for (const auto& f : it->second) {
                std::size_t len = f.length;
                if (len == 65535) {
                    need(off < b.size(), "varlen");
                    len = b[off++];
                    if (len == 255) {
                        need(b.size() - off >= 2, "varlen3");
                        len = u16(b, off);
                        off += 2;
                    }
                }
                need(b.size() - off >= len, "field");
                r.fields.emplace_back(
                    f.key, std::vector<std::uint8_t>(b.begin() + off, b.begin() + off + len));
                off += len;
            }
            out.push_back(std::move(r));
        }
        // Whatever is left must be set padding (RFC 7011 section 3.3.1): zeros only.
        for (; off < b.size(); ++off) {
            need(b[off] == 0, "padding");
        }
    }

    std::map<std::uint16_t, std::vector<TemplateField>> templates_;
    std::map<std::uint16_t, std::uint16_t> scope_counts_;
};

}  // namespace ioam::exporter::test
