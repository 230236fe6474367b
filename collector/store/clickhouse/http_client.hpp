#pragma once
// One keep-alive HTTP/1.1 connection to ClickHouse's HTTP interface (Beast), with a deadline on
// every request. Reconnects on demand; a connection idle for longer than the server keeps it
// is replaced before use, so that a request is never sent into a socket the server closed.
// Optionally TLS (the server's certificate and name verified) and gzip in both directions.
//
// Threading: one caller at a time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ioam::collector::store::clickhouse {

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string user;
    std::string password;
    // TLS, verified against `ca_file` (PEM), or the system's CA store when empty.
    bool tls = false;
    std::string ca_file;
    // Request bodies gzip-compressed, and replies asked for gzip-compressed: fewer bytes on
    // the wire for some CPU on both ends.
    bool compress = false;
};

struct HttpReply {
    int status = 0;
    std::string body;
};

class HttpClient {
  public:
    HttpClient(Endpoint endpoint, std::chrono::milliseconds timeout);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // POSTs `body` to `target` ("/?query=..."); false (and `why`) when no reply arrived, in
    // which case the request may or may not have been executed.
    bool post(const std::string& target, const std::string& body, HttpReply& reply,
              std::string& why);

    // Request and reply bodies as they went over the wire (compressed, if they were).
    std::uint64_t body_bytes_sent() const;
    std::uint64_t body_bytes_received() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// "%XX" for everything but unreserved characters, for a query string.
std::string url_encode(std::string_view s);

}  // namespace ioam::collector::store::clickhouse
