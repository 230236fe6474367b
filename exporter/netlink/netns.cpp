#include "exporter/netlink/netns.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

namespace ioam::exporter::netlink {

std::string netns_path(const std::string& netns) {
    return netns.find('/') == std::string::npos ? "/var/run/netns/" + netns : netns;
}

std::optional<std::string> netns_fd_problem(int fd, const std::string& path) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0 || fs.f_type != NSFS_MAGIC) {
        return path +
               " is not a network namespace (not a namespace file of /proc/PID/ns or "
               "ip netns)";
    }
    const int type = ::ioctl(fd, NS_GET_NSTYPE);
    if (type >= 0 && type != CLONE_NEWNET) {
        return path + " is a namespace, but not a network namespace";
    }
    return std::nullopt;
}

std::optional<std::string> netns_problem(const std::string& netns) {
    if (netns.empty()) {
        return std::nullopt;
    }
    const std::string path = netns_path(netns);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    auto problem = netns_fd_problem(fd, path);
    ::close(fd);
    return problem;
}

}  // namespace ioam::exporter::netlink
