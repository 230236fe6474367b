// ioam-exporter: listens to the kernel's IOAM6 generic netlink events and exports them as
// IPFIX to one or more collectors (and/or JSON lines on stdout).

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>

#include "common/log/log.hpp"
#include "common/metrics/registry.hpp"
#include "exporter/config.hpp"
#include "exporter/metrics_server.hpp"
#include "exporter/netlink/genl_listener.hpp"
#include "exporter/pipeline.hpp"

namespace {

using namespace ioam::exporter;

constexpr auto kShutdownGrace = std::chrono::seconds(3);

int run(const ExporterConfig& cfg) {
    boost::asio::io_context io(1);
    ioam::metrics::Registry registry({.program = "ioam-exporter"});

    PipelineOptions popts;
    popts.domain_id = cfg.domain_id;
    popts.mtu = cfg.mtu;
    popts.hop_list = cfg.hop_list;
    popts.flush_interval = cfg.flush_interval;
    popts.template_refresh = cfg.template_refresh;
    popts.sample_one_in = cfg.sample_one_in;
    popts.sink.max_buffer_octets = cfg.tcp_buffer;
    Pipeline pipeline(io, popts, cfg.collectors, registry, cfg.print_json ? stdout : nullptr);

    netlink::ListenerCallbacks callbacks;
    callbacks.on_event = [&](std::span<const std::uint8_t> m, std::uint64_t t) {
        pipeline.on_message(m, t);
    };
    callbacks.on_kernel_drop = [&] { pipeline.on_kernel_drop(); };
    callbacks.on_batch_end = [&] { pipeline.on_batch_end(); };
    netlink::GenlListener listener(io, {.rcvbuf = cfg.rcvbuf, .netns = cfg.netns},
                                   std::move(callbacks));

    std::unique_ptr<MetricsServer> metrics;
    if (cfg.metrics_listen) {
        metrics = std::make_unique<MetricsServer>(io, *cfg.metrics_listen, registry);
    }

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::signal_set hangup(io, SIGHUP);
    std::function<void()> on_hangup = [&] {
        hangup.async_wait([&](const boost::system::error_code& ec, int) {
            if (!ec) {
                ioam::log::reopen();
                on_hangup();
            }
        });
    };
    on_hangup();
    boost::asio::steady_timer deadline(io);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) {
            return;
        }
        spdlog::info("signal {}: flushing and exiting", sig);
        hangup.cancel();
        listener.stop();
        if (metrics) {
            metrics->stop();
        }
        // A TCP collector that stopped reading must not keep the exporter alive.
        deadline.expires_after(kShutdownGrace);
        deadline.async_wait([&](const boost::system::error_code& tec) {
            if (!tec) {
                spdlog::warn("collectors did not take the last messages in time; exiting");
                io.stop();
            }
        });
        pipeline.shutdown([&] { io.stop(); });
    });

    pipeline.start();
    listener.start();
    for (const auto& c : cfg.collectors) {
        spdlog::info("exporting to {} (observation domain {})", c.to_string(), cfg.domain_id);
    }
    io.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    ExporterConfig cfg;
    if (auto code = parse_config(argc, argv, cfg)) {
        return *code;
    }
    try {
        // Logs go to stderr or --log-file: stdout may carry --print json lines.
        ioam::log::setup("ioam-exporter", cfg.log_level, cfg.log_output);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ioam-exporter: %s\n", e.what());
        return 1;
    }
    try {
        return run(cfg);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}
