#include "exporter/decode/event_decoder.hpp"

#include <array>
#include <cstring>
#include <optional>

#include "common/ioam/node_data.hpp"
#include "common/ioam/node_fields.hpp"
#include "common/ioam/trace_type.hpp"

namespace ioam::exporter::decode {
namespace {

// Wire layout constants of netlink (linux/netlink.h, linux/genetlink.h); kept local so the
// decoder builds without kernel headers that lack the IOAM event definitions.
constexpr std::size_t kNlmsgHdrLen = 16;
constexpr std::size_t kGenlHdrLen = 4;
constexpr std::size_t kNlaHdrLen = 4;
constexpr std::uint16_t kNlaTypeMask = 0x3fff;  // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER
constexpr std::uint8_t kOptionTypeDex = 4;      // IOAM6_TYPE_DEX

constexpr std::size_t align4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

template <typename T>
T load_host(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
T load_be(const std::uint8_t* p) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<T>((v << 8) | p[i]);
    }
    return v;
}

struct Parsed {
    std::span<const std::uint8_t> msg;
    std::uint8_t cmd = 0;
    std::uint32_t present = 0;  // bit n set when attribute n was seen (n <= 31)
    bool oss_data_present = false;
    // Where each attribute's payload lies in msg, valid where has() holds. Left uninitialised:
    // clearing the whole table cost more than parsing the few attributes an event has.
    struct Payload {
        std::uint32_t offset;
        std::uint16_t size;
    };
    std::array<Payload, kAttrMax + 1> payloads;

