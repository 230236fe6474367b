#pragma once
// Listens to the kernel's IOAM6 generic netlink event group (IOAM6_EVENT_TRACE/DEX) on a
// non-blocking socket driven by an Asio io_context, and hands each raw netlink message on.
// The only libnl user of the exporter; libnl and Asio types stay in the .cpp.
//
// Threading: all callbacks run on the io_context's thread(s); construct, start and destroy
// the listener from that thread (or before it runs).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace boost::asio {
class io_context;
}

namespace ioam::exporter::netlink {

inline constexpr const char* kFamilyName = "IOAM6";
inline constexpr const char* kGroupName = "ioam6_events";

struct ListenerOptions {
    // Socket receive buffer in octets; SO_RCVBUFFORCE when permitted (CAP_NET_ADMIN), else
    // SO_RCVBUF (capped by net.core.rmem_max). Large: event bursts come at line rate.
    int rcvbuf = 32 * 1024 * 1024;
    // Datagrams read per readiness notification before yielding to other handlers.
    std::size_t max_datagrams_per_wakeup = 256;
    // Network namespace to listen in: a name from `ip netns` (/var/run/netns/NAME) or a path
    // such as /proc/PID/ns/net; empty for the exporter's own. Only the netlink socket lives
    // there: the IPFIX sockets stay in the exporter's namespace, so one host process can
    // watch a namespace that cannot reach the collector itself.
    std::string netns;
};

struct ListenerCallbacks {
    // One netlink message of the IOAM6 family (from its nlmsghdr), with the receive time.
    std::function<void(std::span<const std::uint8_t> nlmsg, std::uint64_t recv_time_ns)> on_event;
    // The kernel dropped events (recv returned ENOBUFS: the receive buffer overflowed).
    std::function<void()> on_kernel_drop;
    // A whole batch of datagrams was read: a good moment to flush.
    std::function<void()> on_batch_end;
};

class GenlListener {
  public:
    // Resolves the family and group, joins it, sizes the buffer. Throws std::runtime_error
    // with a one-line explanation of what is missing (family, group, CAP_NET_ADMIN).
    GenlListener(boost::asio::io_context& io, const ListenerOptions& options,
                 ListenerCallbacks callbacks);
    ~GenlListener();
    GenlListener(const GenlListener&) = delete;
    GenlListener& operator=(const GenlListener&) = delete;

    void start();  // begins the asynchronous read loop
    void stop();   // cancels it; no callback runs after the io_context processed the cancel

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::exporter::netlink
