#include "collector/store/node_codec.hpp"

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>

namespace ioam::collector::store {

namespace {

// Every optional member but the opaque state, in mask bit order.
template <typename Node>
auto fields(Node& n) {
    return std::tie(n.hop_limit, n.node_id, n.ingress_if_id, n.egress_if_id, n.timestamp_secs,
                    n.timestamp_frac, n.transit_delay, n.namespace_data, n.queue_depth,
                    n.checksum_complement, n.hop_limit_wide, n.node_id_wide, n.ingress_if_id_wide,
                    n.egress_if_id_wide, n.namespace_data_wide, n.buffer_occupancy);
}
constexpr std::uint32_t kOpaqueBit = 1u << 16;

template <typename T>
void put(std::vector<std::uint8_t>& out, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i)));
    }
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
        std::uint32_t bit = 1;
        std::apply([&](auto&... f) { ((mask |= f ? bit : 0, bit <<= 1), ...); }, fields(n));
        put(out, mask);
        std::apply([&](auto&... f) { ((f ? put(out, *f) : void()), ...); }, fields(n));
        if (n.opaque_state) {
            put(out, n.opaque_state->schema_id);
            put(out, static_cast<std::uint16_t>(n.opaque_state->data.size()));
            out.insert(out.end(), n.opaque_state->data.begin(), n.opaque_state->data.end());
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
        std::uint32_t bit = 1;
        std::apply(
            [&](auto&... f) {
                (
                    [&] {
                        if (mask & bit) {
                            typename std::remove_cvref_t<decltype(f)>::value_type v{};
                            ok = ok && r.get(v);
                            f = v;
                        }
                        bit <<= 1;
                    }(),
                    ...);
            },
            fields(n));
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
