#include "common/net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include <boost/asio.hpp>

#include "common/net/host_port.hpp"
#include "tests/collector/net_helpers.hpp"

namespace ioam::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ioam::collector::test::http_get;
using ioam::collector::test::wait_for;
using namespace std::chrono_literals;

// A raw client from a chosen loopback source address (127.0.0.0/8 is all local on Linux, so
// several "clients" fit on one host).
class Client {
  public:
    Client(std::uint16_t port, const char* from = "127.0.0.1") : socket_(io_) {
        socket_.open(tcp::v4());
        socket_.bind({asio::ip::make_address(from), 0});
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    }
    // False once the server has closed or reset the connection.
    bool send(const std::string& text) {
        boost::system::error_code ec;
        asio::write(socket_, asio::buffer(text), ec);
        return !ec;
    }
    // Everything until the server closes the connection.
    std::string read_all() {
        std::string out;
        boost::system::error_code ec;
        asio::read(socket_, asio::dynamic_buffer(out), ec);
        return out;
    }
    bool closed_by_peer() {
        socket_.non_blocking(true);
        char b = 0;
        boost::system::error_code ec;
        socket_.read_some(asio::buffer(&b, 1), ec);
        return ec && ec != asio::error::would_block;
    }

  private:
    asio::io_context io_;
    tcp::socket socket_;
};

HttpServerConfig test_config() {
    HttpServerConfig c;
    c.name = "test";
    c.listen = "127.0.0.1:0";
    return c;
}

HttpResponse echo(const HttpRequest& r) {
    if (r.target == "/boom") {
        throw std::runtime_error("handler bug");
    }
    return {200, "text/plain", std::string(r.method) + " " + std::string(r.target)};
}

// Waits until the server counts `n` open connections (it has accepted them).
bool wait_connections(const HttpServer& s, std::uint64_t n) {
    return wait_for([&] { return s.stats().connections == n; }, 30s);
}

TEST(HttpServer, HeadGetsTheHeadersButNoBody) {
    HttpServer server(test_config(), echo);
    server.start();
    Client c(server.port());
    c.send("HEAD /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const std::string reply = c.read_all();
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    // The handler saw a GET: the length is that of "GET /x".
    EXPECT_NE(reply.find("Content-Length: 6\r\n"), std::string::npos) << reply;
    EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST(HttpServer, ThrowingHandlerGives500AndTheServerCarriesOn) {
    HttpServer server(test_config(), echo);
    server.start();
    const auto r = http_get(server.port(), "/boom");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, "{\"error\":\"internal error\"}");
    EXPECT_EQ(server.stats().handler_errors, 1u);
    EXPECT_EQ(http_get(server.port(), "/fine")->status, 200);
}

TEST(HttpServer, SlowHandlerDoesNotDelayInlineTargets) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> entered{false};
    auto config = test_config();
    config.worker_threads = 1;
    HttpServer server(
        config,
        [&](const HttpRequest& r) {
            if (r.target == "/slow") {
                entered = true;
                released.wait();
            }
            return HttpResponse{200, "text/plain", "ok"};
        },
        [](std::string_view target) { return target == "/healthz"; });
    server.start();
    auto slow = std::async(std::launch::async, [&] { return http_get(server.port(), "/slow"); });
    ASSERT_TRUE(wait_for([&] { return entered.load(); }, 30s));
    // The only worker is blocked; /healthz runs on the I/O thread.
    const auto health = http_get(server.port(), "/healthz");
    EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);
    release.set_value();
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(slow.get()->status, 200);
}

TEST(HttpServer, ConnectionsPerClientAreLimited) {
    auto config = test_config();
    config.max_connections_per_client = 2;
    HttpServer server(config, echo);
    server.start();
    Client a(server.port()), b(server.port());
    ASSERT_TRUE(wait_connections(server, 2));
    Client refused(server.port());
    EXPECT_TRUE(wait_for([&] { return refused.closed_by_peer(); }, 30s));
    EXPECT_EQ(server.stats().refused_client_limit, 1u);
    // Another address still gets in.
    Client other(server.port(), "127.0.0.2");
    other.send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(other.read_all().starts_with("HTTP/1.1 200"));
}

TEST(HttpServer, TotalConnectionsAreLimited) {
    auto config = test_config();
    config.max_connections = 2;
    HttpServer server(config, echo);
    server.start();
    Client a(server.port(), "127.0.0.2"), b(server.port(), "127.0.0.3");
    ASSERT_TRUE(wait_connections(server, 2));
    Client refused(server.port(), "127.0.0.4");
    EXPECT_TRUE(wait_for([&] { return refused.closed_by_peer(); }, 30s));
    EXPECT_EQ(server.stats().refused_total_limit, 1u);
}

