#include "exporter/netlink/genl_listener.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "exporter/netlink/netns.hpp"

namespace ioam::exporter::netlink {
namespace {

constexpr std::size_t kRecvBufferSize = 64 * 1024;  // one netlink datagram at most
constexpr auto kDropLogInterval = std::chrono::seconds(10);

std::uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what);
}

struct SockDeleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};

// Moves the calling thread into a network namespace for its lifetime, and back. Sockets keep
// the namespace they were created in.
class NetnsScope {
  public:
    explicit NetnsScope(const std::string& netns) {
        if (netns.empty()) {
            return;
        }
        const std::string path = netns_path(netns);
        own_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        const int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (own_ < 0 || target < 0) {
            const std::string why = std::strerror(errno);
            close_fds(target);
            fail("cannot open network namespace " + path + ": " + why);
        }
        if (auto problem = netns_fd_problem(target, path)) {
            close_fds(target);
            fail(*problem);
        }
        if (setns(target, CLONE_NEWNET) != 0) {
            const std::string why = std::strerror(errno);
            close_fds(target);
            fail("cannot enter network namespace " + path + " (" + why +
                 "): needs CAP_SYS_ADMIN (run as root)");
        }
        close(target);
    }
    ~NetnsScope() {
        if (own_ >= 0 && setns(own_, CLONE_NEWNET) != 0) {
            // Staying in the wrong namespace would send IPFIX from there: never go on.
            spdlog::critical("cannot return to the exporter's network namespace: {}",
                             std::strerror(errno));
            std::abort();
        }
        close_fds(-1);
    }
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

  private:
    void close_fds(int other) {
        if (other >= 0) {
            close(other);
        }
        if (own_ >= 0) {
            close(own_);
            own_ = -1;
        }
    }
    int own_ = -1;
};

}  // namespace

struct GenlListener::Impl {
    Impl(boost::asio::io_context& io, const ListenerOptions& opts, ListenerCallbacks cbs)
        : options(opts), callbacks(std::move(cbs)), descriptor(io), buffer(kRecvBufferSize) {}

    ~Impl() {
        // libnl owns the file descriptor: take it back from Asio before nl_socket_free.
        if (descriptor.is_open()) {
            boost::system::error_code ec;
            descriptor.cancel(ec);
            descriptor.release();
        }
    }

    void open() {
        const NetnsScope in_netns(options.netns);
        sock.reset(nl_socket_alloc());
        if (!sock) {
            fail("cannot allocate a netlink socket");
        }
        if (int err = genl_connect(sock.get()); err < 0) {
            fail(std::string("cannot open a generic netlink socket: ") + nl_geterror(err));
        }
        family = genl_ctrl_resolve(sock.get(), kFamilyName);
        if (family < 0) {
            fail(std::string("generic netlink family ") + kFamilyName +
                 " not found: needs a kernel with CONFIG_IPV6_IOAM6 (Linux >= 5.15) loaded in "
                 "this network namespace");
        }
        const int group = genl_ctrl_resolve_grp(sock.get(), kFamilyName, kGroupName);
        if (group < 0) {
            fail(std::string("multicast group ") + kGroupName + " of " + kFamilyName +
                 " not found: IOAM trace events need Linux >= 6.9");
        }
        // Events are unsolicited multicast: sequence numbers are always 0.
        nl_socket_disable_seq_check(sock.get());
        if (int err = nl_socket_add_membership(sock.get(), group); err < 0) {
            fail(std::string("cannot join ") + kGroupName + " (" + nl_geterror(err) +
                 "): needs CAP_NET_ADMIN in this network namespace (run as root or grant "
                 "cap_net_admin)");
        }
        if (int err = nl_socket_set_nonblocking(sock.get()); err < 0) {
            fail(std::string("cannot make the netlink socket non-blocking: ") + nl_geterror(err));
        }
        set_rcvbuf(nl_socket_get_fd(sock.get()));
        descriptor.assign(nl_socket_get_fd(sock.get()));
    }

