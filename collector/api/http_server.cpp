#include "collector/api/http_server.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "collector/util/host_port.hpp"

namespace ioam::collector::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Refills `rate` tokens per second up to `burst`; one token per request.
class TokenBucket {
  public:
    TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
    bool take() {
        const auto now = std::chrono::steady_clock::now();
        tokens_ =
            std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
        last_ = now;
        if (tokens_ < 1) {
            return false;
        }
        tokens_ -= 1;
        return true;
    }

  private:
    double rate_;
    double burst_;
    double tokens_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

struct HttpServer::Impl {
    Impl(const HttpConfig& c, const Routes& r) : config(c), routes(r), acceptor(io) {}

    struct Session : std::enable_shared_from_this<Session> {
        Session(Impl& owner, tcp::socket socket)
            : impl(owner),
              stream(std::move(socket)),
              bucket(owner.config.max_requests_per_second, owner.config.burst) {}
        ~Session() { impl.connections--; }

        void read() {
            parser.emplace();
            parser->header_limit(static_cast<std::uint32_t>(impl.config.max_header_bytes));
            parser->body_limit(4096);
            stream.expires_after(std::chrono::seconds(impl.config.idle_timeout_s));
            http::async_read(stream, buffer, *parser,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 self->on_read(ec);
                             });
        }

        void on_read(beast::error_code ec) {
            if (ec == http::error::header_limit) {
                send(431, "{\"error\":\"request header too large\"}", false);
                return;
            }
            if (ec == http::error::body_limit) {
                send(413, "{\"error\":\"request body too large\"}", false);
                return;
            }
            if (ec) {
                return;  // closed, timed out or malformed: drop the connection
            }
            const auto& req = parser->get();
            if (!bucket.take()) {
                send(429, "{\"error\":\"too many requests on this connection\"}", req.keep_alive());
                return;
            }
            Response r = impl.routes.handle(std::string_view(req.method_string()),
                                            std::string_view(req.target()));
            send(r.status, std::move(r.body), req.keep_alive(), r.content_type);
        }

        void send(int status, std::string body, bool keep_alive,
                  std::string_view content_type = "application/json") {
            auto res = std::make_shared<http::response<http::string_body>>(
                static_cast<http::status>(status), 11);
            res->set(http::field::server, "ioam-collector");
            res->set(http::field::content_type, content_type);
            res->keep_alive(keep_alive);
            res->body() = std::move(body);
            res->prepare_payload();
            http::async_write(
                stream, *res,
                [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                    if (!ec && keep_alive) {
                        self->read();
                        return;
                    }
                    beast::error_code ignored;
                    self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                });
        }

        Impl& impl;
        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        std::optional<http::request_parser<http::string_body>> parser;
        TokenBucket bucket;
    };

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) {
                return;
            }
            if (!ec && connections < config.max_connections) {
                connections++;
                std::make_shared<Session>(*this, std::move(socket))->read();
            }
            accept();
        });
    }

    const HttpConfig config;
    const Routes& routes;
    // Before io: sessions still queued in io decrement it when io is destroyed.
    std::size_t connections = 0;  // I/O thread only
    asio::io_context io;
    tcp::acceptor acceptor;
    std::thread thread;
};

HttpServer::HttpServer(const HttpConfig& config, const Routes& routes)
    : impl_(std::make_unique<Impl>(config, routes)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    Impl& m = *impl_;
    auto hp = parse_host_port(m.config.listen);
    boost::system::error_code ec;
    const auto addr = hp ? asio::ip::make_address(hp->host, ec) : asio::ip::address();
    if (!hp || ec) {
        throw std::runtime_error("bad HTTP listen address: " + m.config.listen);
    }
    const tcp::endpoint ep(addr, hp->port);
    m.acceptor.open(ep.protocol());
    m.acceptor.set_option(asio::socket_base::reuse_address(true));
    m.acceptor.bind(ep);
    m.acceptor.listen();
    m.accept();
    m.thread = std::thread([&m] { m.io.run(); });
}

void HttpServer::stop() {
    Impl& m = *impl_;
    if (!m.thread.joinable()) {
        return;
    }
    m.io.stop();
    m.thread.join();
}

std::uint16_t HttpServer::port() const {
    return impl_->acceptor.is_open() ? impl_->acceptor.local_endpoint().port() : 0;
}

}  // namespace ioam::collector::api
