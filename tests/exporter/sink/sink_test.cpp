// Real sockets on loopback: UDP datagrams, TCP templates-first per connection, reconnects and
// the bounded buffer.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <chrono>
#include <functional>

#include "exporter/record/ipfix_header.hpp"
#include "exporter/sink/message_sink.hpp"
#include "tests/exporter/support/udp_probe.hpp"

namespace ioam::exporter::sink {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using test::closed_udp_port;
using test::wait_for_port_unreachable;

// A minimal IPFIX message: header only plus `extra` octets, with a sequence number and a
// marker octet so tests can tell messages apart.
std::vector<std::uint8_t> message(std::uint32_t seq, std::uint8_t marker, std::size_t extra = 4) {
    std::vector<std::uint8_t> m(16 + extra, marker);
    m[0] = 0;
    m[1] = 10;
    m[2] = static_cast<std::uint8_t>(m.size() >> 8);
    m[3] = static_cast<std::uint8_t>(m.size());
    record::set_message_sequence(m, seq);
    return m;
}

// Runs the loop until `done` holds; the limit only keeps a broken test from hanging.
void run_until(asio::io_context& io, const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < limit) {
        io.run_for(std::chrono::milliseconds(5));
        if (io.stopped()) {
            io.restart();
        }
    }
    ASSERT_TRUE(done()) << "condition not reached";
}

std::vector<std::uint8_t> read_message(tcp::socket& s) {
    std::vector<std::uint8_t> m(16);
    asio::read(s, asio::buffer(m));
    const std::size_t len = static_cast<std::size_t>(m[2]) << 8 | m[3];
    m.resize(len);
    asio::read(s, asio::buffer(m.data() + 16, len - 16));
    return m;
}

TEST(UdpSink, SendsOneDatagramPerMessage) {
    asio::io_context io;
    udp::socket rx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = rx.local_endpoint().port();
    auto sink = make_sink(io, {Transport::udp, "127.0.0.1", port}, {}, nullptr);
    EXPECT_TRUE(sink->needs_template_refresh());
    for (std::uint8_t i = 0; i < 3; ++i) {
        sink->send(message(i, i));
    }
    for (std::uint8_t i = 0; i < 3; ++i) {
        std::vector<std::uint8_t> buf(2048);
        const auto n = rx.receive(asio::buffer(buf));
        buf.resize(n);
        EXPECT_EQ(buf, message(i, i));
    }
    EXPECT_EQ(sink->stats().messages, 3u);
    EXPECT_EQ(sink->stats().octets, 3u * 20u);
}

// Issue 12.5: after a UDP collector restarted, the message whose send reported the ICMP error
// of an earlier one was dropped, and records stayed undecodable until the template refresh.
TEST(UdpSink, AfterARefusedSendTemplatesAndTheMessageAreSentAgain) {
    asio::io_context io;
    const std::uint16_t port = closed_udp_port(io);
    int template_calls = 0;
    auto sink = make_sink(io, {Transport::udp, "127.0.0.1", port}, {}, [&] {
        ++template_calls;
        return std::vector<std::vector<std::uint8_t>>{message(0, 0xee)};
    });
    sink->send(message(1, 1));  // the collector is down: lost, and an ICMP error comes back
    wait_for_port_unreachable(io, port);

    udp::socket rx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), port));  // restarted
    sink->send(message(2, 2));  // reports the error of message 1; did not leave
    run_until(io, [&] { return sink->stats().messages == 3; });
    std::vector<std::uint8_t> buf(2048);
    buf.resize(rx.receive(asio::buffer(buf)));
    EXPECT_EQ(buf, message(2, 0xee));  // the templates, numbered as the next data message
    buf.resize(2048);
    buf.resize(rx.receive(asio::buffer(buf)));
    EXPECT_EQ(buf, message(2, 2));
    EXPECT_EQ(template_calls, 1);
    EXPECT_EQ(sink->stats().send_errors, 1u);
    EXPECT_EQ(sink->stats().retried, 1u);
    EXPECT_EQ(sink->stats().dropped_messages, 0u);

    sink->send(message(3, 3));  // and on as usual
    buf.resize(2048);
    buf.resize(rx.receive(asio::buffer(buf)));
    EXPECT_EQ(buf, message(3, 3));
    EXPECT_EQ(template_calls, 1);
}

