// The collector's API behind the common HTTP server, as ioam-collector wires them, over real
// sockets. The server's own limits are tested in tests/common/net.

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <nlohmann/json.hpp>

#include "collector/api/routes.hpp"
#include "collector/store/sqlite_store.hpp"
#include "common/net/http_server.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/temp_path.hpp"

namespace ioam::collector::api {
namespace {

using namespace ioam::collector::test;

class HttpServerTest : public ::testing::Test {
  protected:
    HttpServerTest() : store(config_for(db)) {
        net::HttpServerConfig c;
        c.listen = "127.0.0.1:0";
        server = std::make_unique<net::HttpServer>(
            c,
            [this](const net::HttpRequest& r) {
                return routes.handle(r.method, r.target, r.if_none_match);
            },
            &Routes::is_cheap);
        server->start();
    }
    static store::StoreConfig config_for(const TempDb& d) {
        store::StoreConfig c;
        c.path = d.path();
        return c;
    }
    // One request with raw octets in its target; the whole answer (the server closes).
    std::string raw(const std::string& method, const std::string& target,
                    const std::string& headers = "") {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        s.connect({asio::ip::make_address("127.0.0.1"), server->port()});
        asio::write(
            s, asio::buffer(method + " " + target +
                            " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n" + headers + "\r\n"));
        std::string out;
        boost::system::error_code ec;
        asio::read(s, asio::dynamic_buffer(out), ec);
        return out;
    }

    TempDb db;
    store::SqliteStore store;
    Routes routes{store,
                  {[] { return std::string("m 1\n"); },
                   [] { return std::vector<source::ExporterStats>{}; },
                   [] { return true; },
                   {}},
                  {}};
    std::unique_ptr<net::HttpServer> server;
};

TEST_F(HttpServerTest, ServesRoutes) {
    auto r = http_get(server->port(), "/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "m 1\n");
    EXPECT_EQ(http_get(server->port(), "/nope")->status, 404);
    EXPECT_EQ(http_get(server->port(), "/api/v1/records?limit=x")->status, 400);
}

// Regression: this request aborted the collector (uncaught nlohmann type_error.316).
TEST_F(HttpServerTest, NonUtf8QueryIs400AndTheServerLives) {
    for (const std::string path : {"/api/v1/nodes", "/api/v1/records", "/api/v1/paths",
                                   "/api/v1/exporters", "/api/v1/dex/flows/1"}) {
        const std::string reply = raw("GET", path + "?\xff=1");
        EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << path << ": " << reply;
        const auto body = nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
        EXPECT_EQ(body["error"], "unknown parameter '\\xFF'");
    }
    EXPECT_EQ(http_get(server->port(), "/healthz")->status, 200);
}

TEST_F(HttpServerTest, HeadHasNoBody) {
    const std::string reply = raw("HEAD", "/healthz");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_NE(reply.find("Content-Length: 15\r\n"), std::string::npos) << reply;
    EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST_F(HttpServerTest, ConsoleRevalidatesWithEtag) {
    const std::string page = raw("GET", "/");
    ASSERT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page;
    EXPECT_NE(page.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
    EXPECT_NE(page.find("Cache-Control: no-cache"), std::string::npos);
    const auto at = page.find("ETag: ");
    ASSERT_NE(at, std::string::npos) << page;
    const std::string tag = page.substr(at + 6, page.find("\r\n", at) - at - 6);
    const std::string again = raw("GET", "/", "If-None-Match: " + tag + "\r\n");
    EXPECT_EQ(again.rfind("HTTP/1.1 304", 0), 0u) << again;
    EXPECT_EQ(again.find("<html"), std::string::npos);
    const std::string stale = raw("GET", "/", "If-None-Match: \"old\"\r\n");
    EXPECT_EQ(stale.rfind("HTTP/1.1 200", 0), 0u) << stale;
}

}  // namespace
}  // namespace ioam::collector::api
