#pragma once
// The HTTP/1.1 server in front of Routes, on an I/O thread of its own (slow store queries never
// hold up IPFIX ingest). Bounded: request header size, connections, requests per second per
// connection (429 beyond), idle time per connection; response size is bounded by Routes.
//
// Threading: start() and stop() from the owner thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/api/routes.hpp"

namespace ioam::collector::api {

struct HttpConfig {
    std::string listen = "127.0.0.1:9555";
    std::size_t max_header_bytes = 8192;
    std::size_t max_connections = 64;
    std::uint64_t idle_timeout_s = 30;
    double max_requests_per_second = 20;  // per connection, token bucket
    double burst = 40;
};

class HttpServer {
  public:
    HttpServer(const HttpConfig& config, const Routes& routes);
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer();

    // Binds (throws std::runtime_error) and starts the I/O thread.
    void start();
    void stop();
    std::uint16_t port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::api
