#include "collector/source/ipfix_listener.hpp"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <list>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "common/net/host_port.hpp"
#include "common/util/counter.hpp"
#include "common/util/thread_name.hpp"

namespace ioam::collector::source {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

std::uint64_t wall_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// IPv4-mapped IPv6 addresses (dual-stack sockets) are reported as plain IPv4.
asio::ip::address unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

template <typename Endpoint>
Endpoint resolve(const std::string& listen) {
    auto hp = net::parse_host_port(listen);
    if (!hp) {
        throw std::runtime_error("bad listen address: " + listen);
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(hp->host, ec);
    if (ec) {
        throw std::runtime_error("bad listen address: " + listen);
    }
    return Endpoint(addr, hp->port);
}

template <typename Socket, typename Endpoint>
void open_dual_stack(Socket& socket, const Endpoint& ep) {
    socket.open(ep.protocol());
    if (ep.address().is_v6()) {
        socket.set_option(asio::ip::v6_only(false));  // [::] also receives IPv4
    }
}

}  // namespace

struct IpfixListener::Impl {
    Impl(const ListenerConfig& c, IpfixProcessor& p)
        : config(c), processor(p), udp_socket(io), acceptor(io), sweep(io), drain_timer(io) {}

    struct TcpConn;
    using Conns = std::list<std::shared_ptr<TcpConn>>;

    struct TcpConn : std::enable_shared_from_this<TcpConn> {
        TcpConn(Impl& owner, tcp::socket s, SessionId id)
            : impl(owner), socket(std::move(s)), session(id), idle(socket.get_executor()) {}
        Impl& impl;
        tcp::socket socket;
        SessionId session;
        asio::steady_timer idle;
        Conns::iterator position;  // in impl.conns, least recently active first
        std::chrono::steady_clock::time_point last_active;
        std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(65535);

