#pragma once
// The exporter's data path: netlink message -> decode -> sample -> IPFIX records, one record
// builder (transport session) per collector -> its sink; plus the timers that flush partly
// filled messages and resend UDP templates, and the exporter's metrics.
//
// Threading: everything runs on the io_context's thread; call the public functions from it.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/metrics/registry.hpp"
#include "exporter/sink/message_sink.hpp"

namespace boost::asio {
class io_context;
}

namespace ioam::exporter {

struct PipelineOptions {
    std::uint32_t domain_id = 1;
    std::size_t mtu = 1400;
    bool hop_list = true;
    std::chrono::milliseconds flush_interval{100};
    std::chrono::seconds template_refresh{30};
    std::uint32_t sample_one_in = 1;
    sink::SinkOptions sink;
};

class Pipeline {
  public:
    // json_out: where --print json writes one line per exported event, or nullptr. Throws at
    // start-up (unresolvable collector, bad MTU).
    Pipeline(boost::asio::io_context& io, const PipelineOptions& options,
             const std::vector<sink::CollectorUri>& collectors, metrics::Registry& registry,
             std::FILE* json_out);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    void start();  // connects TCP collectors, sends UDP templates on first use, arms timers
    // One netlink message of the IOAM6 family as received.
    void on_message(std::span<const std::uint8_t> nlmsg, std::uint64_t recv_time_ns);
    void on_kernel_drop();
    void on_batch_end();
    // Sends every partly filled message now.
    void flush();
    // Flushes, stops the timers and closes the sinks; `done` runs when every sink is done.
    void shutdown(std::function<void()> done);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::exporter
