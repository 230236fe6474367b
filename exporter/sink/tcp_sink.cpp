#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <stdexcept>

#include "exporter/record/ipfix_header.hpp"
#include "exporter/sink/message_sink.hpp"
#include "exporter/sink/sinks.hpp"

namespace ioam::exporter::sink {
namespace {

using boost::asio::ip::tcp;

// A TCP transport session per connection (RFC 7011 section 10.4): on each new connection the
// session's templates go first, then whatever was queued meanwhile, in order. Messages wait in
// a bounded queue while the collector is away; reconnects back off exponentially.
class TcpSink final : public MessageSink {
  public:
    TcpSink(boost::asio::io_context& io, const CollectorUri& uri, const SinkOptions& options,
            TemplateProvider templates)
        : uri_(uri),
          options_(options),
          templates_(std::move(templates)),
          socket_(io),
          timer_(io),
          delay_ms_(options.reconnect_initial_ms) {
        tcp::resolver resolver(io);
        boost::system::error_code ec;
        endpoints_ = resolver.resolve(uri.host, std::to_string(uri.port), ec);
        if (ec || endpoints_.empty()) {
            throw std::runtime_error("cannot resolve collector " + uri.to_string() + ": " +
                                     ec.message());
        }
    }

    ~TcpSink() override {
        boost::system::error_code ec;
        timer_.cancel();
        socket_.close(ec);
    }

    void send(std::span<const std::uint8_t> message) override {
        if (closing_ && !connected_) {
            ++stats_.dropped_messages;
            return;
        }
        if (stats_.queued_octets + message.size() > options_.max_buffer_octets) {
            ++stats_.dropped_messages;
            return;
        }
        enqueue_back({message.begin(), message.end()});
        write_next();
    }

    void start() override { connect(); }

    void close(std::function<void()> done) override {
        closing_ = true;
        done_ = std::move(done);
        timer_.cancel();
        if (!connected_ || queue_.empty()) {
            finish();
        }
    }

    bool needs_template_refresh() const noexcept override { return false; }
    const CollectorUri& uri() const noexcept override { return uri_; }
    const SinkStats& stats() const noexcept override { return stats_; }

  private:
    void connect() {
        if (closing_) {
            return;
        }
        boost::asio::async_connect(
            socket_, endpoints_, [this](const boost::system::error_code& ec, const tcp::endpoint&) {
                if (ec == boost::asio::error::operation_aborted) {
                    return;
                }
                if (ec) {
                    fail("connect", ec);
                    return;
                }
                on_connected();
            });
    }

    void on_connected() {
        if (ever_connected_) {
            ++stats_.reconnects;
        }
        ever_connected_ = true;
        delay_ms_ = options_.reconnect_initial_ms;
        socket_.set_option(tcp::no_delay(true));
        spdlog::info("{}: connected", uri_.to_string());
        // The provider may flush pending records through send(): they queue up behind what
        // already waits, and the templates go in front of all of it.
        auto templates = templates_ ? templates_() : std::vector<std::vector<std::uint8_t>>{};
        if (!queue_.empty()) {
            const auto seq = record::message_sequence(queue_.front());
            for (auto& m : templates) {
                record::set_message_sequence(m, seq);
            }
        }
        for (auto it = templates.rbegin(); it != templates.rend(); ++it) {
            stats_.queued_octets += it->size();
            queue_.push_front(std::move(*it));
        }
        stats_.queued_messages = queue_.size();
        connected_ = true;
        write_next();
    }

    void enqueue_back(std::vector<std::uint8_t> m) {
        stats_.queued_octets += m.size();
        queue_.push_back(std::move(m));
        stats_.queued_messages = queue_.size();
    }

    void write_next() {
        if (!connected_ || writing_ || queue_.empty()) {
            return;
        }
        writing_ = true;
        boost::asio::async_write(socket_, boost::asio::buffer(queue_.front()),
                                 [this](const boost::system::error_code& ec, std::size_t n) {
                                     writing_ = false;
                                     if (ec == boost::asio::error::operation_aborted) {
                                         return;
                                     }
                                     if (ec) {
                                         fail("write", ec);
                                         return;
                                     }
                                     ++stats_.messages;
                                     stats_.octets += n;
                                     stats_.queued_octets -= queue_.front().size();
                                     queue_.pop_front();
                                     stats_.queued_messages = queue_.size();
                                     if (closing_ && queue_.empty()) {
                                         finish();
                                         return;
                                     }
                                     write_next();
                                 });
    }

    // The message being written stays queued: a new connection sends it whole.
    void fail(const char* what, const boost::system::error_code& ec) {
        ++stats_.send_errors;
        connected_ = false;
        boost::system::error_code ignored;
        socket_.close(ignored);
        if (closing_) {
            finish();
            return;
        }
        spdlog::warn("{}: {} failed ({}), retrying in {} ms", uri_.to_string(), what, ec.message(),
                     delay_ms_);
        timer_.expires_after(std::chrono::milliseconds(delay_ms_));
        timer_.async_wait([this](const boost::system::error_code& tec) {
            if (!tec) {
                connect();
            }
        });
        delay_ms_ = std::min(delay_ms_ * 2, options_.reconnect_max_ms);
    }

    void finish() {
        boost::system::error_code ec;
        socket_.close(ec);
        connected_ = false;
        if (done_) {
            auto done = std::move(done_);
            done_ = nullptr;
            done();
        }
    }

    CollectorUri uri_;
    SinkOptions options_;
    TemplateProvider templates_;
    tcp::socket socket_;
    boost::asio::steady_timer timer_;
    tcp::resolver::results_type endpoints_;
    std::deque<std::vector<std::uint8_t>> queue_;
    std::uint32_t delay_ms_;
    bool connected_ = false;
    bool ever_connected_ = false;
    bool writing_ = false;
    bool closing_ = false;
    std::function<void()> done_;
    SinkStats stats_;
};

}  // namespace

MessageSinkPtr make_tcp_sink(boost::asio::io_context& io, const CollectorUri& uri,
                             const SinkOptions& options, TemplateProvider templates) {
    return std::make_unique<TcpSink>(io, uri, options, std::move(templates));
}

MessageSinkPtr make_sink(boost::asio::io_context& io, const CollectorUri& uri,
                         const SinkOptions& options, TemplateProvider templates) {
    if (uri.transport == Transport::udp) {
        return make_udp_sink(io, uri, options, std::move(templates));
    }
    return make_tcp_sink(io, uri, options, std::move(templates));
}

}  // namespace ioam::exporter::sink
