#pragma once
// ioam-dex-route: the rtnetlink request that adds an IPv6 route whose lightweight tunnel inserts
// the IOAM DEX option (kernel-patches/linux-6.12-dex). Pure: argument parsing, request bytes and
// acknowledgement parsing; main.cpp does the socket I/O.
//
// Syntax (as the reference iproute2 patch, plus an optional gateway):
//   add PREFIX [freq K/N] [mode inline|encap|auto] [tunsrc ADDR] [tundst ADDR]
//       dex trace-type T ns N [ext-flags F] [via ADDR] dev DEV

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ioam::tools::dexroute {

using Ipv6Address = std::array<std::uint8_t, 16>;

// uapi ioam6_iptunnel.h encap modes.
enum class Mode : std::uint8_t { kInline = 1, kEncap = 2, kAuto = 3 };

struct DexRoute {
    Ipv6Address prefix{};
    std::uint8_t prefix_len = 0;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> freq;  // k/n, kernel default 1/1
    std::optional<Mode> mode;                                     // kernel default inline
    std::optional<Ipv6Address> tunsrc;
    std::optional<Ipv6Address> tundst;
    std::optional<Ipv6Address> via;
    std::uint32_t trace_type = 0;  // 24 bits, RFC 9197 bit 0 is the most significant
    std::uint16_t namespace_id = 0;
    std::uint8_t ext_flags = 0;  // bit 0 (0x80) Flow ID, bit 1 (0x40) Sequence Number
    std::string dev;
};

// Parses the words after the program name. Either the route or a message saying what is wrong.
std::variant<DexRoute, std::string> parse_args(std::span<const std::string_view> args);

// The RTM_NEWROUTE request (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) for `route`
// through interface `ifindex`: rtmsg, RTA_DST, RTA_OIF, [RTA_GATEWAY], RTA_ENCAP_TYPE
// (LWTUNNEL_ENCAP_IOAM6) and the nested RTA_ENCAP with the IOAM6_IPTUNNEL_* attributes.
std::vector<std::uint8_t> build_request(const DexRoute& route, std::uint32_t ifindex,
                                        std::uint32_t seq);

// What the kernel answered to a request: 0 or a negative errno, and its extended ack message.
struct Ack {
    int error = 0;
    std::string message;
};

// Reads the NLMSG_ERROR message acknowledging request `seq`; nothing if `reply` is not one.
std::optional<Ack> parse_ack(std::span<const std::uint8_t> reply, std::uint32_t seq);

}  // namespace ioam::tools::dexroute