        void read_header() {
            // A completion queued before an eviction or idle close may still run.
            if (!socket.is_open()) {
                return;
            }
            touch();
            asio::async_read(
                socket, asio::buffer(buf.data(), 4),
                [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                    if (!ec) {
                        self->read_body();
                    } else {
                        self->close();
                    }
                });
        }
        void read_body() {
            const std::size_t version = load_u16(buf.data());
            const std::size_t len = load_u16(buf.data() + 2);
            if (version != kIpfixVersion || len < kMessageHeaderLen) {
                // Hand it to the processor so the exporter's error is counted, then give up:
                // a TCP stream cannot be resynchronised after a bad length.
                impl.processor.process(session, Bytes(buf.data(), 4), wall_ns());
                impl.tcp_bad_framing++;
                close();
                return;
            }
            asio::async_read(
                socket, asio::buffer(buf.data() + 4, len - 4),
                [self = shared_from_this(), len](boost::system::error_code ec, std::size_t) {
                    if (ec) {
                        self->close();
                        return;
                    }
                    self->impl.processor.process(self->session, Bytes(self->buf.data(), len),
                                                 wall_ns());
                    self->read_header();
                });
        }
        void touch() {
            last_active = std::chrono::steady_clock::now();
            impl.conns.splice(impl.conns.end(), impl.conns, position);
            if (impl.config.tcp_idle_timeout_s == 0 || impl.draining) {
                return;
            }
            idle.expires_after(std::chrono::seconds(impl.config.tcp_idle_timeout_s));
            idle.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
                if (auto self = weak.lock(); self && !ec) {
                    self->impl.tcp_idle_closed++;
                    self->close();
                }
            });
        }
        void close() {
            if (!socket.is_open()) {
                return;
            }
            boost::system::error_code ignored;
            socket.close(ignored);
            idle.cancel();
            impl.processor.close_session(session, wall_ns());
            // The last reference may be this list entry: erase it last.
            auto keep = shared_from_this();
            impl.conns.erase(position);
            impl.tcp_open = impl.conns.size();
            if (impl.draining && impl.conns.empty()) {
                impl.io.stop();
            }
        }
    };

    // Datagrams are read kUdpBatch per system call (recvmmsg) while the socket has them: one
    // reactor wake-up and one clock read per batch rather than per datagram. After
    // kUdpRoundsPerTurn full batches the loop yields (post), so TCP exporters and timers are
    // served under a UDP flood; it waits for readiness only once the socket is drained, so an
    // edge-triggered reactor cannot leave datagrams behind.
    void receive_udp() {
        udp_socket.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
            if (ec != asio::error::operation_aborted && !draining) {
                read_udp_turn();
            }
        });
    }

    void read_udp_turn() {
        for (int round = 0; round < kUdpRoundsPerTurn; ++round) {
            if (read_udp_batch() < kUdpBatch) {
                receive_udp();
                return;
            }
        }
        asio::post(io, [this] {
            if (!draining) {
                read_udp_turn();
            }
        });
    }

    // Returns the datagrams read: fewer than kUdpBatch when the socket had no more (or failed).
    std::size_t read_udp_batch() {
        for (std::size_t i = 0; i < kUdpBatch; ++i) {
            udp_iov[i] = {udp_buf.data() + i * kMaxDatagram, kMaxDatagram};
            udp_msgs[i].msg_hdr = {
                &udp_addrs[i], sizeof udp_addrs[i], &udp_iov[i], 1, nullptr, 0, 0};
            udp_msgs[i].msg_len = 0;
        }
        const int n = ::recvmmsg(udp_fd, udp_msgs.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) {
            return 0;
        }
        const std::uint64_t now = wall_ns();
        add_single_writer(udp_datagrams, static_cast<std::uint64_t>(n));
        for (int i = 0; i < n; ++i) {
            on_datagram(udp_addrs[i],
                        Bytes(udp_buf.data() + static_cast<std::size_t>(i) * kMaxDatagram,
                              udp_msgs[i].msg_len),
                        now);
        }
        return static_cast<std::size_t>(n);
    }

    void on_datagram(const sockaddr_storage& from, Bytes datagram, std::uint64_t now) {
        UdpPeer peer;
        std::uint32_t scope = 0;
        if (from.ss_family == AF_INET6) {
            const auto& a6 = reinterpret_cast<const sockaddr_in6&>(from);
            std::memcpy(peer.address.data(), &a6.sin6_addr, peer.address.size());
            peer.port = ntohs(a6.sin6_port);
            scope = a6.sin6_scope_id;
        } else {
            const auto& a4 = reinterpret_cast<const sockaddr_in&>(from);
            peer.address[10] = peer.address[11] = 0xff;  // IPv4-mapped, as dual-stack reports
            std::memcpy(peer.address.data() + 12, &a4.sin_addr, 4);
            peer.port = ntohs(a4.sin_port);
        }
        // The text form is a formatted print: kept for the last sender, who usually sends again.
        if (udp_peer_text.empty() || peer.address != udp_peer_address) {
            udp_peer_text = unmapped(asio::ip::make_address_v6(peer.address, scope)).to_string();
            udp_peer_address = peer.address;
        }
        processor.process_udp(peer, udp_peer_text, datagram, now);
    }

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || draining) {
                return;
            }
            if (!ec) {
                on_accept(std::move(socket));
            }
            accept();
        });
    }

    // Frees a slot by closing the connection silent for longest, if it has been silent for
    // tcp_evict_after: a flood of idle connections cannot lock exporters out.
    bool make_room() {
        if (conns.size() < config.max_tcp_connections) {
            return true;
        }
        const std::shared_ptr<TcpConn> oldest = conns.front();
        if (std::chrono::steady_clock::now() - oldest->last_active < config.tcp_evict_after) {
            return false;
        }
        tcp_evicted++;
        oldest->close();
        return true;
    }

    void on_accept(tcp::socket socket) {
        boost::system::error_code peer_ec;
        const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
        if (peer_ec || !make_room()) {
            tcp_rejected++;
            return;  // socket closes when it goes out of scope
        }
        const asio::ip::address a = unmapped(peer.address());
        auto session = processor.open_tcp(a.to_string(), peer.port());
        if (!session) {
            tcp_rejected++;
            return;
        }
        boost::system::error_code ignored;
        socket.set_option(asio::socket_base::keep_alive(true), ignored);
        tcp_connections++;
        auto conn = std::make_shared<TcpConn>(*this, std::move(socket), *session);
        conn->position = conns.insert(conns.end(), conn);
        tcp_open = conns.size();
        conn->read_header();
    }

    void schedule_sweep() {
        sweep.expires_after(std::chrono::seconds(config.expire_interval_s));
        sweep.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                processor.expire(wall_ns());
                schedule_sweep();
            }
        });
    }

    // On the I/O thread: no new connections or datagrams; what the kernel already holds is
    // processed. TCP connections stop at end of the data queued (SHUT_RD keeps it readable),
    // then close; the timer bounds a peer that keeps sending.
    void drain() {
        draining = true;
        boost::system::error_code ignored;
        acceptor.close(ignored);
        sweep.cancel();
        if (udp_socket.is_open()) {
            udp_socket.non_blocking(true, ignored);
            // A sender that never stops must not hold the shutdown.
            const auto deadline = std::chrono::steady_clock::now() + config.drain_timeout;
            while (std::chrono::steady_clock::now() < deadline && read_udp_batch() == kUdpBatch) {
            }
            udp_socket.close(ignored);
        }
        for (const auto& c : conns) {
            c->idle.cancel();
            c->socket.shutdown(tcp::socket::shutdown_receive, ignored);
        }
        if (conns.empty()) {
            io.stop();
            return;
        }
        drain_timer.expires_after(config.drain_timeout);
        drain_timer.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                io.stop();
            }
        });
    }

    const ListenerConfig config;
    IpfixProcessor& processor;
    asio::io_context io;
    udp::socket udp_socket;
    tcp::acceptor acceptor;
    asio::steady_timer sweep;
    asio::steady_timer drain_timer;
    // The largest UDP payload; a batch's buffers are touched only as far as datagrams fill
    // them, so their resident size follows the datagrams received.
    static constexpr std::size_t kMaxDatagram = 65535;
    static constexpr std::size_t kUdpBatch = 32;
    static constexpr int kUdpRoundsPerTurn = 16;
    std::vector<std::uint8_t> udp_buf = std::vector<std::uint8_t>(kUdpBatch * kMaxDatagram);
    std::array<mmsghdr, kUdpBatch> udp_msgs{};
    std::array<iovec, kUdpBatch> udp_iov{};
    std::array<sockaddr_storage, kUdpBatch> udp_addrs{};
    std::array<std::uint8_t, 16> udp_peer_address{};  // I/O thread only
    std::string udp_peer_text;                        // its textual form
    std::thread thread;
    Conns conns;            // I/O thread only
    bool draining = false;  // I/O thread only
    int udp_fd = -1;        // set before the I/O thread starts
    std::atomic<std::uint64_t> udp_datagrams{0};
    std::atomic<std::uint64_t> tcp_connections{0};
    std::atomic<std::uint64_t> tcp_rejected{0};
    std::atomic<std::uint64_t> tcp_evicted{0};
    std::atomic<std::uint64_t> tcp_idle_closed{0};
    std::atomic<std::uint64_t> tcp_bad_framing{0};
    std::atomic<std::uint64_t> tcp_open{0};
};

