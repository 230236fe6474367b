#include "collector/api/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "collector/store/sqlite_store.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace ioam::collector::test;

class HttpServerTest : public ::testing::Test {
  protected:
    HttpServerTest() : store(config_for(db)) {}
    static store::StoreConfig config_for(const TempDb& d) {
        store::StoreConfig c;
        c.path = d.path();
        return c;
    }
    void start(HttpConfig c) {
        c.listen = "127.0.0.1:0";
        server = std::make_unique<HttpServer>(c, routes);
        server->start();
    }

    TempDb db;
    store::SqliteStore store;
    Routes routes{store,
                  {[] { return std::string("m 1\n"); },
                   [] { return std::vector<source::ExporterStats>{}; }, [] { return true; }},
                  {}};
    std::unique_ptr<HttpServer> server;
};

// Sends `count` requests on one keep-alive connection; their status codes.
std::vector<int> keep_alive_requests(std::uint16_t port, int count, const std::string& target,
                                     std::size_t header_padding = 0) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect({asio::ip::make_address("127.0.0.1"), port});
    std::vector<int> statuses;
    beast::flat_buffer buf;
    for (int i = 0; i < count; ++i) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (header_padding > 0) {
            req.set("X-Padding", std::string(header_padding, 'a'));
        }
        req.keep_alive(true);
        beast::error_code ec;
        http::write(stream, req, ec);
        http::response<http::string_body> res;
        http::read(stream, buf, res, ec);
        if (ec) {
            break;
        }
        statuses.push_back(static_cast<int>(res.result_int()));
    }
    return statuses;
}

TEST_F(HttpServerTest, ServesRoutes) {
    start({});
    auto r = http_get(server->port(), "/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "m 1\n");
    EXPECT_EQ(http_get(server->port(), "/nope")->status, 404);
    EXPECT_EQ(http_get(server->port(), "/api/v1/records?limit=x")->status, 400);
}

TEST_F(HttpServerTest, RateLimitPerConnection) {
    HttpConfig c;
    c.max_requests_per_second = 0.001;
    c.burst = 2;
    start(c);
    EXPECT_EQ(keep_alive_requests(server->port(), 4, "/healthz"),
              (std::vector<int>{200, 200, 429, 429}));
    // Another connection has its own budget.
    EXPECT_EQ(keep_alive_requests(server->port(), 1, "/healthz"), std::vector<int>{200});
}

TEST_F(HttpServerTest, OversizedHeaderIsRefused) {
    HttpConfig c;
    c.max_header_bytes = 1024;
    start(c);
    EXPECT_EQ(keep_alive_requests(server->port(), 1, "/healthz", 4096), std::vector<int>{431});
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
    HttpConfig c;
    c.idle_timeout_s = 1;
    start(c);
    TcpSender idle(server->port());
    EXPECT_TRUE(wait_for([&] { return idle.closed_by_peer(); }, std::chrono::seconds(30)));
}

}  // namespace
}  // namespace ioam::collector::api
