// ioam-replay: sends a recorded IPFIX stream (bench/replay/recording.hpp) over UDP at a fixed
// rate of messages per second for a duration, looping over the file. Each message gets the
// current export time and a sequence number continuing across loops, and its record times and
// DEX sequence numbers move on per loop (recording.hpp), so a collector sees one valid, gapless
// exporter whose times rise. Pacing is by absolute deadlines: every batch (one sendmmsg) is sent
// when the schedule says its last message is due, so the average rate is exact and a late
// batch is caught up rather than lost. Prints one line of key=value results.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/replay/recording.hpp"

namespace ioam::bench::replay {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string file;
    std::string address = "127.0.0.1";
    std::uint16_t port = 4739;
    double rate = 10'000;  // messages per second
    double duration = 5;   // seconds
    std::uint32_t max_batch = 64;
    double interval_us = 1000;  // target time between batches
};

struct Totals {
    std::uint64_t messages = 0;
    std::uint64_t octets = 0;
    std::uint64_t send_errors = 0;
};

int open_socket(const Options& o) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(o.port);
    if (inet_pton(AF_INET, o.address.c_str(), &to.sin_addr) != 1) {
        throw std::invalid_argument("not an IPv4 address: " + o.address);
    }
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    const int sndbuf = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);  // best effort
    return fd;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto s = [](const timeval& v) { return v.tv_sec + v.tv_usec / 1e6; };
    return s(u.ru_utime) + s(u.ru_stime);
}

int run(const Options& o) {
    const auto rec = load_recording(o.file);
    if (!rec) {
        throw std::runtime_error(o.file + ": " + std::string(to_string(rec.error())));
    }
    const int fd = open_socket(o);
    const std::size_t slot = rec->largest_message;
    const auto batch = static_cast<std::uint32_t>(
        std::clamp(o.rate * o.interval_us / 1e6, 1.0, static_cast<double>(o.max_batch)));
    std::vector<std::uint8_t> buffer(slot * o.max_batch);
    std::vector<iovec> iov(o.max_batch);
    std::vector<mmsghdr> msgs(o.max_batch);

    Stream stream(*rec);
    Totals t;
    const auto total = static_cast<std::uint64_t>(o.rate * o.duration);
    const double cpu0 = cpu_seconds();
    const auto start = Clock::now();
    const auto due_at = [&](std::uint64_t n) {
        return start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(n) / o.rate));
    };
    for (std::uint64_t sent = 0; sent < total;) {
        const std::uint64_t n = std::min<std::uint64_t>(batch, total - sent);
        std::this_thread::sleep_until(due_at(sent + n));
        // Behind schedule (a slow wake-up): send what is due, up to the buffer.
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const std::uint64_t due =
            std::min<std::uint64_t>(total, static_cast<std::uint64_t>(elapsed * o.rate));
        const std::uint64_t count = std::clamp<std::uint64_t>(due - sent, n, o.max_batch);
        const auto now = static_cast<std::uint32_t>(std::time(nullptr));
        for (std::uint64_t i = 0; i < count; ++i) {
            const std::span<std::uint8_t> out(buffer.data() + i * slot, slot);
            iov[i] = {out.data(), stream.next(out, now)};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        for (std::uint64_t done = 0; done < count;) {
            const int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(count - done), 0);
            if (r < 0) {
                ++t.send_errors;  // that message is lost to the sender, not to the receiver
                ++done;
                continue;
            }
            for (int i = 0; i < r; ++i) {
                t.octets += msgs[done + i].msg_len;
            }
            t.messages += static_cast<std::uint64_t>(r);
            done += static_cast<std::uint64_t>(r);
        }
        sent += count;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu0;
    close(fd);
    std::printf(
        "target_rate=%.0f sent_messages=%llu sent_records=%llu sent_octets=%llu send_errors=%llu "
        "loops=%llu elapsed_s=%.3f rate=%.0f batch=%u cpu_s=%.3f\n",
        o.rate, static_cast<unsigned long long>(t.messages),
        static_cast<unsigned long long>(stream.records()),
        static_cast<unsigned long long>(t.octets), static_cast<unsigned long long>(t.send_errors),
        static_cast<unsigned long long>(stream.loops()), elapsed,
        static_cast<double>(t.messages) / elapsed, batch, cpu);
    return 0;
}

}  // namespace
}  // namespace ioam::bench::replay

int main(int argc, char** argv) {
    ioam::bench::replay::Options o;
    CLI::App app{"ioam-replay: send a recorded IPFIX stream over UDP at a fixed rate"};
    app.add_option("-f,--file", o.file, "recording (ioam-replay-record)")->required();
    app.add_option("--address", o.address, "IPv4 destination")->capture_default_str();
    app.add_option("-p,--port", o.port, "UDP destination port")->capture_default_str();
    app.add_option("-r,--rate", o.rate, "messages per second")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1e8));
    app.add_option("-d,--duration", o.duration, "seconds")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 3600.0));
    app.add_option("--max-batch", o.max_batch, "most messages per sendmmsg")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--interval-us", o.interval_us, "target microseconds between batches")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1e6));
    CLI11_PARSE(app, argc, argv);
    try {
        return ioam::bench::replay::run(o);
    } catch (const std::exception& e) {
        std::cerr << "ioam-replay: " << e.what() << '\n';
        return 1;
    }
}
