#include "collector/source/ipfix_listener.hpp"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "collector/source/datagram_ring.hpp"
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
        : config(c),
          processor(p),
          udp_socket(udp_io),
          wake_event(io),
          acceptor(io),
          sweep(io),
          drain_timer(io) {}
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (reader_stop_fd >= 0) {
            ::close(reader_stop_fd);
        }
    }

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

    // UDP is read by a thread of its own (read_udp) that only copies datagrams from the socket
    // into the ring, kUdpBatch per system call (recvmmsg) with one clock reading per call: the
    // socket buffer empties at the pace of a memcpy whatever the I/O thread is doing, and a
    // burst the I/O thread is slow to take waits in the ring (--udp-queue-bytes), not in the
    // kernel. When the ring is full the reader waits for room (counted): the socket buffer
    // fills, and what the kernel then drops is counted by the kernel (SO_MEMINFO).
    // Busy senders are read in bursts: after a wake-up that found at least kBusyDatagrams
    // datagrams, yet well within the socket buffer, the reader pauses kBusyPause before
    // reading again rather than waking for the next datagram. A thread wake-up costs about
    // as much as copying 15 datagrams; pausing bounds both threads' wake-ups to about 1000/s
    // at any rate, for at most kBusyPause of latency. The yield of one wake-up is what
    // arrives in about one pause, hence the bound.
    void read_udp() {
        name_this_thread("ioam-udp");
        std::optional<std::chrono::steady_clock::time_point> deadline;  // once stop() asked
        std::size_t woke_datagrams = 0;
        std::size_t woke_octets = 0;
        for (;;) {
            if (!deadline && reader_stop.load(std::memory_order_acquire)) {
                deadline = std::chrono::steady_clock::now() + config.drain_timeout;
            }
            // A sender that never stops must not hold the shutdown.
            if (deadline && std::chrono::steady_clock::now() >= *deadline) {
                return;
            }
            const std::size_t read = read_udp_batch(deadline, woke_octets);
            woke_datagrams += read;
            if (read == kUdpBatch) {
                continue;
            }
            if (deadline) {
                return;  // what the kernel held when stop() asked is in the ring
            }
            const bool busy = woke_datagrams >= kBusyDatagrams &&
                              woke_octets < config.udp_receive_buffer / kBusyBufferShare;
            woke_datagrams = 0;
            woke_octets = 0;
            std::array<pollfd, 2> fds{{{reader_stop_fd, POLLIN, 0}, {udp_fd, POLLIN, 0}}};
            if (busy) {
                ::poll(fds.data(), 1, kBusyPause.count());
            } else {
                ::poll(fds.data(), fds.size(), -1);
            }
        }
    }

    // Returns the datagrams read: fewer than kUdpBatch when the socket had no more (or failed).
    // Adds their octets to `octets`.
    std::size_t read_udp_batch(const std::optional<std::chrono::steady_clock::time_point>& deadline,
                               std::size_t& octets) {
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
            const Bytes payload(udp_buf.data() + static_cast<std::size_t>(i) * kMaxDatagram,
                                udp_msgs[i].msg_len);
            octets += payload.size();
            if (!queue_datagram(meta_of(udp_addrs[i], now), payload, deadline)) {
                add_single_writer(udp_queue_drops, static_cast<std::uint64_t>(n - i));
                break;
            }
        }
        wake_consumer();
        return static_cast<std::size_t>(n);
    }

    // False only when stopping and the I/O thread took nothing until the deadline.
    bool queue_datagram(const DatagramMeta& meta, Bytes payload,
                        const std::optional<std::chrono::steady_clock::time_point>& deadline) {
        if (ring->push(meta, payload)) {
            return true;
        }
        add_single_writer(udp_queue_full);
        wake_consumer();
        while (!ring->wait_for_room(payload.size(), std::chrono::milliseconds(100)) ||
               !ring->push(meta, payload)) {
            if (deadline && std::chrono::steady_clock::now() >= *deadline) {
                return false;
            }
        }
        return true;
    }

    static DatagramMeta meta_of(const sockaddr_storage& from, std::uint64_t now) {
        DatagramMeta m;
        m.received_ns = now;
        if (from.ss_family == AF_INET6) {
            const auto& a6 = reinterpret_cast<const sockaddr_in6&>(from);
            std::memcpy(m.address.data(), &a6.sin6_addr, m.address.size());
            m.port = ntohs(a6.sin6_port);
            m.scope = a6.sin6_scope_id;
        } else {
            const auto& a4 = reinterpret_cast<const sockaddr_in&>(from);
            m.address[10] = m.address[11] = 0xff;  // IPv4-mapped, as dual-stack reports
            std::memcpy(m.address.data() + 12, &a4.sin_addr, 4);
            m.port = ntohs(a4.sin_port);
        }
        return m;
    }

    // The I/O thread sleeps on wake_fd only after it found the ring empty with
    // consumer_idle set: a push either is seen by that look, or sees the flag and writes.
    void wake_consumer() {
        if (consumer_idle.load(std::memory_order_seq_cst) &&
            consumer_idle.exchange(false, std::memory_order_seq_cst)) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto w = ::write(wake_fd, &one, sizeof one);
        }
    }

    // On the I/O thread: kDatagramsPerTurn datagrams from the ring, then TCP connections and
    // timers have their turn (post) before the next ones.
    void process_datagrams() {
        for (std::size_t i = 1; i <= kDatagramsPerTurn; ++i) {
            const auto entry = ring->front();
            if (!entry) {
                ring->commit();
                sleep_until_datagrams();
                return;
            }
            on_datagram(entry->meta, entry->payload);
            ring->pop();
            if (i % kUdpBatch == 0) {
                ring->commit();
            }
        }
        ring->commit();
        asio::post(io, [this] { process_datagrams(); });
    }

    void sleep_until_datagrams() {
        consumer_idle.store(true, std::memory_order_seq_cst);
        if (ring->front()) {  // pushed before the flag was up: the reader may not write
            consumer_idle.store(false, std::memory_order_relaxed);
            asio::post(io, [this] { process_datagrams(); });
            return;
        }
        wake_event.async_wait(
            asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
                if (ec) {
                    return;
                }
                std::uint64_t count = 0;
                [[maybe_unused]] const auto r = ::read(wake_fd, &count, sizeof count);
                process_datagrams();
            });
    }

    void on_datagram(const DatagramMeta& meta, Bytes datagram) {
        UdpPeer peer;
        peer.address = meta.address;
        peer.port = meta.port;
        // The text form is a formatted print: kept for the last sender, who usually sends again.
        if (udp_peer_text.empty() || peer.address != udp_peer_address) {
            udp_peer_text =
                unmapped(asio::ip::make_address_v6(peer.address, meta.scope)).to_string();
            udp_peer_address = peer.address;
        }
        processor.process_udp(peer, udp_peer_text, datagram, meta.received_ns);
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
        if (udp_socket.is_open()) {  // the reader has stopped: the ring holds the rest
            while (const auto entry = ring->front()) {
                on_datagram(entry->meta, entry->payload);
                ring->pop();
            }
            ring->commit();
            wake_event.close(ignored);
            const std::lock_guard lock(udp_fd_mu);
            udp_kernel_drops_at_close = kernel_drops();
            udp_fd = -1;
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
    // Never run: the UDP socket is read by the reader thread alone, and a socket of `io`
    // would be in the I/O thread's epoll set, waking it for every burst of datagrams that
    // arrives (edge-triggered, with nothing to do).
    asio::io_context udp_io;
    udp::socket udp_socket;
    std::unique_ptr<DatagramRing> ring;         // with a UDP listener
    asio::posix::stream_descriptor wake_event;  // owns wake_fd
    int wake_fd = -1;                           // eventfd: the reader wakes the I/O thread
    int reader_stop_fd = -1;                    // eventfd: stop() wakes the reader
    std::atomic<bool> reader_stop{false};
    std::atomic<bool> consumer_idle{false};
    std::thread udp_reader;
    tcp::acceptor acceptor;
    asio::steady_timer sweep;
    asio::steady_timer drain_timer;
    // The largest UDP payload; a batch's buffers are touched only as far as datagrams fill
    // them, so their resident size follows the datagrams received.
    static constexpr std::size_t kMaxDatagram = 65535;
    static constexpr std::size_t kUdpBatch = 32;
    static constexpr std::size_t kDatagramsPerTurn = 512;
    static constexpr std::size_t kBusyDatagrams = 8;
    static constexpr std::size_t kBusyBufferShare = 8;
    static constexpr std::chrono::milliseconds kBusyPause{1};
    std::vector<std::uint8_t> udp_buf = std::vector<std::uint8_t>(kUdpBatch * kMaxDatagram);
    std::array<mmsghdr, kUdpBatch> udp_msgs{};
    std::array<iovec, kUdpBatch> udp_iov{};
    std::array<sockaddr_storage, kUdpBatch> udp_addrs{};
    std::array<std::uint8_t, 16> udp_peer_address{};  // I/O thread only
    std::string udp_peer_text;                        // its textual form
    std::thread thread;
    Conns conns;            // I/O thread only
    bool draining = false;  // I/O thread only
    // The kernel's own drop count (SO_MEMINFO); -1 once closed, then the count at close.
    std::uint32_t kernel_drops() const {  // under udp_fd_mu
        std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
        socklen_t len = sizeof meminfo;
        if (udp_fd >= 0 && ::getsockopt(udp_fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
            len > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
            return meminfo[SK_MEMINFO_DROPS];
        }
        return udp_kernel_drops_at_close;
    }
    mutable std::mutex udp_fd_mu;
    int udp_fd = -1;  // set before the threads start, -1 when closed (under udp_fd_mu)
    std::uint32_t udp_kernel_drops_at_close = 0;  // under udp_fd_mu
    std::atomic<std::uint64_t> udp_datagrams{0};  // the reader's
    std::atomic<std::uint64_t> udp_queue_full{0};
    std::atomic<std::uint64_t> udp_queue_drops{0};
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
        m.ring = std::make_unique<DatagramRing>(m.config.udp_queue_bytes);
        m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (m.wake_fd >= 0) {
            m.wake_event.assign(m.wake_fd);  // closes it, also on the error below
            m.reader_stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        }
        if (m.wake_fd < 0 || m.reader_stop_fd < 0) {
            throw std::runtime_error(std::string("IPFIX/UDP listener: eventfd: ") +
                                     std::strerror(errno));
        }
        m.sleep_until_datagrams();
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
    if (m.ring) {
        m.udp_reader = std::thread([&m] { m.read_udp(); });
    }
}

void IpfixListener::stop() {
    Impl& m = *impl_;
    if (!m.thread.joinable()) {
        return;
    }
    // The reader first: it queues what the kernel holds while the I/O thread takes it.
    if (m.udp_reader.joinable()) {
        m.reader_stop.store(true, std::memory_order_release);
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto w = ::write(m.reader_stop_fd, &one, sizeof one);
        m.udp_reader.join();
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
    s.udp_queue_full = impl_->udp_queue_full.load();
    s.udp_queue_drops = impl_->udp_queue_drops.load();
    if (impl_->ring) {
        s.udp_queue_bytes = impl_->ring->used_bytes();
        s.udp_queue_capacity = impl_->ring->capacity();
    }
    s.tcp_connections = impl_->tcp_connections.load();
    s.tcp_rejected = impl_->tcp_rejected.load();
    s.tcp_evicted = impl_->tcp_evicted.load();
    s.tcp_idle_closed = impl_->tcp_idle_closed.load();
    s.tcp_bad_framing = impl_->tcp_bad_framing.load();
    s.tcp_open = impl_->tcp_open.load();
    const SessionCounts sessions = impl_->processor.session_counts();
    s.udp_sessions = sessions.udp;
    s.udp_sessions_evicted = sessions.udp_evicted;
    const std::lock_guard lock(impl_->udp_fd_mu);
    s.udp_kernel_drops = impl_->kernel_drops();
    return s;
}

}  // namespace ioam::collector::source
