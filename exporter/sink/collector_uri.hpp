#pragma once
// Collector addresses as the command line and config file spell them:
// udp://HOST:PORT, tcp://HOST:PORT, with IPv6 literals in brackets (udp://[::1]:4739) and
// the IANA IPFIX port 4739 when the port is omitted.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.hpp"

namespace ioam::exporter::sink {

inline constexpr std::uint16_t kIpfixPort = 4739;

enum class Transport : std::uint8_t { udp, tcp };

struct CollectorUri {
    Transport transport = Transport::udp;
    std::string host;  // without brackets
    std::uint16_t port = kIpfixPort;

    std::string to_string() const;  // canonical form, also the metrics label
    bool operator==(const CollectorUri&) const = default;
};

// Errc::invalid_argument on an unknown scheme, an empty host, an unclosed bracket or a port
// outside 1..65535.
Result<CollectorUri> parse_collector_uri(std::string_view text);

}  // namespace ioam::exporter::sink
