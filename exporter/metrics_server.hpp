#pragma once
// A tiny HTTP/1.1 server for Prometheus: GET /metrics renders the registry, anything else is
// 404/405. One request per connection, bounded concurrent connections, short timeouts.
//
// Threading: runs on the io_context it is given; the registry may be updated from anywhere.

#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics/registry.hpp"

namespace boost::asio {
class io_context;
}

namespace ioam::exporter {

class MetricsServer {
  public:
    // listen: "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses). Throws
    // std::runtime_error when malformed or when it cannot bind (start-up time).
    MetricsServer(boost::asio::io_context& io, const std::string& listen,
                  const metrics::Registry& registry);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    std::uint16_t port() const;  // the bound port (useful with port 0)
    void stop();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ioam::exporter
