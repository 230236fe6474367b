#pragma once
// UDP and TCP IPFIX listeners (RFC 7011 section 10). Each TCP connection is a session of the
// processor; UDP datagrams go to the processor, which keys them by exporter address.
//
// Threading: start() and stop() from one owner thread; one I/O thread of their own calls the
// processor; a UDP reader thread only moves datagrams from the socket into a bounded queue the
// I/O thread takes them from; stats() from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/source/ipfix_processor.hpp"

namespace ioam::collector::source {

struct ListenerConfig {
    std::string udp_listen = "[::]:4739";  // empty: no UDP listener
    std::string tcp_listen = "[::]:4739";  // empty: no TCP listener
    std::size_t udp_receive_buffer = 4u << 20;
    // Octets of datagrams read from the socket and not yet processed (datagram_ring.hpp).
    std::size_t udp_queue_bytes = 32u << 20;
    // At the limit, a new connection evicts the one silent for longest if it has been silent
    // for tcp_evict_after; otherwise the new one is refused. Both are counted.
    std::size_t max_tcp_connections = 256;
    std::chrono::seconds tcp_evict_after{60};
    // Long enough for exporters that batch or idle between bursts (closing loses what they send
    // before noticing), short enough that silent connections cannot hold every slot for good.
    std::uint64_t tcp_idle_timeout_s = 900;
    std::uint64_t expire_interval_s = 10;  // UDP template / session sweep period
    // stop() reads what is already queued on TCP connections for at most this long.
    std::chrono::milliseconds drain_timeout{2000};
};

// Counters of the socket layer itself (the processor counts everything inside messages).
struct ListenerStats {
    std::uint64_t udp_datagrams = 0;
    std::uint64_t udp_kernel_drops = 0;  // datagrams the kernel dropped (socket buffer full)
    std::uint64_t udp_queue_full = 0;    // datagrams that waited for room in the queue
    std::uint64_t udp_queue_drops = 0;   // read but not queued: stop() timed out waiting for room
    std::uint64_t udp_queue_bytes = 0;   // octets queued now
    std::uint64_t udp_queue_capacity = 0;
    std::uint64_t tcp_connections = 0;
    std::uint64_t tcp_rejected = 0;     // over max_tcp_connections or session table full
    std::uint64_t tcp_evicted = 0;      // silent connections closed to admit a new one
    std::uint64_t tcp_idle_closed = 0;  // closed after tcp_idle_timeout_s of silence
    std::uint64_t tcp_bad_framing = 0;  // connection closed: stream cannot be resynchronised
    std::uint64_t tcp_open = 0;         // connections open now
    // The processor's session table (IpfixProcessor::session_counts()).
    std::uint64_t udp_sessions = 0;
    std::uint64_t udp_sessions_evicted = 0;  // least recently used, to admit a new exporter
};

class IpfixListener {
  public:
    IpfixListener(const ListenerConfig& config, IpfixProcessor& processor);
    IpfixListener(const IpfixListener&) = delete;
    IpfixListener& operator=(const IpfixListener&) = delete;
    ~IpfixListener();

    // Binds both sockets (throws std::runtime_error on a bad address or bind failure) and
    // starts the I/O thread.
    void start();
    // Stops accepting, processes the datagrams and TCP data already queued in the kernel (up
    // to drain_timeout), closes every socket and joins the I/O thread; idempotent.
    void stop();

    std::uint16_t udp_port() const;  // the bound port (useful with port 0)
    std::uint16_t tcp_port() const;
    ListenerStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::source
