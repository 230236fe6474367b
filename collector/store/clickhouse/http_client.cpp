#include "collector/store/clickhouse/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
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

// gzip (RFC 1952), which ClickHouse 18.16 and current releases both accept as a request's
// Content-Encoding and send when asked. Level 1: most of the saving for the least CPU.
std::string gzip(std::string_view in) {
    z_stream z{};
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::bad_alloc();
    }
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);  // deflateBound leaves room for all of it
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// Inflates a gzip body of at most `limit` bytes inflated; false on corrupt or oversized input.
bool gunzip(std::string_view in, std::string& out, std::uint64_t limit) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return false;
    }
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    out.clear();
    int rc = Z_OK;
    char chunk[64 * 1024];
    while (rc == Z_OK && out.size() <= limit) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - z.avail_out);
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && out.size() <= limit;
}

// Bodies smaller than this go as they are: the gzip frame would cost more than it saves.
constexpr std::size_t kMinCompress = 512;

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
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;

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

    bool connected() const { return plain.has_value() || tls.has_value(); }
    void disconnect() {
        plain.reset();
        tls.reset();
    }
    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    template <typename F>
    void with_stream(F&& f) {
        if (tls) {
            f(*tls);
        } else {
            f(*plain);
        }
    }

    // The CA certificates are read once, at the first connection, so that a bad file is an
    // error of opening the store.
    bool make_tls_context(std::string& why) {
        if (tls_context) {
            return true;
        }
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        ctx.set_verify_mode(asio::ssl::verify_peer);
        beast::error_code ec;
        if (endpoint.ca_file.empty()) {
            ctx.set_default_verify_paths(ec);
        } else {
            ctx.load_verify_file(endpoint.ca_file, ec);
        }
        if (ec) {
            why = "TLS: cannot load CA certificates " +
                  (endpoint.ca_file.empty() ? std::string("(system store)")
                                            : "from ca=" + endpoint.ca_file) +
                  ": " + ec.message();
            return false;
        }
        tls_context.emplace(std::move(ctx));
        return true;
    }

    // SNI and the name the certificate must carry: the host as given (an IP address is checked
    // against the certificate's IP addresses, and sent no SNI, as RFC 6066 says).
    bool start_tls(std::string& why) {
        SSL* ssl = tls->native_handle();
        beast::error_code ec;
        const auto ip = asio::ip::make_address(endpoint.host, ec);
        const bool named = ec.failed();
        if (named
                ? (SSL_set_tlsext_host_name(ssl, endpoint.host.c_str()) != 1 ||
                   SSL_set1_host(ssl, endpoint.host.c_str()) != 1)
                : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str()) != 1) {
            why = "TLS to " + host_header + ": cannot set the name to verify";
            return false;
        }
        ec = {};
        lowest().expires_after(timeout);
        tls->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
        if (run(ec)) {
            return true;
        }
        const long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
            why = "TLS to " + host_header +
                  ": server certificate refused: " + X509_verify_cert_error_string(verify) +
                  " (checked against " +
                  (endpoint.ca_file.empty() ? std::string("the system's CA store; ca=FILE names "
                                                          "another")
                                            : "ca=" + endpoint.ca_file) +
                  ")";
        } else {
            why = "TLS handshake with " + host_header + ": " + ec.message();
        }
        return false;
    }

    bool connect(std::string& why) {
        if (endpoint.tls && !make_tls_context(why)) {
            return false;
        }
        beast::error_code ec;
        asio::ip::tcp::resolver resolver(ioc);
        auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
        if (ec) {
            why = "resolve " + host_header + ": " + ec.message();
            return false;
        }
        if (endpoint.tls) {
            tls.emplace(ioc, *tls_context);
        } else {
            plain.emplace(ioc);
        }
        lowest().expires_after(timeout);
        lowest().async_connect(results, [&](beast::error_code e, const auto&) { ec = e; });
        if (!run(ec)) {
            why = "connect " + host_header + ": " + ec.message();
            disconnect();
            return false;
        }
        lowest().socket().set_option(asio::ip::tcp::no_delay(true));
        if (tls && !start_tls(why)) {
            disconnect();
            return false;
        }
        return true;
    }

    bool post(const std::string& target, const std::string& body, HttpReply& reply,
              std::string& why) {
        if (connected() && Clock::now() - last_used > kMaxIdle) {
            disconnect();
        }
        if (!connected() && !connect(why)) {
            return false;
        }
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, host_header);
        req.set(http::field::authorization, authorization);
        req.keep_alive(true);
        if (endpoint.compress) {
            req.target(target + (target.find('?') == std::string::npos ? "?" : "&") +
                       "enable_http_compression=1");
            req.set(http::field::accept_encoding, "gzip");
        }
        if (endpoint.compress && body.size() >= kMinCompress) {
            req.set(http::field::content_encoding, "gzip");
            req.body() = gzip(body);
        } else {
            req.body() = body;
        }
        req.prepare_payload();
        beast::error_code ec;
        lowest().expires_after(timeout);
        with_stream([&](auto& s) {
            http::async_write(s, req, [&](beast::error_code e, std::size_t) { ec = e; });
        });
        if (run(ec)) {
            sent += req.body().size();
            http::response_parser<http::string_body> parser;
            parser.body_limit(kMaxReply);
            with_stream([&](auto& s) {
                http::async_read(s, buffer, parser,
                                 [&](beast::error_code e, std::size_t) { ec = e; });
            });
            if (run(ec)) {
                auto res = parser.release();
                reply.status = static_cast<int>(res.result_int());
                received += res.body().size();
                if (res[http::field::content_encoding] == "gzip") {
                    if (!gunzip(res.body(), reply.body, kMaxReply)) {
                        why = host_header + ": a gzip reply that is corrupt or over " +
                              std::to_string(kMaxReply >> 20) + " MiB inflated";
                        disconnect();
                        return false;
                    }
                } else {
                    reply.body = std::move(res.body());
                }
                if (!res.keep_alive()) {
                    disconnect();
                }
                last_used = Clock::now();
                return true;
            }
        }
        why = host_header + ": " + ec.message();
        disconnect();
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
    std::optional<asio::ssl::context> tls_context;
    std::optional<beast::tcp_stream> plain;
    std::optional<TlsStream> tls;
    beast::flat_buffer buffer;
    Clock::time_point last_used;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
};

HttpClient::HttpClient(Endpoint endpoint, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(endpoint), timeout)) {}

HttpClient::~HttpClient() = default;

bool HttpClient::post(const std::string& target, const std::string& body, HttpReply& reply,
                      std::string& why) {
    return impl_->post(target, body, reply, why);
}

std::uint64_t HttpClient::body_bytes_sent() const {
    return impl_->sent;
}

std::uint64_t HttpClient::body_bytes_received() const {
    return impl_->received;
}

}  // namespace ioam::collector::store::clickhouse