TEST(UdpSink, WhileTheCollectorStaysAwayNothingLoops) {
    asio::io_context io;
    const std::uint16_t port = closed_udp_port(io);
    int template_calls = 0;
    auto sink = make_sink(io, {Transport::udp, "127.0.0.1", port}, {}, [&] {
        ++template_calls;
        return std::vector<std::vector<std::uint8_t>>{message(0, 0xee)};
    });
    for (std::uint32_t i = 0; i < 20; ++i) {
        sink->send(message(i, 1));
        wait_for_port_unreachable(io, port);
        io.poll();
        io.restart();
    }
    // Every error costs one resend of the templates and one retry, no more.
    EXPECT_EQ(sink->stats().retried, static_cast<std::uint64_t>(template_calls));
    EXPECT_GE(template_calls, 5);
    EXPECT_LE(template_calls, 20);
    EXPECT_TRUE(io.poll() == 0);
    EXPECT_EQ(sink->stats().queued_messages, 0u);
}

TEST(TcpSink, TemplatesFirstOnEveryConnectionThenQueuedMessagesInOrder) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    int template_calls = 0;
    auto sink = make_sink(io, {Transport::tcp, "127.0.0.1", port},
                          {.reconnect_initial_ms = 10, .reconnect_max_ms = 50}, [&] {
                              ++template_calls;
                              return std::vector<std::vector<std::uint8_t>>{message(99, 0xee)};
                          });
    EXPECT_FALSE(sink->needs_template_refresh());
    // Queued before the connection exists.
    sink->send(message(5, 1));
    sink->send(message(6, 2));
    sink->start();

    tcp::socket peer(io);
    bool accepted = false;
    acceptor.async_accept(peer, [&](auto) { accepted = true; });
    run_until(io, [&] { return accepted && sink->stats().messages == 3; });
    const auto t = read_message(peer);
    EXPECT_EQ(t, message(5, 0xee));  // the template message, sequence set to the first queued
    EXPECT_EQ(read_message(peer), message(5, 1));
    EXPECT_EQ(read_message(peer), message(6, 2));
    EXPECT_EQ(template_calls, 1);

    // The collector goes away; the sink reconnects and sends the templates again first.
    peer.close();
    tcp::socket peer2(io);
    bool accepted2 = false;
    acceptor.async_accept(peer2, [&](auto) { accepted2 = true; });
    for (std::uint8_t i = 0; !accepted2 && i < 200; ++i) {
        sink->send(message(7 + i, 3));  // writes fail once the peer is gone
        io.run_for(std::chrono::milliseconds(5));
    }
    run_until(io, [&] { return accepted2 && sink->stats().queued_messages == 0; });
    EXPECT_EQ(sink->stats().reconnects, 1u);
    EXPECT_GE(sink->stats().send_errors, 1u);
    EXPECT_EQ(template_calls, 2);
    const auto t2 = read_message(peer2);
    EXPECT_EQ(t2[16], 0xee);
    EXPECT_EQ(read_message(peer2)[16], 3);
}

TEST(TcpSink, BoundedBufferDropsWhileTheCollectorIsAway) {
    asio::io_context io;
    std::uint16_t port = 0;
    {
        // A port nothing listens on.
        tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }
    auto sink = make_sink(io, {Transport::tcp, "127.0.0.1", port},
                          {.max_buffer_octets = 100, .reconnect_initial_ms = 10}, nullptr);
    sink->start();
    for (std::uint8_t i = 0; i < 5; ++i) {
        sink->send(message(i, i, 24));  // 40 octets each
    }
    EXPECT_EQ(sink->stats().queued_messages, 2u);
    EXPECT_EQ(sink->stats().queued_octets, 80u);
    EXPECT_EQ(sink->stats().dropped_messages, 3u);
    run_until(io, [&] { return sink->stats().send_errors >= 2; });  // refused, retried
    bool closed = false;
    sink->close([&] { closed = true; });
    EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace ioam::exporter::sink
