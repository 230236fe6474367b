#include "exporter/sink/collector_uri.hpp"

#include <charconv>

namespace ioam::exporter::sink {

std::string CollectorUri::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return std::string(transport == Transport::udp ? "udp://" : "tcp://") + (v6 ? "[" : "") + host +
           (v6 ? "]" : "") + ":" + std::to_string(port);
}

Result<CollectorUri> parse_collector_uri(std::string_view text) {
    CollectorUri uri;
    if (text.starts_with("udp://")) {
        uri.transport = Transport::udp;
    } else if (text.starts_with("tcp://")) {
        uri.transport = Transport::tcp;
    } else {
        return Errc::invalid_argument;
    }
    std::string_view rest = text.substr(6);
    std::string_view port;
    if (rest.starts_with("[")) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) {
            return Errc::invalid_argument;
        }
        uri.host = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') {
                return Errc::invalid_argument;
            }
            port = rest.substr(1);
        }
    } else {
        const auto colon = rest.rfind(':');
        if (colon != std::string_view::npos && rest.find(':') != colon) {
            return Errc::invalid_argument;  // bare IPv6 literal: brackets are required
        }
        uri.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
        }
    }
    if (uri.host.empty()) {
        return Errc::invalid_argument;
    }
    if (!port.empty() || (rest.ends_with(":"))) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return Errc::invalid_argument;
        }
        uri.port = static_cast<std::uint16_t>(value);
    }
    return uri;
}

}  // namespace ioam::exporter::sink
