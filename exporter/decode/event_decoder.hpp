#pragma once
// Kernel IOAM6 generic netlink events -> IoamTrace / DexReport. Pure: no I/O, no libnl; it reads
// the netlink message bytes (nlmsghdr, genlmsghdr, attributes) exactly as the socket delivered
// them, so tests and benchmarks can feed synthetic messages.
//
// Threading: free functions, no shared state.

#include <cstdint>
#include <span>
#include <variant>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::exporter::decode {

// Generic netlink commands of the IOAM6 family's event group (uapi ioam6_genl.h).
inline constexpr std::uint8_t kCmdTrace = 1;  // IOAM6_EVENT_TRACE
inline constexpr std::uint8_t kCmdDex = 2;    // IOAM6_EVENT_DEX (Direct Exporting series)

// Event attributes (uapi ioam6_genl.h, and the DEX series' additions).
enum Attr : std::uint16_t {
    kAttrTraceNamespace = 1,   // u16, host order
    kAttrTraceNodeLen = 2,     // u8, 4-octet units
    kAttrTraceType = 3,        // u32, host order, trace type in the top 24 bits
    kAttrTraceData = 4,        // binary: filled node data, newest first
    kAttrOptionType = 5,       // u8: IOAM option type (4 = DEX)
    kAttrDexNamespace = 6,     // u16, host order
    kAttrDexFlowId = 7,        // u32, host order
    kAttrDexSeqNum = 8,        // u32, host order
    kAttrDexHopLimNodeId = 9,  // first DEX data attribute; 9..31 in network order
    kAttrDexIngressEgress = 10,
    kAttrDexTimestamp = 11,
    kAttrDexTimestampFrac = 12,
    kAttrDexTransit = 13,
    kAttrDexNamespaceData = 14,
    kAttrDexQueueDepth = 15,
    kAttrDexChecksum = 16,
    kAttrDexHopLimNodeIdWide = 17,
    kAttrDexIngressEgressWide = 18,
    kAttrDexNamespaceDataWide = 19,
    kAttrDexBufferOccupancy = 20,
    kAttrDexBit12 = 21,  // 21..30: undefined fields of trace type bits 12..21
    kAttrDexBit21 = 30,
    kAttrDexOssSchemaId = 31,
    kAttrDexOssData = 32,
    kAttrMax = 32,
};

using Event = std::variant<IoamTrace, DexReport>;

// What the decoder cannot learn from the message itself.
struct Context {
    std::uint64_t observation_time_ns = 0;  // receive time (UNIX epoch)
    std::uint32_t observation_domain = 0;
};

// Decodes one netlink message (starting at its nlmsghdr; trailing bytes after nlmsg_len are
// ignored). `out` is overwritten; its vectors keep their capacity across calls. Errors:
// truncated (headers or an attribute overrun the message), unknown_command,
// missing_attribute, bad_attribute_size, unknown_option (DEX event of another option type),
// plus the errors of common decode_trace_data for the node data.
Status decode_event(std::span<const std::uint8_t> nlmsg, const Context& ctx, Event& out);

}  // namespace ioam::exporter::decode
