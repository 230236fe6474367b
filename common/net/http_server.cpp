#include "common/net/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/net/host_port.hpp"
#include "common/util/thread_name.hpp"

namespace ioam::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Refills `rate` tokens per second up to `burst`; one token per request.
class TokenBucket {
  public:
    TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
    bool take() {
        const auto now = Clock::now();
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
    Clock::time_point last_ = Clock::now();
};

HttpResponse json_error(int status, std::string_view message) {
    // Only fixed ASCII messages come here: no escaping needed.
    return {status, "application/json", "{\"error\":\"" + std::string(message) + "\"}"};
}

}  // namespace

struct HttpServer::OwnIo {
    asio::io_context io{1};
    std::thread thread;
};

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, HttpServerConfig c, HttpHandler h, HttpInlinePredicate i,
         bool workers)
        : config(std::move(c)),
          handler(std::move(h)),
          is_inline(std::move(i)),
          io(context),
          acceptor(context) {
        if (workers && config.worker_threads > 0) {
            pool.emplace(config.worker_threads);
        }
    }

    // Called on worker threads and the I/O thread.
    HttpResponse call(const HttpRequest& request) {
        try {
            return handler(request);
        } catch (const std::exception&) {
            ++handler_errors;
        } catch (...) {
            ++handler_errors;
        }
        return json_error(500, "internal error");
    }

    struct Session : std::enable_shared_from_this<Session> {
        Session(std::shared_ptr<Impl> owner, tcp::socket socket, asio::ip::address addr)
            : keep(std::move(owner)),
              impl(*keep),
              stream(std::move(socket)),
              client(addr),
              buffer(impl.config.max_header_bytes + impl.config.max_body_bytes),
              bucket(impl.config.max_requests_per_second, impl.config.burst) {}
        ~Session() { impl.release(client); }

        // Waits for the first octet of the next request: the idle timeout between keep-alive
        // requests, the header timeout on a new connection.
        void wait_request(bool first) {
            if (buffer.size() > 0) {
                read_header();
                return;
            }
            stream.expires_after(first ? impl.config.header_timeout : impl.config.idle_timeout);
            stream.async_read_some(
                buffer.prepare(impl.config.max_header_bytes),
                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                    if (ec) {
                        self->count_timeout(ec);
                        return;
                    }
                    self->buffer.commit(n);
                    self->read_header();
                });
        }

        void read_header() {
            started = Clock::now();
            parser.emplace();
            parser->header_limit(static_cast<std::uint32_t>(
                std::min<std::size_t>(impl.config.max_header_bytes, UINT32_MAX)));
            parser->body_limit(impl.config.max_body_bytes);
            stream.expires_at(started + impl.config.header_timeout);
            http::async_read_header(stream, buffer, *parser,
                                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                        self->on_header(ec);
                                    });
        }

        void on_header(beast::error_code ec) {
            if (ec) {
                refuse(ec);
                return;
            }
            if (parser->is_done()) {
                dispatch();
                return;
            }
            stream.expires_at(started + impl.config.request_timeout);
            http::async_read(stream, buffer, *parser,
                             [self = shared_from_this()](beast::error_code e, std::size_t) {
                                 if (e) {
                                     self->refuse(e);
                                     return;
                                 }
                                 self->dispatch();
                             });
        }

        // A request that cannot be read: answer when the client is still listening.
        void refuse(beast::error_code ec) {
            if (ec == http::error::header_limit) {
                send(json_error(431, "request header too large"), false);
            } else if (ec == http::error::body_limit) {
                send(json_error(413, "request body too large"), false);
            } else if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
                       ec == asio::error::eof || ec == asio::error::connection_reset ||
                       ec == asio::error::operation_aborted) {
                count_timeout(ec);
            } else {
                send(json_error(400, "malformed request"), false);
            }
        }

        void count_timeout(beast::error_code ec) {
            if (ec == beast::error::timeout) {
                ++impl.timeouts;
            }
        }

        void dispatch() {
            const auto& req = parser->get();
            const bool keep_alive = impl.config.keep_alive && req.keep_alive();
            if (!bucket.take()) {
                send(json_error(429, "too many requests on this connection"), keep_alive);
                return;
            }
            head = req.method() == http::verb::head;
            method = head ? "GET" : std::string(req.method_string());
            target = std::string(req.target());
            if_none_match = std::string(req[http::field::if_none_match]);
            const HttpRequest request{method, target, if_none_match};
            if (!impl.pool || (impl.is_inline && impl.is_inline(target))) {
                send(impl.call(request), keep_alive);
                return;
            }
            // The I/O thread reads and writes other connections meanwhile. The session is moved
            // along so that its last reference always drops on the I/O thread.
            asio::post(*impl.pool, [self = shared_from_this(), keep_alive]() mutable {
                Session& s = *self;
                HttpResponse response =
                    s.impl.call(HttpRequest{s.method, s.target, s.if_none_match});
                asio::post(s.impl.io, [self = std::move(self), keep_alive,
                                       response = std::move(response)]() mutable {
                    self->send(std::move(response), keep_alive);
                });
            });
        }

        void send(HttpResponse r, bool keep_alive) {
            auto res = std::make_shared<http::response<http::string_body>>(
                static_cast<http::status>(r.status), 11);
            res->set(http::field::server, impl.config.server_header);
            res->set(http::field::content_type, r.content_type);
            if (r.status == 405) {
                res->set(http::field::allow, "GET, HEAD");
            }
            if (!r.etag.empty()) {
                res->set(http::field::etag, r.etag);
                res->set(http::field::cache_control, "no-cache");
            }
            res->keep_alive(keep_alive);
            res->body() = std::move(r.body);
            res->prepare_payload();
            if (head) {
                res->body().clear();  // Content-Length still announces the GET body
            }
            head = false;
            stream.expires_after(impl.config.request_timeout);
            http::async_write(
                stream, *res,
                [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                    if (ec) {
                        self->count_timeout(ec);
                        return;
                    }
                    if (keep_alive) {
                        self->wait_request(false);
                        return;
                    }
                    beast::error_code ignored;
                    self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                });
        }

        std::shared_ptr<Impl> keep;
        Impl& impl;
        beast::tcp_stream stream;
        asio::ip::address client;
        beast::flat_buffer buffer;
        std::optional<http::request_parser<http::string_body>> parser;
        TokenBucket bucket;
        Clock::time_point started;
        bool head = false;
        std::string method;  // of the request in progress, for a worker thread
        std::string target;
        std::string if_none_match;
    };

    // I/O thread only.
    void release(const asio::ip::address& client) {
        --connections;
        auto it = per_client.find(client);
        if (it != per_client.end() && --it->second == 0) {
            per_client.erase(it);
        }
    }

    void accept() {
        acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
                return;
            }
            if (!ec) {
                self->admit(std::move(s));
            }
            self->accept();
        });
    }

    void admit(tcp::socket socket) {
        beast::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        if (ec) {
            return;
        }
        auto addr = peer.address();
        if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
            addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
        }
        // Closing at once, with nothing read, costs the server least.
        if (connections >= config.max_connections) {
            ++refused_total_limit;
            return;
        }
        auto& from_client = per_client[addr];
        if (from_client >= config.max_connections_per_client) {
            ++refused_client_limit;
            return;
        }
        ++from_client;
        ++connections;
        std::make_shared<Session>(shared_from_this(), std::move(socket), addr)->wait_request(true);
    }

    const HttpServerConfig config;
    const HttpHandler handler;
    const HttpInlinePredicate is_inline;
    std::atomic<std::uint64_t> connections = 0;  // written on the I/O thread only
    std::map<asio::ip::address, std::size_t> per_client;
    std::atomic<std::uint64_t> refused_total_limit = 0;
    std::atomic<std::uint64_t> refused_client_limit = 0;
    std::atomic<std::uint64_t> timeouts = 0;
    std::atomic<std::uint64_t> handler_errors = 0;
    asio::io_context& io;
    tcp::acceptor acceptor;
    std::optional<asio::thread_pool> pool;
    std::atomic<std::uint16_t> bound_port = 0;
};

