#include "probe/sender.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
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

// Flow label lease (linux/in6.h, which clashes with netinet/in.h).
struct FlowLabelRequest {
    in6_addr dst;
    std::uint32_t label;  // network order
    std::uint8_t action;
    std::uint8_t share;
    std::uint16_t flags;
    std::uint16_t expires;
    std::uint16_t linger;
    std::uint32_t pad;
};
constexpr int kIpv6FlowLabelMgr = 32;
constexpr int kIpv6FlowInfoSend = 33;
constexpr std::uint8_t kFlowLabelGet = 0;
constexpr std::uint16_t kFlowLabelCreate = 1;
constexpr std::uint8_t kFlowLabelShareExclusive = 1;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in6 make_address(const std::string& text, std::uint16_t port) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    inet_pton(AF_INET6, text.c_str(), &sa.sin6_addr);
    return sa;
}

void lease_flow_label(int fd, const in6_addr& dst, std::uint32_t label) {
    FlowLabelRequest req{};
    req.dst = dst;
    req.label = htonl(label);
    req.action = kFlowLabelGet;
    req.share = kFlowLabelShareExclusive;
    req.flags = kFlowLabelCreate;
    if (setsockopt(fd, IPPROTO_IPV6, kIpv6FlowLabelMgr, &req, sizeof(req)) != 0) {
        fail("cannot lease flow label " + std::to_string(label));
    }
    const int on = 1;
    if (setsockopt(fd, IPPROTO_IPV6, kIpv6FlowInfoSend, &on, sizeof(on)) != 0) {
        fail("cannot send with a flow label");
    }
}

}  // namespace

Sender::Sender(const ProbeConfig& config) : config_(config) {
    const bool udp = config.transport == Transport::udp;
    fd_ = udp ? socket(AF_INET6, SOCK_DGRAM, 0) : socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    if (fd_ < 0) {
        fail(udp ? "cannot open a UDP socket" : "cannot open an ICMPv6 socket (needs CAP_NET_RAW)");
    }
    if (!config.interface.empty() &&
        setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, config.interface.c_str(),
                   static_cast<socklen_t>(config.interface.size())) != 0) {
        fail("cannot bind to interface " + config.interface);
    }
    if (!config.source.empty()) {
        auto src = make_address(config.source, 0);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
            fail("cannot bind to source " + config.source);
        }
    }
    if (config.flow_label) {
        lease_flow_label(fd_, make_address(config.destination, 0).sin6_addr, *config.flow_label);
    }
}

Sender::~Sender() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

bool Sender::send_one(std::uint32_t sequence, int& error) {
    auto hbh = hop_by_hop_for(config_, sequence);
    if (!hbh) {
        error = EINVAL;
        return false;
    }
    std::vector<std::uint8_t> payload;
    if (config_.transport == Transport::icmp) {
        icmp6_hdr echo{};
        echo.icmp6_type = ICMP6_ECHO_REQUEST;
        echo.icmp6_id = htons(static_cast<std::uint16_t>(getpid()));
        echo.icmp6_seq = htons(static_cast<std::uint16_t>(sequence));
        const auto* raw = reinterpret_cast<const std::uint8_t*>(&echo);
        payload.assign(raw, raw + sizeof(echo));  // the kernel fills the checksum
    }
    payload.resize(payload.size() + config_.payload_size, 0);

    auto dst = make_address(config_.destination, config_.port);
    if (config_.flow_label) {
        dst.sin6_flowinfo = htonl(*config_.flow_label);
    }
    iovec iov{payload.data(), payload.size()};
    std::vector<std::uint8_t> control(CMSG_SPACE(hbh->size()), 0);
    msghdr msg{};
    msg.msg_name = &dst;
    msg.msg_namelen = sizeof(dst);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = IPPROTO_IPV6;
    cmsg->cmsg_type = IPV6_HOPOPTS;
    cmsg->cmsg_len = CMSG_LEN(hbh->size());
    std::memcpy(CMSG_DATA(cmsg), hbh->data(), hbh->size());
    if (sendmsg(fd_, &msg, 0) < 0) {
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