IpfixListener::IpfixListener(const ListenerConfig& config, IpfixProcessor& processor)
    : impl_(std::make_unique<Impl>(config, processor)) {}

IpfixListener::~IpfixListener() {
    stop();
}

void IpfixListener::start() {
    Impl& m = *impl_;
    // Boost's own message names its source file: say which listener and address instead.
    const auto failed = [](const char* what, const std::string& listen,
                           const boost::system::system_error& e) {
        return std::runtime_error(std::string(what) + " " + listen + ": " + e.code().message());
    };
    if (!m.config.udp_listen.empty()) {
        const auto ep = resolve<udp::endpoint>(m.config.udp_listen);
        try {
            open_dual_stack(m.udp_socket, ep);
            m.udp_socket.set_option(asio::socket_base::receive_buffer_size(
                static_cast<int>(m.config.udp_receive_buffer)));
            m.udp_socket.bind(ep);
        } catch (const boost::system::system_error& e) {
            throw failed("IPFIX/UDP listener: cannot bind", m.config.udp_listen, e);
        }
        m.udp_fd = m.udp_socket.native_handle();
        m.receive_udp();
    }
    if (!m.config.tcp_listen.empty()) {
        const auto ep = resolve<tcp::endpoint>(m.config.tcp_listen);
        try {
            open_dual_stack(m.acceptor, ep);
            m.acceptor.set_option(asio::socket_base::reuse_address(true));
            m.acceptor.bind(ep);
            m.acceptor.listen();
        } catch (const boost::system::system_error& e) {
            throw failed("IPFIX/TCP listener: cannot listen on", m.config.tcp_listen, e);
        }
        m.accept();
    }
    m.schedule_sweep();
    m.thread = std::thread([&m] {
        name_this_thread("ioam-ipfix");
        m.io.run();
    });
}

void IpfixListener::stop() {
    Impl& m = *impl_;
    if (!m.thread.joinable()) {
        return;
    }
    asio::post(m.io, [&m] { m.drain(); });
    m.thread.join();
    // Connections left by the drain timeout: their sessions end now.
    while (!m.conns.empty()) {
        m.conns.front()->close();
    }
}

std::uint16_t IpfixListener::udp_port() const {
    return impl_->udp_socket.is_open() ? impl_->udp_socket.local_endpoint().port() : 0;
}

std::uint16_t IpfixListener::tcp_port() const {
    return impl_->acceptor.is_open() ? impl_->acceptor.local_endpoint().port() : 0;
}

ListenerStats IpfixListener::stats() const {
    ListenerStats s;
    s.udp_datagrams = impl_->udp_datagrams.load();
    s.tcp_connections = impl_->tcp_connections.load();
    s.tcp_rejected = impl_->tcp_rejected.load();
    s.tcp_evicted = impl_->tcp_evicted.load();
    s.tcp_idle_closed = impl_->tcp_idle_closed.load();
    s.tcp_bad_framing = impl_->tcp_bad_framing.load();
    s.tcp_open = impl_->tcp_open.load();
    const SessionCounts sessions = impl_->processor.session_counts();
    s.udp_sessions = sessions.udp;
    s.udp_sessions_evicted = sessions.udp_evicted;
    // The kernel's own drop count (SO_MEMINFO); getsockopt is safe beside the I/O thread.
    std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof meminfo;
    if (impl_->udp_fd >= 0 &&
        ::getsockopt(impl_->udp_fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
        s.udp_kernel_drops = meminfo[SK_MEMINFO_DROPS];
    }
    return s;
}

}  // namespace ioam::collector::source
