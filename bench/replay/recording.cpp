#include "bench/replay/recording.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/ipfix/ioam_elements.hpp"

namespace ioam::bench::replay {
namespace {

constexpr std::uint16_t kTemplateSetId = 2;
constexpr std::uint16_t kOptionsTemplateSetId = 3;
constexpr std::uint16_t kFirstDataSetId = 256;
constexpr std::uint16_t kVarLen = 65535;
// Between the last record time of one loop and the first of the next: 1 ms in NTP units.
constexpr std::uint64_t kLoopGapNtp = (std::uint64_t{1} << 32) / 1000;

std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t at) noexcept {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

std::uint64_t read_be(std::span<const std::uint8_t> b, std::size_t at, std::size_t width) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        v = v << 8 | b[at + i];
    }
    return v;
}

struct Field {
    std::uint32_t pen = 0;
    std::uint16_t id = 0;
    std::uint16_t length = 0;
    bool is(const ipfix::ElementSpec* e) const noexcept {
        return e != nullptr && e->pen == pen && e->id == id && e->length == length;
    }
};

// A field that repeats on every loop, before its per-loop step is known.
struct Found {
    std::size_t message = 0;
    std::size_t offset = 0;  // into the message
    std::uint64_t value = 0;
    std::optional<std::uint32_t> flow;  // DEX sequence numbers: their flow (none: a time)
};

// Walks the sets and records of the messages in order, keeping the templates, and notes the
// observation times and DEX sequence numbers of the data records.
class Scanner {
  public:
    Result<bool> message(std::size_t index, std::span<const std::uint8_t> m) {
        bool data = false;
        for (std::size_t at = kHeaderLength; at < m.size();) {
            if (m.size() - at < 4) {
                return Errc::truncated;
            }
            const std::uint16_t id = read_u16(m, at);
            const std::uint16_t length = read_u16(m, at + 2);
            if (length < 4 || length > m.size() - at) {
                return Errc::bad_ipfix;
            }
            const auto set = m.subspan(at + 4, length - 4u);
            Status s = Ok{};
            if (id == kTemplateSetId) {
                s = templates(set);
            } else if (id >= kFirstDataSetId) {
                s = records(index, id, set, at + 4);
                data = true;
            } else if (id != kOptionsTemplateSetId) {
                return Errc::bad_ipfix;
            }
            if (!s) {
                return s.error();
            }
            at += length;
        }
        return data;
    }

    const std::vector<Found>& found() const noexcept { return found_; }

  private:
    Status templates(std::span<const std::uint8_t> set) {
        for (std::size_t at = 0; set.size() - at >= 4;) {
            const std::uint16_t id = read_u16(set, at);
            const std::uint16_t count = read_u16(set, at + 2);
            at += 4;
            std::vector<Field> fields;
            for (std::uint16_t i = 0; i < count; ++i) {
                if (set.size() - at < 4) {
                    return Errc::truncated;
                }
                Field f{0, read_u16(set, at), read_u16(set, at + 2)};
                at += 4;
                if (f.id & 0x8000) {
                    if (set.size() - at < 4) {
                        return Errc::truncated;
                    }
                    f.id &= 0x7fff;
                    f.pen = read_u32(set, at);
                    at += 4;
                }
                fields.push_back(f);
            }
            templates_[id] = std::move(fields);
        }
        return Ok{};
    }

    // One data set; `base` is its body's offset in the message.
    Status records(std::size_t index, std::uint16_t id, std::span<const std::uint8_t> set,
                   std::size_t base) {
        const auto t = templates_.find(id);
        if (t == templates_.end()) {
            return Errc::unknown_template;
        }
        std::size_t smallest = 0;  // shortest record: anything shorter at the end is padding
        for (const Field& f : t->second) {
            smallest += f.length == kVarLen ? 1 : f.length;
        }
        for (std::size_t at = 0; smallest != 0 && set.size() - at >= smallest;) {
            const auto used = record(index, t->second, set, at, base);
            if (!used) {
                return used.error();
            }
            at += *used;
        }
        return Ok{};
    }

    Result<std::size_t> record(std::size_t index, const std::vector<Field>& fields,
                               std::span<const std::uint8_t> set, std::size_t start,
                               std::size_t base) {
        std::size_t at = start;
        std::optional<std::uint32_t> flow;
        std::vector<Found> here;
        for (const Field& f : fields) {
            std::size_t length = f.length;
            if (length == kVarLen) {
                if (set.size() - at < 1) {
                    return Errc::truncated;
                }
                length = set[at++];
                if (length == 255) {
                    if (set.size() - at < 2) {
                        return Errc::truncated;
                    }
                    length = read_u16(set, at);
                    at += 2;
                }
            }
            if (set.size() - at < length) {
                return Errc::truncated;
            }
            if (f.is(time_)) {
                here.push_back({index, base + at, read_be(set, at, 8), std::nullopt});
            } else if (f.is(dex_sequence_)) {
                here.push_back({index, base + at, read_u32(set, at), 0});
            } else if (f.is(dex_flow_)) {
                flow = read_u32(set, at);
            }
            at += length;
        }
        for (Found& h : here) {
            if (h.flow) {
                h.flow = flow.value_or(0xffffffffu);
            }
            found_.push_back(h);
        }
        return at - start;
    }

