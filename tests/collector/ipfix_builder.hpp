#pragma once
// Builds IPFIX messages byte by byte for the collector tests, including deliberately broken
// ones: lengths are filled in by finish() unless the test overrides them.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace ioam::collector::test {

struct Field {
    std::uint16_t id;
    std::uint16_t length;
    std::uint32_t pen = 0;
};

class MessageBuilder {
  public:
    explicit MessageBuilder(std::uint32_t domain, std::uint32_t sequence = 0,
                            std::uint32_t export_time = 1700000000) {
        u16(10).u16(0).u32(export_time).u32(sequence).u32(domain);
    }

    MessageBuilder& u8(std::uint8_t v) {
        bytes_.push_back(v);
        return *this;
    }
    MessageBuilder& u16(std::uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
    MessageBuilder& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
    MessageBuilder& u64(std::uint64_t v) { return u32(v >> 32).u32(v & 0xffffffff); }
    MessageBuilder& raw(std::span<const std::uint8_t> b) {
        bytes_.insert(bytes_.end(), b.begin(), b.end());
        return *this;
    }
    // A variable-length field: length prefix (1 or 3 octets) then the octets.
    MessageBuilder& varlen(std::span<const std::uint8_t> b) {
        if (b.size() < 255) {
            u8(static_cast<std::uint8_t>(b.size()));
        } else {
            u8(255).u16(static_cast<std::uint16_t>(b.size()));
        }
        return raw(b);
    }

    MessageBuilder& begin_set(std::uint16_t id) {
        end_set();
        set_start_ = bytes_.size();
        return u16(id).u16(0);
    }
    MessageBuilder& end_set() {
        if (set_start_ != 0) {
            patch16(set_start_ + 2, bytes_.size() - set_start_);
            set_start_ = 0;
        }
        return *this;
    }
    MessageBuilder& template_record(std::uint16_t id, std::initializer_list<Field> fields,
                                    std::uint16_t scope_count = 0) {
        u16(id).u16(static_cast<std::uint16_t>(fields.size()));
        if (scope_count > 0) {
            u16(scope_count);
        }
        for (const Field& f : fields) {
            if (f.pen != 0) {
                u16(f.id | 0x8000).u16(f.length).u32(f.pen);
            } else {
                u16(f.id).u16(f.length);
            }
        }
        return *this;
    }
    MessageBuilder& template_record(std::uint16_t id, const std::vector<Field>& fields) {
        u16(id).u16(static_cast<std::uint16_t>(fields.size()));
        for (const Field& f : fields) {
            u16(f.id).u16(f.length);
        }
        return *this;
    }

    std::vector<std::uint8_t> finish() {
        end_set();
        patch16(2, bytes_.size());
        return bytes_;
    }

    // Overwrites a 16-bit value at `offset` (for broken messages).
    void patch16(std::size_t offset, std::size_t v) {
        bytes_[offset] = static_cast<std::uint8_t>(v >> 8);
        bytes_[offset + 1] = static_cast<std::uint8_t>(v & 0xff);
    }
    std::size_t size() const { return bytes_.size(); }

  private:
    std::vector<std::uint8_t> bytes_;
    std::size_t set_start_ = 0;
};

}  // namespace ioam::collector::test
