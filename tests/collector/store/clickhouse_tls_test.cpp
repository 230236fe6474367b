// TLS and compression between the ClickHouse back end and a real clickhouse-server: records
// written and read over HTTPS with the test's own CA, every certificate or name that must not
// be trusted refused with one line, and gzip bodies both ways.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <thread>

#include "collector/store/trace_store.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/store/clickhouse_helpers.hpp"
#include "tests/collector/store/test_ca.hpp"

namespace ioam::collector::store {
namespace {

using test::make_trace;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000;

// Writes `n` records through a store at `url`; the times read back through it.
std::set<std::uint64_t> round_trip(const std::string& url, std::uint64_t n) {
    auto store = make_store(test::clickhouse_store_config(url));
    store->start();
    for (std::uint64_t i = 0; i < n; ++i) {
        store->consume({"10.0.0.1", 1, true}, make_trace({1, 2, 3}, 5, kT0 + i));
    }
    store->flush();
    EXPECT_EQ(store->stats().written, n);
    std::set<std::uint64_t> times;
    const auto rows = store->query({.limit = 1'000'000});
    EXPECT_TRUE(rows);
    for (const auto& row : rows ? *rows : std::vector<StoredRecord>{}) {
        times.insert(std::get<IoamTrace>(row.record).observation_time_ns);
    }
    return times;
}

// The certificate names localhost only: an IP address in the URL must not match it.
class ClickhouseTls : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!ca_.why().empty()) {
            GTEST_SKIP() << "SKIPPED: " << ca_.why();
        }
        server_ =
            std::make_unique<test::ClickhouseServer>(std::vector<std::uint16_t>{}, 0, ca_.dir());
        if (!server_->why().empty()) {
            GTEST_SKIP() << "SKIPPED: " << server_->why();
        }
    }

    std::string url(const std::string& host, std::uint16_t port, const std::string& params) {
        return "clickhouse://" + host + ":" + std::to_string(port) + "/" + db_ + params;
    }

    test::TestCa ca_{"DNS:localhost"};
    std::unique_ptr<test::ClickhouseServer> server_;
    const std::string db_ = test::unique_database();
};

TEST_F(ClickhouseTls, RecordsWrittenAndReadOverTls) {
    const auto times =
        round_trip(url("localhost", server_->https_port(), "?secure=1&ca=" + ca_.ca()), 500);
    ASSERT_EQ(times.size(), 500u);
    EXPECT_EQ(*times.begin(), kT0);
    EXPECT_EQ(*times.rbegin(), kT0 + 499);
    // On the server, as its plain-HTTP port shows.
    EXPECT_EQ(test::clickhouse_sql(*server_, "SELECT count() FROM " + db_ + ".records"), "500\n");
}

TEST_F(ClickhouseTls, UntrustedCertificatesAndPortsAreRefusedWithOneLine) {
    const auto https = server_->https_port();
    for (const auto& [location, says] : std::vector<std::pair<std::string, std::string>>{
             {url("localhost", https, "?secure=1&ca=" + ca_.other_ca()),
              "server certificate refused: unable to get local issuer certificate (checked "
              "against ca=" +
                  ca_.other_ca()},
             {url("localhost", https, "?secure=1"),
              "server certificate refused: unable to get local issuer certificate (checked "
              "against the system's CA store"},
             {url("127.0.0.1", https, "?secure=1&ca=" + ca_.ca()),
              "server certificate refused: IP address mismatch"},
             {url("localhost", https, "?secure=1&ca=" + ca_.dir().string() + "/missing.pem"),
              "cannot load CA certificates from ca="},
             {url("localhost", https, "?secure=1&ca=" + ca_.dir().string() + "/ext.cnf"),
              "cannot load CA certificates from ca="},
             // Not TLS: the native protocol's port answers a ClientHello at once (an HTTP port
             // may wait for the end of a request line the random bytes never bring).
             {url("localhost", server_->tcp_port(), "?secure=1&ca=" + ca_.ca()),
              "TLS handshake with localhost:"},
             {url("localhost", https, "?ca=" + ca_.ca()), "ca= needs secure=1"},
             {url("localhost", https, "?secure=yes"), "bad parameter 'secure=yes'"},
         }) {
        try {
            make_store(test::clickhouse_store_config(location));
            ADD_FAILURE() << location << " accepted";
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(says), std::string::npos) << location << ": " << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        }
    }
    // Plain HTTP to the HTTPS port: no reply that parses, and no hang.
    EXPECT_THROW(make_store(test::clickhouse_store_config(url("localhost", https, ""))),
                 std::runtime_error);
}

