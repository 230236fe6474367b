#include "probe/sender.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ioam::probe {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in6 make_address(const std::string& text) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    inet_pton(AF_INET6, text.c_str(), &sa.sin6_addr);
    return sa;
}

void bind_to_interface(int fd, const std::string& interface) {
    if (!interface.empty() && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                                         static_cast<socklen_t>(interface.size())) != 0) {
        fail("cannot bind to interface " + interface);
    }
}

// The source address the kernel would pick for the destination: what a connected UDP
// socket reports.
in6_addr route_source(const ProbeConfig& config) {
    const int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) {
        fail("cannot open a UDP socket");
    }
    bind_to_interface(fd, config.interface);
    auto dst = make_address(config.destination);
    dst.sin6_port = htons(config.port == 0 ? 9 : config.port);
    sockaddr_in6 local{};
    socklen_t len = sizeof(local);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
    const int saved = errno;
    close(fd);
    errno = saved;
    if (!ok) {
        fail("no route to " + config.destination);
    }
    return local.sin6_addr;
}

}  // namespace

Sender::Sender(const ProbeConfig& config) : config_(config) {
    // The whole packet is built here (IPv6 header included), so that the flow label and the
    // Hop-by-Hop header are exactly what was asked for: a leased flow label would otherwise
    // replace the per-packet options with its own.
    fd_ = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    if (fd_ < 0) {
        fail("cannot open a raw IPv6 socket (needs CAP_NET_RAW)");
    }
    bind_to_interface(fd_, config.interface);
    const in6_addr src =
        config.source.empty() ? route_source(config) : make_address(config.source).sin6_addr;
    std::memcpy(src_.data(), &src, 16);
    const in6_addr dst = make_address(config.destination).sin6_addr;
    std::memcpy(dst_.data(), &dst, 16);
}

Sender::~Sender() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

bool Sender::send_one(std::uint32_t sequence, int& error) {
    auto packet = build_packet(config_, src_, dst_, sequence);
    if (!packet) {
        error = EINVAL;
        return false;
    }
    auto dst = make_address(config_.destination);
    if (sendto(fd_, packet->data(), packet->size(), 0, reinterpret_cast<sockaddr*>(&dst),
               sizeof(dst)) < 0) {
        error = errno;
        return false;
    }
    return true;
}

SendSummary Sender::run(const std::atomic<bool>& stop) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto interval = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(1.0 / config_.rate));
    auto next = start;
    SendSummary summary;
    for (std::uint32_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
        if (config_.count != 0 && summary.sent + summary.errors >= config_.count) {
            break;
        }
        if (config_.duration.count() != 0 && clock::now() - start >= config_.duration) {
            break;
        }
        int error = 0;
        if (send_one(seq, error)) {
            ++summary.sent;
        } else {
            ++summary.errors;
            ++summary.errors_by_errno[error];
        }
        next += interval;
        std::this_thread::sleep_until(next);
    }
    summary.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return summary;
}

std::string format_summary(const ProbeConfig& config, const SendSummary& s) {
    std::ostringstream out;
    out << "ioam-probe: sent " << s.sent << ", errors " << s.errors << " to " << config.destination
        << (config.transport == Transport::udp ? " (udp)" : " (icmpv6)") << " in " << s.seconds
        << " s";
    for (const auto& [err, n] : s.errors_by_errno) {
        out << "; " << n << " x " << std::strerror(err);
    }
    return out.str();
}

}  // namespace ioam::probe
