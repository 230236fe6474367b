#pragma once
// The HTTP/1.1 server of both binaries (Boost.Beast), on threads of its own so that it never
// holds up telemetry. Every client input is bounded: connections in total and per client
// address, header and body octets, time to receive a header and a whole request, idle time
// between keep-alive requests, requests per second per connection (429 beyond). A handler that
// throws gives 500; HEAD is answered as GET without the body. The handler sees If-None-Match
// and may answer 304 to a response's ETag.
//
// With its own I/O thread, handlers run on `worker_threads` threads, except those `is_inline`
// selects (cheap ones such as /healthz and /metrics), which run on the I/O thread: a slow
// request never delays them. On a caller's io_context, everything runs on that context.
//
// Threading: start(), stop() and the destructor from the owner thread (the thread running the
// caller's io_context, if given); port() and stats() from any thread. With worker threads the
// handler must be callable from several threads at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace boost::asio {
class io_context;
}

namespace ioam::net {

struct HttpRequest {
    std::string_view method;         // "GET" for a HEAD request
    std::string_view target;         // path and query, as sent
    std::string_view if_none_match;  // the If-None-Match header, empty when absent
};

struct HttpResponse {
    // A constructor rather than an aggregate: {status, type, body} stays complete.
    HttpResponse(int s = 200, std::string type = "application/json", std::string b = {},
                 std::string tag = {})
        : status(s), content_type(std::move(type)), body(std::move(b)), etag(std::move(tag)) {}

    int status;
    std::string content_type;
    std::string body;
    // Sent as ETag with "Cache-Control: no-cache" (clients revalidate) when not empty.
    std::string etag;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// True when the handler for this target is cheap enough for the I/O thread.
using HttpInlinePredicate = std::function<bool(std::string_view target)>;

struct HttpServerConfig {
    std::string name = "HTTP";  // names the listener in errors: "HTTP API", "metrics"
    std::string server_header = "ioam";
    std::string listen = "127.0.0.1:9555";
    std::size_t max_connections = 64;
    std::size_t max_connections_per_client = 16;  // per client IP address
    std::size_t max_header_bytes = 8192;
    std::size_t max_body_bytes = 4096;
    // From the first octet of a request to its last header line.
    std::chrono::milliseconds header_timeout{5'000};
    // From the first octet of a request to its end; also bounds writing the response.
    std::chrono::milliseconds request_timeout{10'000};
    // Waiting for the next request on a keep-alive connection.
    std::chrono::milliseconds idle_timeout{30'000};
    double max_requests_per_second = 20;  // per connection, token bucket
    double burst = 40;
    bool keep_alive = true;          // false: one request per connection
    std::size_t worker_threads = 2;  // 0: every handler on the I/O thread
};

class HttpServer {
  public:
    struct Stats {
        std::uint64_t connections = 0;           // open now
        std::uint64_t refused_total_limit = 0;   // closed at accept: max_connections reached
        std::uint64_t refused_client_limit = 0;  // closed at accept: per-client limit reached
        std::uint64_t timeouts = 0;              // closed for a slow header, request or write
        std::uint64_t handler_errors = 0;        // handler threw: answered 500
    };

    // Runs an I/O thread of its own.
    HttpServer(HttpServerConfig config, HttpHandler handler, HttpInlinePredicate is_inline = {});
    // Serves on `io`, which the caller runs, handlers included (worker_threads is ignored): for
    // handlers that read state owned by that thread. Connections still open when the server is
    // destroyed end with `io`.
    HttpServer(boost::asio::io_context& io, HttpServerConfig config, HttpHandler handler);
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer();

    // Binds and starts accepting (and the threads). Throws std::runtime_error naming the listener
    // and address (bad address, port in use).
    void start();
    void stop();
    std::uint16_t port() const;
    Stats stats() const;

  private:
    struct OwnIo;
    struct Impl;
    // Before impl_: pending connections on the own io keep Impl alive until the io is gone.
    std::unique_ptr<OwnIo> own_;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ioam::net