// The other way round: a certificate for an address and another host name accepts the
// address, and refuses "localhost" although it reaches the same server.
TEST(ClickhouseTlsNames, HostNameMismatchIsRefused) {
    test::TestCa ca("DNS:elsewhere.invalid,IP:127.0.0.1");
    if (!ca.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << ca.why();
    }
    test::ClickhouseServer server({}, 0, ca.dir());
    if (!server.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << server.why();
    }
    const std::string db = test::unique_database();
    const std::string port = std::to_string(server.https_port());
    EXPECT_EQ(
        round_trip("clickhouse://127.0.0.1:" + port + "/" + db + "?secure=1&ca=" + ca.ca(), 10)
            .size(),
        10u);
    try {
        make_store(test::clickhouse_store_config("clickhouse://localhost:" + port + "/" + db +
                                                 "?secure=1&ca=" + ca.ca()));
        ADD_FAILURE() << "localhost accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("server certificate refused: hostname mismatch"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(ClickhouseTls, CompressedOverTls) {
    const auto times = round_trip(
        url("localhost", server_->https_port(), "?secure=1&compress=1&ca=" + ca_.ca()), 300);
    EXPECT_EQ(times.size(), 300u);
}

// gzip request and reply bodies, which 18.16 and current releases both take and send: the
// rows arrive intact, and the wire carries a fraction of their bytes.
TEST(ClickhouseCompression, GzipBodiesBothWays) {
    test::ClickhouseServer server;
    if (!server.why().empty()) {
        GTEST_SKIP() << "SKIPPED: " << server.why();
    }
    const std::string db = test::unique_database();
    EXPECT_EQ(round_trip(test::clickhouse_url(server, db, "?compress=1"), 2000).size(), 2000u);
    EXPECT_EQ(test::clickhouse_sql(server, "SELECT count() FROM " + db + ".records"), "2000\n");

    clickhouse::Endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = server.http_port();
    endpoint.user = "default";
    endpoint.compress = true;
    clickhouse::HttpClient client(endpoint, std::chrono::seconds(30));
    clickhouse::HttpReply reply;
    std::string why;
    std::string rows;
    for (int i = 0; i < 20000; ++i) {
        rows += std::to_string(i) + "\texporter-" + std::to_string(i % 7) + "\n";
    }
    ASSERT_TRUE(
        client.post("/", "CREATE TABLE " + db + ".t (n UInt32, s String) ENGINE = Log", reply, why))
        << why;
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_TRUE(client.post(
        "/?query=" + clickhouse::url_encode("INSERT INTO " + db + ".t FORMAT TabSeparated"), rows,
        reply, why))
        << why;
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto sent = client.body_bytes_sent();
    EXPECT_LT(sent, rows.size() / 3);
    ASSERT_TRUE(client.post("/", "SELECT n, s FROM " + db + ".t ORDER BY n FORMAT TabSeparated",
                            reply, why))
        << why;
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.body, rows);
    EXPECT_LT(client.body_bytes_received(), rows.size() / 3);
}

// A server that is not ClickHouse, on a loopback socket: answers each connection's request
// with the next of `replies`, then closes it.
class CannedServer {
  public:
    explicit CannedServer(std::vector<std::string> replies) : replies_(std::move(replies)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 4) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ADD_FAILURE() << "cannot listen on loopback";
            return;
        }
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            for (const auto& reply : replies_) {
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0) {
                    return;
                }
                std::string request;
                char buf[4096];
                while (request.find("\r\n\r\n") == std::string::npos) {
                    const auto n = ::read(c, buf, sizeof buf);
                    if (n <= 0) {
                        break;
                    }
                    request.append(buf, static_cast<std::size_t>(n));
                }
                EXPECT_EQ(::write(c, reply.data(), reply.size()),
                          static_cast<ssize_t>(reply.size()));
                ::close(c);
            }
        });
    }
    ~CannedServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::uint16_t port() const { return port_; }

  private:
    std::vector<std::string> replies_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// A reply that says gzip and is not, or is cut short, is an error with its reason, never a
// crash or a body taken as it is.
TEST(ClickhouseCompression, CorruptOrTruncatedGzipRepliesAreErrors) {
    std::string gz(64, '\0');
    uLongf gz_len = gz.size();
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    const std::string text = "1\n2\n3\n";
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(gz.data());
    z.avail_out = static_cast<uInt>(gz_len);
    ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    gz.resize(z.total_out);
    deflateEnd(&z);
    auto reply = [](const std::string& body) {
        return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Encoding: gzip\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    CannedServer server({reply(gz), reply("not gzip at all"), reply(gz.substr(0, gz.size() - 6))});
    clickhouse::Endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = server.port();
    endpoint.compress = true;
    clickhouse::HttpClient client(endpoint, std::chrono::seconds(5));
    clickhouse::HttpReply r;
    std::string why;
    ASSERT_TRUE(client.post("/", "SELECT 1", r, why)) << why;  // the server's own gzip
    EXPECT_EQ(r.body, text);
    for (int i = 0; i < 2; ++i) {
        EXPECT_FALSE(client.post("/", "SELECT 1", r, why));
        EXPECT_NE(why.find("a gzip reply that is corrupt"), std::string::npos) << why;
    }
}

}  // namespace
}  // namespace ioam::collector::store
