#pragma once
// --netns: a network namespace by `ip netns` name or by path.
//
// Threading: stateless functions.

#include <optional>
#include <string>

namespace ioam::exporter::netlink {

// The file of a namespace given by name (/var/run/netns/NAME) or by path (contains a '/').
std::string netns_path(const std::string& netns);

// Why the open file `fd` cannot be entered as a network namespace (not an nsfs file, or a
// namespace of another kind), or nothing when it can. `path` names it in the message.
std::optional<std::string> netns_fd_problem(int fd, const std::string& path);

// The same for --netns as configured: nothing when empty or when the file does not exist (the
// start-up error says so); a message when it exists and is not a network namespace.
std::optional<std::string> netns_problem(const std::string& netns);

}  // namespace ioam::exporter::netlink