// Slow loris: a header sent one octet at a time is cut at the header timeout, however often
// octets arrive; the idle and request timeouts are far longer here.
TEST(HttpServer, HeaderTimeoutCountsFromTheFirstOctet) {
    auto config = test_config();
    config.header_timeout = 300ms;
    config.request_timeout = 600s;
    config.idle_timeout = 600s;
    HttpServer server(config, echo);
    server.start();
    Client loris(server.port());
    loris.send("GET / HTTP/1.1\r\nX: ");
    EXPECT_TRUE(wait_for([&] { return !loris.send("a") || loris.closed_by_peer(); }, 30s));
    EXPECT_EQ(server.stats().timeouts, 1u);
}

TEST(HttpServer, SixtyFourSlowClientsDoNotLockOthersOut) {
    auto config = test_config();
    config.header_timeout = 500ms;
    HttpServer server(config, echo);  // 64 in total, 16 per client address
    server.start();
    std::vector<std::unique_ptr<Client>> loris;
    for (int i = 0; i < 64; ++i) {
        const std::string from = "127.0.1." + std::to_string(1 + i % 4);
        loris.push_back(std::make_unique<Client>(server.port(), from.c_str()));
        loris.back()->send("GET / HTTP/1.1\r\nX: ");
    }
    ASSERT_TRUE(wait_connections(server, 64));
    std::atomic<bool> done{false};
    std::thread dribble([&] {
        while (!done) {
            for (auto& l : loris) {
                l->send("a");
            }
            std::this_thread::sleep_for(50ms);  // the attack's pace, not a wait
        }
    });
    const bool served = wait_for(
        [&] {
            const auto r = http_get(server.port(), "/healthz");
            return r && r->status == 200;
        },
        20s);
    done = true;
    dribble.join();
    EXPECT_TRUE(served);
    EXPECT_GE(server.stats().timeouts, 1u);
}

TEST(HttpServer, IdleKeepAliveConnectionsAreClosed) {
    auto config = test_config();
    config.idle_timeout = 200ms;
    HttpServer server(config, echo);
    server.start();
    Client c(server.port());
    c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_TRUE(wait_for([&] { return c.closed_by_peer(); }, 30s));
}

TEST(HttpServer, RateLimitPerConnection) {
    auto config = test_config();
    config.max_requests_per_second = 0.001;
    config.burst = 2;
    HttpServer server(config, echo);
    server.start();
    Client c(server.port());
    const std::string req = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send(req + req + req + "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const std::string replies = c.read_all();
    std::vector<std::string> statuses;
    for (auto at = replies.find("HTTP/1.1 "); at != std::string::npos;
         at = replies.find("HTTP/1.1 ", at + 1)) {
        statuses.push_back(replies.substr(at + 9, 3));
    }
    EXPECT_EQ(statuses, (std::vector<std::string>{"200", "200", "429", "429"})) << replies;
}

TEST(HttpServer, OversizedHeaderAndBodyAreRefused) {
    auto config = test_config();
    config.max_header_bytes = 1024;
    config.max_body_bytes = 16;
    HttpServer server(config, echo);
    server.start();
    Client big_header(server.port());
    big_header.send("GET / HTTP/1.1\r\nX: " + std::string(4096, 'a') + "\r\n\r\n");
    EXPECT_TRUE(big_header.read_all().starts_with("HTTP/1.1 431"));
    Client big_body(server.port());
    big_body.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'));
    EXPECT_TRUE(big_body.read_all().starts_with("HTTP/1.1 413"));
}

TEST(HttpServer, PortInUseNamesTheListenerAndAddress) {
    HttpServer first(test_config(), echo);
    first.start();
    auto config = test_config();
    config.name = "HTTP API";
    config.listen = "127.0.0.1:" + std::to_string(first.port());
    HttpServer second(config, echo);
    try {
        second.start();
        FAIL() << "bound a port in use";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_EQ(what,
                  "cannot listen for HTTP API on " + config.listen + ": Address already in use");
    }
    config.listen = "localhost:80";
    EXPECT_THROW(HttpServer(config, echo).start(), std::runtime_error);
}

TEST(HttpServer, ServesOnTheCallersIoContext) {
    asio::io_context io;
    HttpServer server(io, test_config(), echo);
    server.start();
    std::thread loop([&] { io.run(); });
    const auto r = http_get(server.port(), "/here");
    io.stop();
    loop.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /here");
}

TEST(HostPort, Forms) {
    EXPECT_EQ(parse_host_port("127.0.0.1:80")->host, "127.0.0.1");
    EXPECT_EQ(parse_host_port("[::1]:9555")->host, "::1");
    EXPECT_EQ(parse_host_port(":9555")->port, 9555);
    EXPECT_TRUE(parse_host_port(":9555")->host.empty());
    EXPECT_FALSE(parse_host_port("::1:80"));
    EXPECT_FALSE(parse_host_port("h:65536"));
    EXPECT_FALSE(parse_host_port("h:"));
    EXPECT_FALSE(parse_host_port("h"));
    EXPECT_FALSE(parse_host_port("[]:80"));
}

}  // namespace
}  // namespace ioam::net
