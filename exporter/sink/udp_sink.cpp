#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <stdexcept>
#include <vector>

#include "exporter/record/ipfix_header.hpp"
#include "exporter/sink/message_sink.hpp"
#include "exporter/sink/sinks.hpp"

namespace ioam::exporter::sink {
namespace {

using boost::asio::ip::udp;

// One connected, non-blocking datagram socket; each message is one datagram. A datagram that
// cannot leave at once (socket buffer full) is dropped and counted rather than queued: UDP
// export is loss-tolerant by design and templates are resent periodically.
//
// A send error (ECONNREFUSED: the ICMP port unreachable of an earlier datagram reported on
// this send, which did not leave) means the collector was away and may have restarted without
// our templates: the templates are resent at once, followed by the message that failed (its
// one retry) and whatever was built meanwhile, instead of leaving records undecodable until
// the next periodic refresh.
class UdpSink final : public MessageSink {
  public:
    UdpSink(boost::asio::io_context& io, const CollectorUri& uri, const SinkOptions& options,
            TemplateProvider templates)
        : uri_(uri), options_(options), templates_(std::move(templates)), io_(io), socket_(io) {
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
        if (resyncing_) {
            hold(message);
            return;
        }
        const auto ec = send_now(message);
        if (!ec || ec == boost::asio::error::would_block) {
            return;
        }
        if (!templates_) {
            // Nothing to resend first: the one retry goes now.
            ++stats_.retried;
            if (send_now(message)) {
                ++stats_.dropped_messages;
            }
            return;
        }
        hold(message);
        resyncing_ = true;
        boost::asio::post(io_, [this, alive = std::weak_ptr<char>(alive_)] {
            if (!alive.expired()) {
                resync();
            }
        });
    }

    void start() override {}
    void close(std::function<void()> done) override {
        boost::system::error_code ec;
        socket_.close(ec);
        stats_.dropped_messages += held_.size();
        held_.clear();
        stats_.queued_messages = 0;
        stats_.queued_octets = 0;
        alive_.reset();
        if (done) {
            done();
        }
    }
    bool needs_template_refresh() const noexcept override { return true; }
    const CollectorUri& uri() const noexcept override { return uri_; }
    const SinkStats& stats() const noexcept override { return stats_; }

  private:
    // One datagram: counted as sent, dropped (would block) or failed; the error, if any.
    boost::system::error_code send_now(std::span<const std::uint8_t> message) {
        boost::system::error_code ec;
        const auto n = socket_.send(boost::asio::buffer(message.data(), message.size()), 0, ec);
        if (ec == boost::asio::error::would_block) {
            ++stats_.dropped_messages;
            return ec;
        }
        if (ec || n != message.size()) {
            ++stats_.send_errors;
            log_error(ec);
            return ec ? ec : boost::asio::error::message_size;
        }
        ++stats_.messages;
        stats_.octets += n;
        return {};
    }

    void hold(std::span<const std::uint8_t> message) {
        if (stats_.queued_octets + message.size() > options_.max_buffer_octets) {
            ++stats_.dropped_messages;
            return;
        }
        held_.emplace_back(message.begin(), message.end());
        stats_.queued_octets += message.size();
        stats_.queued_messages = held_.size();
    }

    // Templates first (numbered like the first held message, as RFC 7011 wants a template-only
    // message to carry the sequence number of the next data record), then the held messages.
    // Errors here are counted, not retried: a collector still away must not cause a loop.
    void resync() {
        // The provider flushes the records being built: they arrive through send() and are
        // held behind the failed message.
        auto templates = templates_();
        resyncing_ = false;
        if (!held_.empty()) {
            const auto seq = record::message_sequence(held_.front());
            for (auto& m : templates) {
                record::set_message_sequence(m, seq);
            }
        }
        for (const auto& m : templates) {
            (void)send_now(m);
        }
        stats_.retried += held_.empty() ? 0 : 1;
        for (const auto& m : held_) {
            (void)send_now(m);
        }
        held_.clear();
        stats_.queued_messages = 0;
        stats_.queued_octets = 0;
    }

    void log_error(const boost::system::error_code& ec) {
        // Once per power of two: a collector that is down must not flood the log.
        if ((stats_.send_errors & (stats_.send_errors - 1)) == 0) {
            spdlog::warn("{}: send failed ({}), {} failures so far", uri_.to_string(), ec.message(),
                         stats_.send_errors);
        }
    }

    CollectorUri uri_;
    SinkOptions options_;
    TemplateProvider templates_;
    boost::asio::io_context& io_;
    udp::socket socket_;
    std::vector<std::vector<std::uint8_t>> held_;  // waiting for the templates to go first
    bool resyncing_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();  // posted work checks it
    SinkStats stats_;
};

}  // namespace

MessageSinkPtr make_udp_sink(boost::asio::io_context& io, const CollectorUri& uri,
                             const SinkOptions& options, TemplateProvider templates) {
    return std::make_unique<UdpSink>(io, uri, options, std::move(templates));
}

}  // namespace ioam::exporter::sink
