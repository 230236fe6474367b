#include "exporter/metrics_server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ioam::exporter {
namespace {

net::HttpServerConfig metrics_config(const std::string& listen) {
    // Scrapes are cheap and rare: more connections than this are abuse.
    return {.name = "metrics",
            .server_header = "ioam-exporter",
            .listen = listen,
            .max_connections = 16,
            .max_connections_per_client = 8,
            .max_header_bytes = 8192,
            .max_body_bytes = 0,
            .header_timeout = std::chrono::seconds(5),
            .request_timeout = std::chrono::seconds(5),
            .idle_timeout = std::chrono::seconds(5),
            .keep_alive = false};
}

net::HttpResponse serve(const metrics::Registry& registry, const net::HttpRequest& request) {
    if (request.target != "/metrics") {
        return {404, "text/plain", "not found\n"};
    }
    if (request.method != "GET") {
        return {405, "text/plain", "only GET and HEAD\n"};
    }
    return {200, std::string(metrics::kContentType), registry.render()};
}

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, const std::string& listen,
                             const metrics::Registry& registry)
    : server_(io, metrics_config(listen),
              [&registry](const net::HttpRequest& r) { return serve(registry, r); }) {
    server_.start();
    // The port too: with ":0" the kernel picks it (scripts/demo.sh reads it here).
    spdlog::info("metrics on http://{}/metrics (port {})", listen, server_.port());
}

}  // namespace ioam::exporter
