#pragma once
// Sends IOAM probes, UDP datagrams or ICMPv6 echo requests whose Hop-by-Hop header carries the
// IOAM option, as whole IPv6 packets on a raw socket (needs CAP_NET_RAW).

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "probe/probe_config.hpp"

namespace ioam::probe {

struct SendSummary {
    std::uint64_t sent = 0;
    std::uint64_t errors = 0;
    std::map<int, std::uint64_t> errors_by_errno;
    double seconds = 0;
};

class Sender {
  public:
    // Opens and configures the socket; throws std::runtime_error with what is needed.
    explicit Sender(const ProbeConfig& config);
    ~Sender();
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    // Sends at the configured rate until count or duration is reached or `stop` is set.
    SendSummary run(const std::atomic<bool>& stop);

  private:
    bool send_one(std::uint32_t sequence, int& error);

    ProbeConfig config_;
    std::array<std::uint8_t, 16> src_{};
    std::array<std::uint8_t, 16> dst_{};
    int fd_ = -1;
};

std::string format_summary(const ProbeConfig& config, const SendSummary& summary);

}  // namespace ioam::probe