    const ipfix::ElementSpec* time_ = ipfix::find("observationTimeNanoseconds");
    const ipfix::ElementSpec* dex_sequence_ = ipfix::find("ioamDexSequenceNumber");
    const ipfix::ElementSpec* dex_flow_ = ipfix::find("ioamDexFlowId");
    std::unordered_map<std::uint16_t, std::vector<Field>> templates_;
    std::vector<Found> found_;
};

struct Range {
    std::uint64_t low = ~std::uint64_t{0};
    std::uint64_t high = 0;
    void add(std::uint64_t v) noexcept {
        low = std::min(low, v);
        high = std::max(high, v);
    }
};

// Per-loop steps: times move past the recording's last time, each flow's sequence numbers
// past its highest.
void add_patches(const std::vector<Found>& found, Recording& r) {
    Range time;
    std::map<std::uint32_t, Range> flows;
    for (const Found& f : found) {
        if (f.flow) {
            flows[*f.flow].add(f.value);
        } else {
            time.add(f.value);
        }
    }
    for (const Found& f : found) {
        const Patch p = f.flow ? Patch{f.offset, flows[*f.flow].high - flows[*f.flow].low + 1, 4}
                               : Patch{f.offset, time.high - time.low + kLoopGapNtp, 8};
        r.messages[f.message].patches.push_back(p);
    }
}

}  // namespace

std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) noexcept {
    return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
           static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

void write_u32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept {
    for (std::size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    }
}

void apply_patches(const RecordedMessage& m, std::uint64_t loops,
                   std::span<std::uint8_t> message) noexcept {
    for (const Patch& p : m.patches) {
        const std::uint64_t v = read_be(message, p.offset, p.width) + loops * p.step;
        for (std::size_t i = 0; i < p.width; ++i) {
            message[p.offset + i] = static_cast<std::uint8_t>(v >> (8 * (p.width - 1 - i)));
        }
    }
}

Result<Recording> parse_recording(std::vector<std::uint8_t> bytes) {
    Recording r;
    r.bytes = std::move(bytes);
    const std::span<const std::uint8_t> all(r.bytes);
    Scanner scanner;
    bool last_has_data = true;
    for (std::size_t at = 0; at < all.size();) {
        if (all.size() - at < kHeaderLength) {
            return Errc::truncated;
        }
        const std::size_t length = read_u16(all, at + 2);
        if (read_u16(all, at) != kIpfixVersion || length < kHeaderLength ||
            length > all.size() - at) {
            return Errc::bad_ipfix;
        }
        RecordedMessage m{at, length, read_u32(all, at + kSequenceOffset), {}};
        const std::uint32_t domain = read_u32(all, at + kDomainOffset);
        if (!r.messages.empty() &&
            (domain != r.observation_domain || m.sequence < r.messages.back().sequence)) {
            return Errc::bad_ipfix;
        }
        const auto data = scanner.message(r.messages.size(), all.subspan(at, length));
        if (!data) {
            return data.error();
        }
        r.observation_domain = domain;
        last_has_data = *data;
        r.largest_message = std::max(r.largest_message, length);
        r.messages.push_back(std::move(m));
        at += length;
    }
    if (r.messages.empty() || last_has_data) {
        return Errc::bad_ipfix;
    }
    r.records = r.messages.back().sequence - r.messages.front().sequence;
    add_patches(scanner.found(), r);
    return r;
}

Result<Recording> load_recording(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return Errc::invalid_argument;
    }
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
    return parse_recording(std::move(bytes));
}

std::size_t Stream::next(std::span<std::uint8_t> out, std::uint32_t export_time) noexcept {
    const RecordedMessage& m = r_.messages[index_];
    std::copy_n(r_.bytes.begin() + static_cast<std::ptrdiff_t>(m.offset), m.length, out.begin());
    write_u32(out, kExportTimeOffset, export_time);
    write_u32(out, kSequenceOffset, base_ + (m.sequence - r_.messages.front().sequence));
    apply_patches(m, loops_, out);
    const bool last = index_ + 1 == r_.messages.size();
    records_ += (last ? m.sequence : r_.messages[index_ + 1].sequence) - m.sequence;
    if (last) {
        base_ += r_.records;
        ++loops_;
        index_ = 0;
    } else {
        ++index_;
    }
    return m.length;
}

}  // namespace ioam::bench::replay