HttpServer::HttpServer(HttpServerConfig config, HttpHandler handler, HttpInlinePredicate is_inline)
    : own_(std::make_unique<OwnIo>()),
      impl_(std::make_shared<Impl>(own_->io, std::move(config), std::move(handler),
                                   std::move(is_inline), true)) {}

HttpServer::HttpServer(asio::io_context& io, HttpServerConfig config, HttpHandler handler)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(handler), nullptr, false)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    Impl& m = *impl_;
    const std::string where = m.config.name + " on " + m.config.listen;
    auto hp = parse_host_port(m.config.listen);
    boost::system::error_code ec;
    asio::ip::address addr = asio::ip::address_v6::any();
    if (hp && !hp->host.empty()) {
        addr = asio::ip::make_address(hp->host, ec);
    }
    if (!hp || ec) {
        throw std::runtime_error(where + ": bad address (expected HOST:PORT, [V6]:PORT or :PORT)");
    }
    const tcp::endpoint ep(addr, hp->port);
    m.acceptor.open(ep.protocol(), ec);
    if (!ec && addr.is_v6()) {
        m.acceptor.set_option(asio::ip::v6_only(false), ec);  // [::] also accepts IPv4
    }
    if (!ec) {
        m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        m.acceptor.bind(ep, ec);
    }
    if (!ec) {
        m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::runtime_error("cannot listen for " + where + ": " + ec.message());
    }
    m.bound_port = m.acceptor.local_endpoint().port();
    m.accept();
    if (own_) {
        own_->thread = std::thread([this] {
            name_this_thread("ioam-http");
            own_->io.run();
        });
    }
}

void HttpServer::stop() {
    Impl& m = *impl_;
    beast::error_code ignored;
    if (!own_ || !own_->thread.joinable()) {
        m.acceptor.close(ignored);  // on the thread running the io, as the contract says
        return;
    }
    own_->io.stop();
    own_->thread.join();
    m.acceptor.close(ignored);
    // Handlers still running finish; what they post to the stopped io is destroyed with it.
    if (m.pool) {
        m.pool->join();
    }
}

std::uint16_t HttpServer::port() const {
    return impl_->bound_port;
}

HttpServer::Stats HttpServer::stats() const {
    const Impl& m = *impl_;
    return {m.connections, m.refused_total_limit, m.refused_client_limit, m.timeouts,
            m.handler_errors};
}

}  // namespace ioam::net
