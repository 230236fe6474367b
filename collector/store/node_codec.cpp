#include "collector/store/node_codec.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "common/ioam/node_fields.hpp"

namespace ioam::collector::store {

namespace {

// The presence mask: bit i for node field table row i, and the opaque state above the 16 rows
// of schema version 3 (a row added later takes the next free bit, so old blobs still read).
constexpr std::uint32_t kOpaqueBit = 1u << 16;
constexpr std::uint32_t mask_bit(std::size_t row) {
    return std::uint32_t{1} << (row < 16 ? row : row + 1);
}
static_assert(node_fields::kCount < 31, "the presence mask is 32 bits");

// Writes through a pointer into room made for the whole node (no capacity check per octet).
template <typename T>
std::uint8_t* put(std::uint8_t* out, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        *out++ = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i));
    }
    return out;
}

class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    template <typename T>
    bool get(T& v) {
        if (in_.size() - pos_ < sizeof(T)) {
            return false;
        }
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            x |= std::uint64_t{in_[pos_ + i]} << (8 * i);
        }
        pos_ += sizeof(T);
        v = static_cast<T>(x);
        return true;
    }
    bool bytes(std::size_t n, std::vector<std::uint8_t>& out) {
        if (in_.size() - pos_ < n) {
            return false;
        }
        out.assign(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                   in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return true;
    }
    bool done() const { return pos_ == in_.size(); }

  private:
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

}  // namespace

void encode_nodes(std::span<const IoamNode> nodes, std::vector<std::uint8_t>& out) {
    for (const IoamNode& n : nodes) {
        std::uint32_t mask = n.opaque_state ? kOpaqueBit : 0;
        std::size_t size = sizeof mask;
        node_fields::for_each([&](auto i) {
            if (const auto& f = n.*node_fields::row<i>.member) {
                mask |= mask_bit(i);
                size += sizeof(*f);
            }
        });
        const auto& opaque = n.opaque_state;
        if (opaque) {
            size += sizeof opaque->schema_id + sizeof(std::uint16_t) + opaque->data.size();
        }
        const std::size_t at = out.size();
        out.resize(at + size);
        std::uint8_t* p = put(out.data() + at, mask);
        node_fields::for_each([&](auto i) {
            if (const auto& f = n.*node_fields::row<i>.member) {
                p = put(p, *f);
            }
        });
        if (opaque) {
            p = put(p, opaque->schema_id);
            p = put(p, static_cast<std::uint16_t>(opaque->data.size()));
            std::copy(opaque->data.begin(), opaque->data.end(), p);
        }
    }
}

bool decode_nodes(std::span<const std::uint8_t> in, std::vector<IoamNode>& out) {
    Reader r(in);
    while (!r.done()) {
        IoamNode& n = out.emplace_back();
        std::uint32_t mask = 0;
        if (!r.get(mask)) {
            return false;
        }
        bool ok = true;
        node_fields::for_each([&](auto i) {
            if (ok && (mask & mask_bit(i)) != 0) {
                typename std::remove_cvref_t<decltype(node_fields::row<i>)>::value_type v{};
                ok = r.get(v);
                n.*node_fields::row<i>.member = v;
            }
        });
        if (!ok) {
            return false;
        }
        if (mask & kOpaqueBit) {
            OpaqueState s;
            std::uint16_t len = 0;
            if (!r.get(s.schema_id) || !r.get(len) || !r.bytes(len, s.data)) {
                return false;
            }
            n.opaque_state = std::move(s);
        }
    }
    return true;
}

}  // namespace ioam::collector::store
