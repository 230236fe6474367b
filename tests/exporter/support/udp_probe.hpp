#pragma once
// A UDP collector that is away, then back: a free port nobody listens on, and a wait for the
// ICMP port unreachable of what was sent to it.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>

namespace ioam::exporter::test {

// A UDP port on 127.0.0.1 nobody listens on (yet).
inline std::uint16_t closed_udp_port(boost::asio::io_context& io) {
    using boost::asio::ip::udp;
    udp::socket probe(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

// Returns once the ICMP port unreachable of every datagram sent to `port` before the call has
// come back: a canary socket sends after them, and loopback reports the errors in order.
inline void wait_for_port_unreachable(boost::asio::io_context& io, std::uint16_t port) {
    using boost::asio::ip::udp;
    udp::socket canary(io);
    canary.connect(udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    const std::uint8_t octet = 0;
    boost::system::error_code ec;
    while (ec != boost::asio::error::connection_refused &&
           std::chrono::steady_clock::now() < limit) {
        canary.send(boost::asio::buffer(&octet, 1), 0, ec);
        // Waits for the error rather than sending in a tight loop: every datagram to a closed
        // port costs the kernel's global ICMP rate limit (1000/s), which tight loops of
        // parallel tests could exhaust for each other.
        pollfd p{canary.native_handle(), POLLERR, 0};
        if (!ec && ::poll(&p, 1, 10) == 1) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(canary.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
            ec.assign(err, boost::system::system_category());
        }
    }
    ASSERT_EQ(ec, boost::asio::error::connection_refused);
}

}  // namespace ioam::exporter::test
