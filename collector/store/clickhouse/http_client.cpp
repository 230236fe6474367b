#include "collector/store/clickhouse/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <optional>

namespace ioam::collector::store::clickhouse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Clock = std::chrono::steady_clock;

// ClickHouse closes idle keep-alive connections after keep_alive_timeout (3 s by default).
constexpr auto kMaxIdle = std::chrono::milliseconds(2000);

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : in) {
        acc = (acc << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out += kAlphabet[(acc << (6 - bits)) & 63];
    }
    while (out.size() % 4 != 0) {
        out += '=';
    }
    return out;
}

}  // namespace

std::string url_encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += {'%', kHex[u >> 4], kHex[u & 15]};
        }
    }
    return out;
}

struct HttpClient::Impl {
    Impl(Endpoint e, std::chrono::milliseconds t)
        : endpoint(std::move(e)),
          timeout(t),
          authorization("Basic " + base64(endpoint.user + ":" + endpoint.password)),
          host_header(endpoint.host + ":" + std::to_string(endpoint.port)) {}

    // Runs the pending operation to its end or the stream's deadline: asynchronous operations
    // are the only ones tcp_stream puts a deadline on.
    bool run(beast::error_code& ec) {
        ioc.restart();
        ioc.run();
        return !ec;
    }

    bool connect(std::string& why) {
        stream.emplace(ioc);
        beast::error_code ec;
        asio::ip::tcp::resolver resolver(ioc);
        auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
        if (ec) {
            why = "resolve " + host_header + ": " + ec.message();
            return false;
        }
        stream->expires_after(timeout);
        stream->async_connect(results, [&](beast::error_code e, const auto&) { ec = e; });
        if (!run(ec)) {
            why = "connect " + host_header + ": " + ec.message();
            stream.reset();
            return false;
        }
        stream->socket().set_option(asio::ip::tcp::no_delay(true));
        return true;
    }

    bool post(const std::string& target, const std::string& body, HttpReply& reply,
              std::string& why) {
        if (stream && Clock::now() - last_used > kMaxIdle) {
            stream.reset();
        }
        if (!stream && !connect(why)) {
            return false;
        }
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, host_header);
        req.set(http::field::authorization, authorization);
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        beast::error_code ec;
        stream->expires_after(timeout);
        http::async_write(*stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
        if (run(ec)) {
            http::response_parser<http::string_body> parser;
            parser.body_limit(kMaxReply);
            http::async_read(*stream, buffer, parser,
                             [&](beast::error_code e, std::size_t) { ec = e; });
            if (run(ec)) {
                auto res = parser.release();
                reply.status = static_cast<int>(res.result_int());
                reply.body = std::move(res.body());
                if (!res.keep_alive()) {
                    stream.reset();
                }
                last_used = Clock::now();
                return true;
            }
        }
        why = host_header + ": " + ec.message();
        stream.reset();
        buffer.clear();
        return false;
    }

    // A reply larger than this is refused: a read never buffers without bound.
    static constexpr std::uint64_t kMaxReply = 512ull << 20;

    const Endpoint endpoint;
    const std::chrono::milliseconds timeout;
    const std::string authorization;
    const std::string host_header;
    asio::io_context ioc;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    Clock::time_point last_used;
};

HttpClient::HttpClient(Endpoint endpoint, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(endpoint), timeout)) {}

HttpClient::~HttpClient() = default;

bool HttpClient::post(const std::string& target, const std::string& body, HttpReply& reply,
                      std::string& why) {
    return impl_->post(target, body, reply, why);
}

}  // namespace ioam::collector::store::clickhouse