    bool has(unsigned a) const {
        return a == kAttrDexOssData ? oss_data_present : (present >> a) & 1u;
    }
    // The payload of attribute a, empty when it is absent.
    std::span<const std::uint8_t> attr(unsigned a) const {
        if (!has(a)) {
            return {};
        }
        return msg.subspan(payloads[a].offset, payloads[a].size);
    }
};

Status parse(std::span<const std::uint8_t> msg, Parsed& p) {
    if (msg.size() < kNlmsgHdrLen + kGenlHdrLen) {
        return Errc::truncated;
    }
    const auto len = load_host<std::uint32_t>(msg.data());
    if (len < kNlmsgHdrLen + kGenlHdrLen || len > msg.size()) {
        return Errc::truncated;
    }
    p.msg = msg;
    p.cmd = msg[kNlmsgHdrLen];
    std::size_t off = kNlmsgHdrLen + kGenlHdrLen;
    while (off < len) {
        if (len - off < kNlaHdrLen) {
            return Errc::truncated;
        }
        const auto nla_len = load_host<std::uint16_t>(&msg[off]);
        const auto type =
            static_cast<std::uint16_t>(load_host<std::uint16_t>(&msg[off + 2]) & kNlaTypeMask);
        if (nla_len < kNlaHdrLen || nla_len > len - off) {
            return Errc::truncated;
        }
        if (type <= kAttrMax) {  // newer kernels may add attributes: ignore them
            p.payloads[type] = {static_cast<std::uint32_t>(off + kNlaHdrLen),
                                static_cast<std::uint16_t>(nla_len - kNlaHdrLen)};
            if (type == kAttrDexOssData) {
                p.oss_data_present = true;
            } else {
                p.present |= 1u << type;
            }
        }
        off += align4(nla_len);
    }
    return Ok{};
}

// Fixed-size attribute: missing or wrong size are distinct errors.
template <typename T>
Result<T> fixed(const Parsed& p, unsigned a, bool network_order) {
    if (!p.has(a)) {
        return Errc::missing_attribute;
    }
    const auto payload = p.attr(a);
    if (payload.size() != sizeof(T)) {
        return Errc::bad_attribute_size;
    }
    return network_order ? load_be<T>(payload.data()) : load_host<T>(payload.data());
}

Status decode_trace(const Parsed& p, const Context& ctx, IoamTrace& t) {
    auto ns = fixed<std::uint16_t>(p, kAttrTraceNamespace, false);
    if (!ns) {
        return ns.error();
    }
    auto node_len = fixed<std::uint8_t>(p, kAttrTraceNodeLen, false);
    if (!node_len) {
        return node_len.error();
    }
    auto type = fixed<std::uint32_t>(p, kAttrTraceType, false);
    if (!type) {
        return type.error();
    }
    if (!p.has(kAttrTraceData)) {
        return Errc::missing_attribute;
    }
    if ((*type & 0xffu) != 0) {  // low octet of the kernel's word is reserved
        return Errc::reserved_bits_set;
    }
    t.observation_time_ns = ctx.observation_time_ns;
    t.observation_domain = ctx.observation_domain;
    t.namespace_id = *ns;
    t.node_len = *node_len;
    t.trace_type = *type >> 8;
    t.flags = 0;  // the event does not carry the PTO flags
    const auto data = p.attr(kAttrTraceData);
    t.raw_data.assign(data.begin(), data.end());
    auto nodes = decode_trace_data(t.trace_type, t.node_len, data);
    if (!nodes) {
        return nodes.error();
    }
    t.nodes = std::move(nodes).value();
    return Ok{};
}

// DEX data attribute `a` set -> RFC 9197 trace type bit, as the reference exporter infers it.
constexpr std::uint32_t dex_bit(unsigned a) {
    if (a <= kAttrDexBufferOccupancy) {
        return trace_type::bit(a - kAttrDexHopLimNodeId);
    }
    if (a <= kAttrDexBit21) {
        return trace_type::bit(12 + (a - kAttrDexBit12));
    }
    return trace_type::kOpaqueStateBit;
}

// One data attribute per trace-type bit 0-11, in bit order (the kernel's IOAM6_EVENT_ATTR_*).
static_assert(kAttrDexBufferOccupancy - kAttrDexHopLimNodeId + 1 == node_fields::kBits);

// Reads the network-order data attributes of a DEX event into the node.
Status decode_dex_node(const Parsed& p, DexReport& r) {
    IoamNode& n = r.node;
    for (unsigned a = kAttrDexHopLimNodeId; a <= kAttrDexBufferOccupancy; ++a) {
        if (!p.has(a)) {
            continue;
        }
        r.trace_type |= dex_bit(a);
        // The attribute holds the field's word as in the node data, network order.
        const unsigned bit = a - kAttrDexHopLimNodeId;
        const std::size_t size = node_fields::kWordOctets[bit];
        const auto payload = p.attr(a);
        if (payload.size() != size) {
            return Errc::bad_attribute_size;
        }
        const std::uint64_t v = size == 8 ? load_be<std::uint64_t>(payload.data())
                                          : load_be<std::uint32_t>(payload.data());
        node_fields::set_from_word(n, bit, v);
    }
    for (unsigned a = kAttrDexBit12; a <= kAttrDexBit21; ++a) {
        if (p.has(a)) {  // undefined fields: only their presence is recorded
            r.trace_type |= dex_bit(a);
        }
    }
    if (p.has(kAttrDexOssSchemaId)) {
        auto scid = fixed<std::uint32_t>(p, kAttrDexOssSchemaId, true);
        if (!scid) {
            return scid.error();
        }
        const auto data = p.attr(kAttrDexOssData);
        if (data.size() % 4 != 0) {
            return Errc::bad_attribute_size;
        }
        r.trace_type |= trace_type::kOpaqueStateBit;
        n.opaque_state = OpaqueState{*scid & 0xffffffu, {data.begin(), data.end()}};
    } else if (p.has(kAttrDexOssData)) {
        return Errc::missing_attribute;  // data without its schema id
    }
    return Ok{};
}

Status decode_dex(const Parsed& p, const Context& ctx, DexReport& r) {
    if (p.has(kAttrOptionType)) {
        auto opt = fixed<std::uint8_t>(p, kAttrOptionType, false);
        if (!opt) {
            return opt.error();
        }
        if (*opt != kOptionTypeDex) {
            return Errc::unknown_option;
        }
    }
    auto ns = fixed<std::uint16_t>(p, kAttrDexNamespace, false);
    if (!ns) {
        return ns.error();
    }
    r = DexReport{};
    r.observation_time_ns = ctx.observation_time_ns;
    r.observation_domain = ctx.observation_domain;
    r.namespace_id = *ns;
    if (p.has(kAttrDexFlowId)) {
        auto v = fixed<std::uint32_t>(p, kAttrDexFlowId, false);
        if (!v) {
            return v.error();
        }
        r.flow_id = *v;
        r.ext_flags |= 0x80;  // RFC 9326 Extension-Flags bit 0
    }
    if (p.has(kAttrDexSeqNum)) {
        auto v = fixed<std::uint32_t>(p, kAttrDexSeqNum, false);
        if (!v) {
            return v.error();
        }
        r.sequence_number = *v;
        r.ext_flags |= 0x40;  // bit 1
    }
    return decode_dex_node(p, r);
}

}  // namespace

Status decode_event(std::span<const std::uint8_t> nlmsg, const Context& ctx, Event& out) {
    Parsed p;
    if (auto st = parse(nlmsg, p); !st) {
        return st;
    }
    switch (p.cmd) {
        case kCmdTrace:
            if (!std::holds_alternative<IoamTrace>(out)) {
                out.emplace<IoamTrace>();
            }
            return decode_trace(p, ctx, std::get<IoamTrace>(out));
        case kCmdDex:
            if (!std::holds_alternative<DexReport>(out)) {
                out.emplace<DexReport>();
            }
            return decode_dex(p, ctx, std::get<DexReport>(out));
        default:
            return Errc::unknown_command;
    }
}

}  // namespace ioam::exporter::decode