    void set_rcvbuf(int fd) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.rcvbuf, sizeof(int)) != 0) {
            spdlog::debug(
                "SO_RCVBUFFORCE refused ({}), using SO_RCVBUF (capped by "
                "net.core.rmem_max)",
                std::strerror(errno));
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.rcvbuf, sizeof(int)) != 0) {
                spdlog::warn("SO_RCVBUF {}: {}", options.rcvbuf, std::strerror(errno));
            }
        }
        socklen_t len = sizeof rcvbuf;
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
        // Without errors reported, a lost event would go unnoticed: make sure ENOBUFS surfaces.
        const int no = 0;
        setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &no, sizeof no);
    }

    void arm() {
        descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [this](const boost::system::error_code& ec) {
                                  if (ec) {
                                      if (ec != boost::asio::error::operation_aborted) {
                                          spdlog::error("netlink wait: {}", ec.message());
                                      }
                                      return;
                                  }
                                  drain();
                                  arm();
                              });
    }

    // Reads until the socket is empty or the per-wakeup budget is spent.
    void drain() {
        const int fd = descriptor.native_handle();
        for (std::size_t i = 0; i < options.max_datagrams_per_wakeup; ++i) {
            const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_TRUNC);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == ENOBUFS) {
                    kernel_drop();
                    continue;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    spdlog::error("netlink recv: {}", std::strerror(errno));
                }
                break;
            }
            dispatch(static_cast<std::size_t>(n), realtime_ns());
        }
        if (callbacks.on_batch_end) {
            callbacks.on_batch_end();
        }
    }

    void dispatch(std::size_t n, std::uint64_t now_ns) {
        if (n > buffer.size()) {  // MSG_TRUNC: the datagram did not fit; cannot happen for
            n = buffer.size();    // IOAM events (< 1 KiB), but never read past the buffer
        }
        std::size_t off = 0;
        while (n - off >= NLMSG_HDRLEN) {
            nlmsghdr hdr;
            std::memcpy(&hdr, &buffer[off], sizeof hdr);
            if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > n - off) {
                // Hand it on anyway: the decoder counts it as truncated.
                callbacks.on_event(std::span(&buffer[off], n - off), now_ns);
                return;
            }
            if (hdr.nlmsg_type == family) {
                callbacks.on_event(std::span(&buffer[off], hdr.nlmsg_len), now_ns);
            }
            off += NLMSG_ALIGN(hdr.nlmsg_len);
        }
    }

    void kernel_drop() {
        ++drops;
        if (callbacks.on_kernel_drop) {
            callbacks.on_kernel_drop();
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_drop_log >= kDropLogInterval) {
            spdlog::warn(
                "kernel dropped IOAM events (socket receive buffer overflow, {} times "
                "in total since start, {} since last report); raise --rcvbuf",
                drops, drops - drops_logged);
            drops_logged = drops;
            last_drop_log = now;
        }
    }

    ListenerOptions options;
    ListenerCallbacks callbacks;
    std::unique_ptr<nl_sock, SockDeleter> sock;
    boost::asio::posix::stream_descriptor descriptor;
    std::vector<std::uint8_t> buffer;
    int family = -1;
    int rcvbuf = 0;
    std::uint64_t drops = 0;
    std::uint64_t drops_logged = 0;
    std::chrono::steady_clock::time_point last_drop_log{};
};

GenlListener::GenlListener(boost::asio::io_context& io, const ListenerOptions& options,
                           ListenerCallbacks callbacks)
    : impl_(std::make_unique<Impl>(io, options, std::move(callbacks))) {
    impl_->open();
    spdlog::info(
        "listening to {}/{} in network namespace {} (family id {}, receive buffer {} "
        "octets)",
        kFamilyName, kGroupName, options.netns.empty() ? "(own)" : options.netns, impl_->family,
        impl_->rcvbuf);
}

GenlListener::~GenlListener() = default;

void GenlListener::start() {
    impl_->arm();
}

void GenlListener::stop() {
    boost::system::error_code ec;
    impl_->descriptor.cancel(ec);
}

}  // namespace ioam::exporter::netlink
