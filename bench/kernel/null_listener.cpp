// The fastest possible reader of the kernel's IOAM events: joins IOAM6/ioam6_events and only
// counts messages and kernel drops (ENOBUFS), so that the exporter's event rate can be
// compared with the limit of the machine. Stops after --idle seconds without an event.
//
// Usage: ioam-null-listener [IDLE_SECONDS]   prints "events N kernel_drops D"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    const int idle_ms = (argc > 1 ? std::atoi(argv[1]) : 2) * 1000;
    nl_sock* sock = nl_socket_alloc();
    if (sock == nullptr || genl_connect(sock) < 0) {
        std::fprintf(stderr, "ioam-null-listener: cannot open a generic netlink socket\n");
        return 1;
    }
    const int group = genl_ctrl_resolve_grp(sock, "IOAM6", "ioam6_events");
    if (group < 0 || nl_socket_add_membership(sock, group) < 0) {
        std::fprintf(stderr, "ioam-null-listener: cannot join IOAM6/ioam6_events\n");
        return 1;
    }
    const int fd = nl_socket_get_fd(sock);
    int size = 32 * 1024 * 1024;  // as the exporter's default
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    std::printf("ready\n");
    std::fflush(stdout);

    std::vector<char> buf(64 * 1024);
    unsigned long long events = 0;
    unsigned long long drops = 0;
    pollfd pfd{fd, POLLIN, 0};
    while (poll(&pfd, 1, idle_ms) > 0) {
        for (;;) {
            ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n < 0) {
                if (errno == ENOBUFS) {
                    ++drops;
                    continue;
                }
                break;
            }
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n);
                 h = NLMSG_NEXT(h, n)) {
                ++events;
            }
        }
    }
    std::printf("events %llu kernel_drops %llu\n", events, drops);
    nl_socket_free(sock);
    return 0;
}
