#pragma once
// Loopback helpers for the collector's integration tests: IPFIX senders, a small HTTP GET,
// child processes, and bounded waits for a condition (never timed assertions: the deadline
// only stops a test that would otherwise hang).

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ioam::collector::test {

namespace asio = boost::asio;

// Polls `done` every 20 ms for at most `limit`; returns its last value.
inline bool wait_for(const std::function<bool()>& done,
                     std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// `source`: the local address to send from (another 127.0.0.0/8 address is another exporter
// to the collector, which keys UDP sessions by address); the wildcard when null.
class UdpSender {
  public:
    explicit UdpSender(std::uint16_t port, const char* address = "127.0.0.1",
                       const char* source = nullptr)
        : socket_(io_), target_(asio::ip::make_address(address), port) {
        socket_.open(target_.protocol());
        if (source != nullptr) {
            socket_.bind({asio::ip::make_address(source), 0});
        } else {
            socket_.bind({target_.protocol() == asio::ip::udp::v4() ? asio::ip::udp::v4()
                                                                    : asio::ip::udp::v6(),
                          0});
        }
    }
    void send(const std::vector<std::uint8_t>& msg) { socket_.send_to(asio::buffer(msg), target_); }
    std::uint16_t local_port() const { return socket_.local_endpoint().port(); }

  private:
    asio::io_context io_;
    asio::ip::udp::socket socket_;
    asio::ip::udp::endpoint target_;
};

class TcpSender {
  public:
    explicit TcpSender(std::uint16_t port, const char* address = "127.0.0.1") : socket_(io_) {
        socket_.connect({asio::ip::make_address(address), port});
    }
    void send(const std::vector<std::uint8_t>& msg) { asio::write(socket_, asio::buffer(msg)); }
    // Octets sent but not yet acknowledged by the peer's kernel (TIOCOUTQ): 0 once everything
    // sent is in the peer's receive queue.
    int unacknowledged() {
        int n = -1;
        ::ioctl(socket_.native_handle(), TIOCOUTQ, &n);
        return n;
    }
    // True once the peer has closed the connection (reads EOF or an error).
    bool closed_by_peer() {
        socket_.non_blocking(true);
        std::uint8_t b = 0;
        boost::system::error_code ec;
        socket_.read_some(asio::buffer(&b, 1), ec);
        return ec && ec != asio::error::would_block;
    }

  private:
    asio::io_context io_;
    asio::ip::tcp::socket socket_;
};

struct HttpResult {
    int status = 0;
    std::string body;
};

inline std::optional<HttpResult> http_get(std::uint16_t port, const std::string& target) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    try {
        asio::io_context io;
        beast::tcp_stream stream(io);
        stream.connect({asio::ip::make_address("127.0.0.1"), port});
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(stream, req);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u << 20);
        http::read(stream, buf, parser);
        return HttpResult{static_cast<int>(parser.get().result_int()), parser.get().body()};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// A child process, its stdout and stderr in `log`; killed (SIGKILL) if still running at scope
// exit.
class Child {
  public:
    Child(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
        pid_ = ::fork();
        if (pid_ == 0) {
            std::FILE* f = std::freopen(log.c_str(), "w", stdout);
            if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) {
                ::_exit(126);
            }
            std::vector<char*> args;
            for (const auto& a : argv) {
                args.push_back(const_cast<char*>(a.c_str()));
            }
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Child() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool running() const { return pid_ > 0 && !status_; }
    // Only while not yet reaped: a reaped pid may belong to another process by now.
    void signal(int sig) {
        if (running()) {
            ::kill(pid_, sig);
        }
    }
    // Waits for exit; the raw wait status.
    int wait() {
        if (!status_) {
            int st = 0;
            ::waitpid(pid_, &st, 0);
            status_ = st;
        }
        return *status_;
    }
    // Non-blocking: true once it has exited (and is reaped).
    bool exited() {
        int st = 0;
        if (!status_ && pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = st;
        }
        return status_.has_value();
    }
    std::string log() const {
        std::ifstream in(log_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_;
};

// The first capture group of `pattern` in the child's log, once it appears.
inline std::optional<std::string> wait_log(const Child& c, const std::string& pattern) {
    const std::regex re(pattern);
    std::optional<std::string> found;
    wait_for([&] {
        std::smatch m;
        const std::string log = c.log();
        if (std::regex_search(log, m, re)) {
            found = m[1].str();
            return true;
        }
        return false;
    });
    return found;
}

// A free TCP port on 127.0.0.1 (bound then released; racy only against other programs).
inline std::uint16_t free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

}  // namespace ioam::collector::test
