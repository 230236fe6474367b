// ioam-dex-route: sends the RTM_NEWROUTE request built by dex_route.cpp over a libnl-3 routing
// socket and reports the kernel's answer, including its extended ack message.
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>
#include <vector>

#include "common/version/version.hpp"
#include "tools/dex-route/dex_route.hpp"

namespace {

using ioam::tools::dexroute::Ack;

constexpr const char* kUsage =
    "usage: ioam-dex-route add PREFIX [freq K/N] [mode inline|encap|auto] [tunsrc ADDR]\n"
    "                      [tundst ADDR] dex trace-type T ns N [ext-flags F] [via ADDR] dev DEV\n"
    "       ioam-dex-route --version | --help\n"
    "  T: 24-bit IOAM-Trace-Type (bit 0 = 0x800000), N: IOAM namespace,\n"
    "  F: Extension-Flags (0x80 Flow ID, 0x40 Sequence Number)\n";

struct SockDeleter {
    void operator()(nl_sock* sk) const { nl_socket_free(sk); }
};

// Sends the request and waits for its acknowledgement.
int send_request(std::vector<std::uint8_t>& request, std::uint32_t seq, Ack& ack) {
    std::unique_ptr<nl_sock, SockDeleter> sk(nl_socket_alloc());
    if (!sk) {
        return -NLE_NOMEM;
    }
    if (int err = nl_connect(sk.get(), NETLINK_ROUTE); err < 0) {
        return err;
    }
    const int one = 1;  // ask for the kernel's error message (extack)
    setsockopt(nl_socket_get_fd(sk.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    if (int err = nl_sendto(sk.get(), request.data(), request.size()); err < 0) {
        return err;
    }
    for (;;) {
        sockaddr_nl peer{};
        unsigned char* buf = nullptr;
        const int n = nl_recv(sk.get(), &peer, &buf, nullptr);
        if (n <= 0) {
            free(buf);
            return n < 0 ? n : -NLE_MSG_TRUNC;
        }
        std::unique_ptr<unsigned char, decltype(&free)> owned(buf, &free);
        if (auto a = ioam::tools::dexroute::parse_ack({buf, static_cast<std::size_t>(n)}, seq)) {
            ack = *a;
            return 0;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (!args.empty() && args[0] == "--version") {
        std::puts(ioam::version::line("ioam-dex-route").c_str());
        return 0;
    }
    auto parsed = ioam::tools::dexroute::parse_args(args);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
        std::fprintf(stderr, "ioam-dex-route: %s\n%s", error->c_str(), kUsage);
        return 2;
    }
    const auto& route = std::get<ioam::tools::dexroute::DexRoute>(parsed);
    const unsigned ifindex = if_nametoindex(route.dev.c_str());
    if (ifindex == 0) {
        std::fprintf(stderr, "ioam-dex-route: dev %s: %s\n", route.dev.c_str(),
                     std::strerror(errno));
        return 1;
    }
    const auto seq = static_cast<std::uint32_t>(std::time(nullptr));
    auto request = ioam::tools::dexroute::build_request(route, ifindex, seq);
    Ack ack;
    if (int err = send_request(request, seq, ack); err < 0) {
        std::fprintf(stderr, "ioam-dex-route: netlink: %s\n", nl_geterror(err));
        return 1;
    }
    if (ack.error != 0) {
        std::fprintf(stderr, "ioam-dex-route: kernel refused the route: %s%s%s\n",
                     std::strerror(-ack.error), ack.message.empty() ? "" : ": ",
                     ack.message.c_str());
        return 1;
    }
    return 0;
}
