// ioam-collector: IPFIX (UDP/TCP) in; SQLite, Prometheus /metrics and a JSON API out.
// SIGTERM or SIGINT: stop receiving, write everything queued, exit 0. SIGHUP: reopen the log
// file (--log-file).

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stop_token>
#include <thread>

#include <spdlog/spdlog.h>

#include "collector/api/routes.hpp"
#include "collector/config.hpp"
#include "collector/correlate/correlator.hpp"
#include "collector/decode/record_decoder.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "collector/oplog/operator_log.hpp"
#include "collector/source/ipfix_listener.hpp"
#include "collector/store/trace_store.hpp"
#include "common/log/log.hpp"
#include "common/metrics/registry.hpp"
#include "common/net/http_server.hpp"
#include "common/util/thread_name.hpp"

namespace {

using namespace ioam::collector;

// Store drops, and an exporter's template changes, are summed over this period in one log line.
constexpr std::uint64_t kLogSumEveryNs = 10'000'000'000;

// Logs what an operator follows (oplog/) from snapshots taken once a second.
void log_operator_events(std::stop_token stop, const Config& config,
                         const source::IpfixProcessor& processor, const store::TraceStore& store) {
    ioam::name_this_thread("ioam-oplog");
    oplog::OperatorLog oplog(config.routes.exporter_silent_ns, kLogSumEveryNs);
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    while (
        !cv.wait_for(lock, stop, std::chrono::seconds(1), [&] { return stop.stop_requested(); })) {
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        for (const auto& line :
             oplog.observe(processor.exporters(), store.stats(), static_cast<std::uint64_t>(now))) {
            if (line.warning) {
                spdlog::warn("{}", line.text);
            } else {
                spdlog::info("{}", line.text);
            }
        }
    }
}

// Blocks the stop signals and SIGHUP in this thread and every thread it creates afterwards,
// so that sigwait() in main is their only receiver.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

int run(const Config& config) {
    const sigset_t stop_signals = block_stop_signals();

    ioam::metrics::Registry registry({.max_series_per_family = config.metrics.max_series_per_family,
                                      .program = "ioam-collector"});
    metrics::CollectorMetrics collector_metrics(registry, config.metrics);
    const auto store_ptr = store::make_store(config.store);
    store::TraceStore& store = *store_ptr;
    collector_metrics.watch_store(store);
    // Every report goes to the per-report counters and the store (last: it takes the traces);
    // the packets it joins go to the telemetry metrics and the store's rollups (the summaries
    // of the API).
    correlate::Correlator correlator(config.correlator, {&collector_metrics, &store},
                                     {&collector_metrics, &store});
    collector_metrics.watch_correlator(correlator);
    decode::RecordDecoder decoder({&correlator});
    collector_metrics.watch_decoder(decoder);
    correlate::IngestFanout observers({&collector_metrics, &correlator});
    source::IpfixProcessor processor(config.processor, decode::role_of, decoder, observers);
    source::IpfixListener listener(config.listener, processor);
    collector_metrics.watch_listener(listener);

    std::atomic<bool> ready{false};
    api::Routes routes(
        store,
        {[&registry] { return registry.render(); }, [&processor] { return processor.exporters(); },
         [&ready, &store] { return ready.load() && store.ready(); },
         [&listener, &store] {
             const source::ListenerStats l = listener.stats();
             return api::Dropped{l.udp_kernel_drops + l.udp_queue_drops, store.stats().dropped};
         }},
        config.routes);
    ioam::net::HttpServer http(
        config.http,
        [&routes](const ioam::net::HttpRequest& r) {
            return routes.handle(r.method, r.target, r.if_none_match);
        },
        &api::Routes::is_cheap);

    store.start();
    correlator.start();
    http.start();
    listener.start();
    ready = true;
    spdlog::info(
        "ioam-collector: IPFIX udp {} (port {}), tcp {} (port {}); HTTP {} (port {}); "
        "database {}",
        config.listener.udp_listen, listener.udp_port(), config.listener.tcp_listen,
        listener.tcp_port(), config.http.listen, http.port(), config.store.path);

    std::jthread oplog_thread(log_operator_events, std::cref(config), std::cref(processor),
                              std::cref(store));
    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
        ioam::log::reopen();
    }
    spdlog::info("signal {}: stopping, flushing {} queued records", sig, store.stats().queued);
    ready = false;
    oplog_thread.request_stop();
    oplog_thread.join();
    // A store that cannot write must not keep the drain of the sockets waiting forever.
    store.begin_stop();
    listener.stop();
    correlator.stop();
    http.stop();
    store.stop();
    const auto s = store.stats();
    spdlog::info(
        "stopped: {} records written, {} dropped (queue full), {} lost (store could not write "
        "before the stop timeout), {} failed write attempts",
        s.written, s.dropped, s.lost, s.errors);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Config config;
    if (auto exit_code = parse_config(argc, argv, config)) {
        return *exit_code;
    }
    try {
        ioam::log::setup("ioam-collector", config.log_level, config.log_output);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ioam-collector: %s\n", e.what());
        return 1;
    }
    try {
        return run(config);
    } catch (const std::exception& e) {
        spdlog::critical("ioam-collector: {}", e.what());
        return 1;
    }
}
