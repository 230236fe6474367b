#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <stdexcept>

#include "exporter/sink/message_sink.hpp"
#include "exporter/sink/sinks.hpp"

namespace ioam::exporter::sink {
namespace {

using boost::asio::ip::udp;

// One connected, non-blocking datagram socket; each message is one datagram. A datagram that
// cannot leave at once (socket buffer full) is dropped and counted rather than queued: UDP
// export is loss-tolerant by design and templates are resent periodically.
class UdpSink final : public MessageSink {
  public:
    UdpSink(boost::asio::io_context& io, const CollectorUri& uri) : uri_(uri), socket_(io) {
        udp::resolver resolver(io);
        boost::system::error_code ec;
        const auto results = resolver.resolve(uri.host, std::to_string(uri.port), ec);
        if (ec || results.empty()) {
            throw std::runtime_error("cannot resolve collector " + uri.to_string() + ": " +
                                     ec.message());
        }
        const udp::endpoint ep = *results.begin();
        socket_.open(ep.protocol());
        socket_.non_blocking(true);
        // connect() fixes the peer, so ICMP errors surface as send errors.
        socket_.connect(ep);
    }

    void send(std::span<const std::uint8_t> message) override {
        boost::system::error_code ec;
        const auto n = socket_.send(boost::asio::buffer(message.data(), message.size()), 0, ec);
        if (ec == boost::asio::error::would_block) {
            ++stats_.dropped_messages;
            return;
        }
        if (ec || n != message.size()) {
            ++stats_.send_errors;
            log_error(ec);
            return;
        }
        ++stats_.messages;
        stats_.octets += n;
    }

    void start() override {}
    void close(std::function<void()> done) override {
        boost::system::error_code ec;
        socket_.close(ec);
        if (done) {
            done();
        }
    }
    bool needs_template_refresh() const noexcept override { return true; }
    const CollectorUri& uri() const noexcept override { return uri_; }
    const SinkStats& stats() const noexcept override { return stats_; }

  private:
    void log_error(const boost::system::error_code& ec) {
        // Once per power of two: a collector that is down must not flood the log.
        if ((stats_.send_errors & (stats_.send_errors - 1)) == 0) {
            spdlog::warn("{}: send failed ({}), {} failures so far", uri_.to_string(), ec.message(),
                         stats_.send_errors);
        }
    }

    CollectorUri uri_;
    udp::socket socket_;
    SinkStats stats_;
};

}  // namespace

MessageSinkPtr make_udp_sink(boost::asio::io_context& io, const CollectorUri& uri) {
    return std::make_unique<UdpSink>(io, uri);
}

}  // namespace ioam::exporter::sink
