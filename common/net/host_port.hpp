#pragma once
// "host:port", "[v6]:port" and ":port" (every address) listen addresses of the configuration.
//
// Threading: pure functions.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.hpp"

namespace ioam::net {

struct HostPort {
    std::string host;  // without brackets; empty for ":port"
    std::uint16_t port = 0;
};

inline Result<HostPort> parse_host_port(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        return Errc::invalid_argument;
    }
    std::string_view host = s.substr(0, colon);
    if (host.starts_with('[')) {
        if (host.size() < 3 || host.back() != ']') {
            return Errc::invalid_argument;
        }
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return Errc::invalid_argument;  // a bare IPv6 address needs brackets
    }
    const std::string_view port = s.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || port.empty() || value > 65535) {
        return Errc::invalid_argument;
    }
    return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace ioam::net
