#pragma once
// What ioam-probe sends, and the Hop-by-Hop header each probe carries. Pure: no sockets.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/util/result.hpp"

namespace ioam::probe {

enum class Transport : std::uint8_t { udp, icmp };

struct ProbeConfig {
    std::string destination;  // IPv6 address
    std::string source;       // optional IPv6 address to bind
    std::string interface;    // optional egress interface (SO_BINDTODEVICE)
    Transport transport = Transport::udp;
    std::uint16_t port = 9;  // UDP destination port (discard)
    std::uint16_t namespace_id = 0;
    std::uint32_t trace_type = 0xf00000;  // bits 0-3: node id, interfaces, timestamps
    unsigned hops = 5;                    // nodes to pre-allocate space for
    unsigned opaque_octets = 0;           // opaque state data expected per node (bit 22)
    bool dex = false;                     // a DEX option instead of a Pre-allocated Trace
    std::uint8_t dex_ext_flags = 0xc0;    // flow id + sequence number
    std::uint32_t flow_id = 0;
    double rate = 10.0;                       // probes per second, > 0
    std::uint64_t count = 0;                  // 0: no limit
    std::chrono::milliseconds duration{0};    // 0: no limit
    std::optional<std::uint32_t> flow_label;  // 20 bits
    unsigned payload_size = 16;
};

// Checks the configuration; returns a message saying what is wrong, or nothing.
std::optional<std::string> validate(const ProbeConfig& config);

// Octets of trace data space the PTO pre-allocates for the configured hops.
unsigned trace_space(const ProbeConfig& config);

// The Hop-by-Hop Options header of probe number `sequence` (DEX sequence numbers count
// probes; a PTO is the same for every probe).
Result<std::vector<std::uint8_t>> hop_by_hop_for(const ProbeConfig& config, std::uint32_t sequence);

// The whole IPv6 packet of probe number `sequence`: IPv6 header (hop limit 64, the
// configured flow label), the Hop-by-Hop header, then UDP or an ICMPv6 echo request with
// its checksum, and payload_size zero octets. src and dst are 16-octet addresses.
Result<std::vector<std::uint8_t>> build_packet(const ProbeConfig& config,
                                               std::span<const std::uint8_t, 16> src,
                                               std::span<const std::uint8_t, 16> dst,
                                               std::uint32_t sequence);

// Parses a 24-bit hexadecimal value ("0xf00000") or a list of RFC 9197 bit numbers
// ("0,1,2,3", bit 0 being the most significant).
std::optional<std::uint32_t> parse_trace_type(const std::string& text);

}  // namespace ioam::probe
