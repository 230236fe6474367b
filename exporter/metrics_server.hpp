#pragma once
// Prometheus endpoint of the exporter on the common HTTP server: GET (or HEAD) /metrics renders
// the registry, anything else is 404/405. One request per connection, at most 16 connections
// (8 per client address), 5 s to send a request.
//
// Threading: serves on the io_context it is given, so that scrape-time reads of pipeline
// counters stay on the thread that owns them; construct, stop and destroy on that thread.

#include <cstdint>
#include <string>

#include "common/metrics/registry.hpp"
#include "common/net/http_server.hpp"

namespace ioam::exporter {

class MetricsServer {
  public:
    // listen: "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses). Throws
    // std::runtime_error when malformed or when it cannot bind (start-up time).
    MetricsServer(boost::asio::io_context& io, const std::string& listen,
                  const metrics::Registry& registry);

    std::uint16_t port() const { return server_.port(); }  // the bound port (with port 0)
    void stop() { server_.stop(); }

  private:
    net::HttpServer server_;
};

}  // namespace ioam::exporter
