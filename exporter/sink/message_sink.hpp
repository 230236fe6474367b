#pragma once
// Where finished IPFIX messages go: one sink per collector (transport session).
//
// Threading: a sink belongs to the io_context thread that drives it; call it from there only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "exporter/sink/collector_uri.hpp"

namespace boost::asio {
class io_context;
}

namespace ioam::exporter::sink {

struct SinkStats {
    std::uint64_t messages = 0;          // messages fully handed to the kernel
    std::uint64_t octets = 0;            // their octets
    std::uint64_t send_errors = 0;       // failed sends and broken connections
    std::uint64_t dropped_messages = 0;  // dropped: buffer full or socket would block
    std::uint64_t retried = 0;           // UDP: messages sent again after a send error
    std::uint64_t reconnects = 0;        // connections established after the first
    std::size_t queued_messages = 0;     // waiting to be written (TCP)
    std::size_t queued_octets = 0;
};

struct SinkOptions {
    // TCP: octets kept while the connection is down or slow; UDP: octets held while templates
    // are resent after a send error. Beyond, new messages are dropped.
    std::size_t max_buffer_octets = 4 * 1024 * 1024;
    // TCP: reconnect delay, doubled after each failure up to the maximum.
    std::uint32_t reconnect_initial_ms = 100;
    std::uint32_t reconnect_max_ms = 30'000;
};

// The templates of the session so far, as messages: a TCP sink sends them first on each new
// connection, a UDP sink after a send error (the collector may have restarted). Called on the
// sink's thread, never from inside send().
using TemplateProvider = std::function<std::vector<std::vector<std::uint8_t>>()>;

class MessageSink {
  public:
    virtual ~MessageSink() = default;
    // Sends or queues one message; never blocks, never throws; failures are counted.
    virtual void send(std::span<const std::uint8_t> message) = 0;
    // Starts connecting (TCP); a no-op for UDP.
    virtual void start() = 0;
    // Stops reconnecting and closes the socket once the queue is written or on the next
    // failure; `done` runs when nothing is left to write.
    virtual void close(std::function<void()> done) = 0;
    // True for transports that lose templates with the datagrams: they need periodic resends.
    virtual bool needs_template_refresh() const noexcept = 0;
    virtual const CollectorUri& uri() const noexcept = 0;
    virtual const SinkStats& stats() const noexcept = 0;
};

using MessageSinkPtr = std::unique_ptr<MessageSink>;

// Resolves the collector's host (start-up time: throws std::runtime_error when it cannot) and
// makes the sink of its transport.
MessageSinkPtr make_sink(boost::asio::io_context& io, const CollectorUri& uri,
                         const SinkOptions& options, TemplateProvider templates);

}  // namespace ioam::exporter::sink
