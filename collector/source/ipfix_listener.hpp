#pragma once
// UDP and TCP IPFIX listeners (RFC 7011 section 10) on one I/O thread of their own. Each UDP
// peer (address, port) and each TCP connection is a transport session of the processor.
//
// Threading: start() and stop() from one owner thread; the I/O thread calls the processor.

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
    std::size_t max_tcp_connections = 256;
    // 0: never. Exporters may stay quiet for long, and closing loses the records they send
    // before noticing; dead peers are found by TCP keepalive instead.
    std::uint64_t tcp_idle_timeout_s = 0;
    std::uint64_t expire_interval_s = 10;  // UDP template / session sweep period
};

// Counters of the socket layer itself (the processor counts everything inside messages).
struct ListenerStats {
    std::uint64_t udp_datagrams = 0;
    std::uint64_t udp_kernel_drops = 0;  // datagrams the kernel dropped (socket buffer full)
    std::uint64_t tcp_connections = 0;
    std::uint64_t tcp_rejected = 0;     // over max_tcp_connections or session table full
    std::uint64_t tcp_bad_framing = 0;  // connection closed: stream cannot be resynchronised
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
    // Stops accepting and reading and joins the I/O thread; idempotent.
    void stop();

    std::uint16_t udp_port() const;  // the bound port (useful with port 0)
    std::uint16_t tcp_port() const;
    ListenerStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::source
