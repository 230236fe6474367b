#include "probe/probe_config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <sstream>

#include "common/ioam/options.hpp"
#include "common/ioam/trace_type.hpp"

namespace ioam::probe {
namespace {

constexpr std::uint8_t kNextHeaderUdp = 17;
constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
constexpr unsigned kMaxPayload = 65000;
constexpr std::uint8_t kHopLimit = 64;
constexpr std::uint8_t kIcmpv6EchoRequest = 128;
constexpr std::uint16_t kEchoIdentifier = 0x1a0a;

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// RFC 8200 section 8.1: upper-layer checksum over the pseudo-header and the L4 octets.
std::uint16_t l4_checksum(std::span<const std::uint8_t, 16> src,
                          std::span<const std::uint8_t, 16> dst, std::uint8_t next_header,
                          std::span<const std::uint8_t> l4) {
    std::uint64_t sum = 0;
    auto add = [&sum](std::span<const std::uint8_t> bytes) {
        for (std::size_t i = 0; i < bytes.size(); i += 2) {
            sum += (std::uint32_t{bytes[i]} << 8) | (i + 1 < bytes.size() ? bytes[i + 1] : 0u);
        }
    };
    add(src);
    add(dst);
    sum += l4.size() + next_header;
    add(l4);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    const auto folded = static_cast<std::uint16_t>(~sum);
    return folded == 0 && next_header == kNextHeaderUdp ? 0xffff : folded;
}

bool is_ipv6(const std::string& text) {
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

unsigned node_octets(const ProbeConfig& c) {
    unsigned octets = trace_type::node_len(c.trace_type) * 4u;
    if ((c.trace_type & trace_type::kOpaqueStateBit) != 0) {
        octets += 4 + c.opaque_octets;  // opaque state header + data
    }
    return octets;
}

}  // namespace

unsigned trace_space(const ProbeConfig& c) {
    return c.hops * node_octets(c);
}

std::optional<std::string> validate(const ProbeConfig& c) {
    if (!is_ipv6(c.destination)) {
        return "destination '" + c.destination + "' is not an IPv6 address";
    }
    if (!c.source.empty() && !is_ipv6(c.source)) {
        return "source '" + c.source + "' is not an IPv6 address";
    }
    if (auto st = trace_type::validate(c.trace_type); !st) {
        std::ostringstream msg;
        msg << "trace type 0x" << std::hex << c.trace_type << " is not valid ("
            << to_string(st.error()) << "): use bits 0-11 and 22 of the 24-bit field";
        return msg.str();
    }
    if (c.opaque_octets % 4 != 0 || c.opaque_octets > 255 * 4) {
        return "opaque state data must be a multiple of 4 octets, at most 1020";
    }
    if (!c.dex) {
        if (c.hops == 0) {
            return "at least one hop must be pre-allocated";
        }
        if (trace_space(c) > kMaxTraceDataOctets) {
            return "a trace of " + std::to_string(c.hops) + " hops of " +
                   std::to_string(node_octets(c)) + " octets needs " +
                   std::to_string(trace_space(c)) + " octets: more than the " +
                   std::to_string(kMaxTraceDataOctets) + " an IOAM trace may carry";
        }
    }
    if ((c.dex_ext_flags & 0x3f) != 0) {
        return "DEX extension flags: only bit 0 (0x80, flow id) and bit 1 (0x40, sequence) "
               "are defined";
    }
    if (!(c.rate > 0)) {
        return "rate must be greater than 0";
    }
    if (c.flow_label && *c.flow_label > 0xfffff) {
        return "flow label must fit 20 bits";
    }
    if (c.payload_size > kMaxPayload) {
        return "payload size must be at most " + std::to_string(kMaxPayload);
    }
    return std::nullopt;
}

Result<std::vector<std::uint8_t>> hop_by_hop_for(const ProbeConfig& c, std::uint32_t sequence) {
    IoamOption option;
    if (c.dex) {
        DexOption dex;
        dex.namespace_id = c.namespace_id;
        dex.ext_flags = c.dex_ext_flags;
        dex.trace_type = c.trace_type;
        if ((c.dex_ext_flags & kDexExtFlowId) != 0) {
            dex.flow_id = c.flow_id;
        }
        if ((c.dex_ext_flags & kDexExtSequence) != 0) {
            dex.sequence_number = sequence;
        }
        option = dex;
    } else {
        PtoOption pto;
        pto.namespace_id = c.namespace_id;
        pto.node_len = trace_type::node_len(c.trace_type);
        pto.trace_type = c.trace_type;
        pto.data.assign(trace_space(c), 0);
        pto.remaining_len = static_cast<std::uint8_t>(pto.data.size() / 4);
        option = pto;
    }
    const auto next = c.transport == Transport::udp ? kNextHeaderUdp : kNextHeaderIcmpv6;
    return build_hop_by_hop(next, std::span<const IoamOption>(&option, 1));
}

Result<std::vector<std::uint8_t>> build_packet(const ProbeConfig& c,
                                               std::span<const std::uint8_t, 16> src,
                                               std::span<const std::uint8_t, 16> dst,
                                               std::uint32_t sequence) {
    auto hbh = hop_by_hop_for(c, sequence);
    if (!hbh) {
        return hbh.error();
    }
    const bool udp = c.transport == Transport::udp;
    std::vector<std::uint8_t> l4;
    if (udp) {
        put16(l4, kEchoIdentifier);  // source port
        put16(l4, c.port);
        put16(l4, 8 + c.payload_size);
        put16(l4, 0);
    } else {
        l4 = {kIcmpv6EchoRequest, 0, 0, 0};
        put16(l4, kEchoIdentifier);
        put16(l4, sequence & 0xffff);
    }
    l4.resize(l4.size() + c.payload_size, 0);
    const auto checksum = l4_checksum(src, dst, udp ? kNextHeaderUdp : kNextHeaderIcmpv6, l4);
    l4[udp ? 6 : 2] = static_cast<std::uint8_t>(checksum >> 8);
    l4[udp ? 7 : 3] = static_cast<std::uint8_t>(checksum);

    const std::uint32_t label = c.flow_label.value_or(0);
    std::vector<std::uint8_t> packet = {
        static_cast<std::uint8_t>(0x60), static_cast<std::uint8_t>(label >> 16),
        static_cast<std::uint8_t>(label >> 8), static_cast<std::uint8_t>(label)};
    put16(packet, static_cast<std::uint32_t>(hbh->size() + l4.size()));
    packet.push_back(0);  // next header: Hop-by-Hop
    packet.push_back(kHopLimit);
    packet.insert(packet.end(), src.begin(), src.end());
    packet.insert(packet.end(), dst.begin(), dst.end());
    packet.insert(packet.end(), hbh->begin(), hbh->end());
    packet.insert(packet.end(), l4.begin(), l4.end());
    return packet;
}

std::optional<std::uint32_t> parse_trace_type(const std::string& text) {
    if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) {
        const char* first = text.data() + 2;
        const char* last = text.data() + text.size();
        std::uint32_t type = 0;
        auto [p, ec] = std::from_chars(first, last, type, 16);
        if (ec != std::errc{} || p != last || type > trace_type::kMask) {
            return std::nullopt;
        }
        return type;
    }
    std::uint32_t type = 0;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        unsigned bit = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), bit);
        if (ec != std::errc{} || p != item.data() + item.size() || item.empty() || bit > 23) {
            return std::nullopt;
        }
        type |= trace_type::bit(bit);
    }
    if (type == 0) {
        return std::nullopt;
    }
    return type;
}

}  // namespace ioam::probe
