#include "exporter/metrics_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <stdexcept>

namespace ioam::exporter {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr std::size_t kMaxConnections = 16;
constexpr auto kTimeout = std::chrono::seconds(5);

tcp::endpoint parse_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("--metrics-listen: expected ADDR:PORT, got " + listen);
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned port = 0;
    const auto* begin = listen.data() + colon + 1;
    const auto* end = listen.data() + listen.size();
    const auto [p, ec] = std::from_chars(begin, end, port);
    if (ec != std::errc{} || p != end || port > 65535) {
        throw std::runtime_error("--metrics-listen: bad port in " + listen);
    }
    boost::system::error_code aec;
    const auto addr = host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                   : asio::ip::make_address(host, aec);
    if (aec) {
        throw std::runtime_error("--metrics-listen: bad address in " + listen);
    }
    return {addr, static_cast<std::uint16_t>(port)};
}

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
    Impl(asio::io_context& io, const metrics::Registry& reg) : acceptor(io), registry(reg) {}

    // One connection: read a request, answer, close.
    struct Session : std::enable_shared_from_this<Session> {
        Session(tcp::socket s, std::shared_ptr<Impl> owner)
            : stream(std::move(s)), impl(std::move(owner)) {}
        ~Session() { --impl->connections; }

        void start() {
            stream.expires_after(kTimeout);
            http::async_read(stream, buffer, request,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (!ec) {
                                     self->respond();
                                 }
                             });
        }

        void respond() {
            response.version(request.version());
            response.keep_alive(false);
            response.set(http::field::server, "ioam-exporter");
            if (request.target() != "/metrics") {
                response.result(http::status::not_found);
                response.set(http::field::content_type, "text/plain");
                response.body() = "not found\n";
            } else if (request.method() != http::verb::get &&
                       request.method() != http::verb::head) {
                response.result(http::status::method_not_allowed);
                response.set(http::field::allow, "GET, HEAD");
            } else {
                response.result(http::status::ok);
                response.set(http::field::content_type, std::string(metrics::kContentType));
                response.body() = impl->registry.render();
            }
            response.prepare_payload();
            if (request.method() == http::verb::head) {
                response.body().clear();
            }
            http::async_write(
                stream, response, [self = shared_from_this()](beast::error_code, std::size_t) {
                    beast::error_code ignored;
                    self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                });
        }

        beast::tcp_stream stream;
        beast::flat_buffer buffer{8192};
        http::request<http::string_body> request;
        http::response<http::string_body> response;
        std::shared_ptr<Impl> impl;
    };

    void accept() {
        acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
                return;
            }
            if (!ec) {
                if (self->connections >= kMaxConnections) {
                    ++self->refused;  // scrapes are cheap; more than this is abuse
                } else {
                    ++self->connections;
                    std::make_shared<Session>(std::move(s), self)->start();
                }
            }
            self->accept();
        });
    }

    tcp::acceptor acceptor;
    const metrics::Registry& registry;
    std::size_t connections = 0;
    std::uint64_t refused = 0;
};

MetricsServer::MetricsServer(asio::io_context& io, const std::string& listen,
                             const metrics::Registry& registry)
    : impl_(std::make_shared<Impl>(io, registry)) {
    const auto ep = parse_listen(listen);
    boost::system::error_code ec;
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec && ep.address().is_v6()) {
        impl_->acceptor.set_option(asio::ip::v6_only(false), ec);
        ec = {};
    }
    if (!ec) {
        impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        impl_->acceptor.bind(ep, ec);
    }
    if (!ec) {
        impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::runtime_error("cannot serve metrics on " + listen + ": " + ec.message());
    }
    impl_->accept();
    spdlog::info("metrics on http://{}/metrics", listen);
}

MetricsServer::~MetricsServer() {
    stop();
}

std::uint16_t MetricsServer::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void MetricsServer::stop() {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
}

}  // namespace ioam::exporter
