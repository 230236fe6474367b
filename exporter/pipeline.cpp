#include "exporter/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

#include "common/ioam/packet_identity.hpp"
#include "exporter/decode/event_decoder.hpp"
#include "exporter/json_printer.hpp"
#include "exporter/record/record_builder.hpp"

namespace ioam::exporter {
namespace {

using metrics::Counter;
using metrics::Gauge;

constexpr std::size_t kErrcSlots = 64;  // Errc values are small

template <typename F>
void for_each_errc(F&& f) {
    for (auto v = static_cast<std::size_t>(Errc::truncated);
         v <= static_cast<std::size_t>(Errc::invalid_argument) && v < kErrcSlots; ++v) {
        f(static_cast<Errc>(v));
    }
}

// One collector: its transport session (record builder) and its transport (sink).
struct Export {
    sink::MessageSinkPtr sink;
    std::unique_ptr<record::RecordBuilder> builder;
    std::array<Counter*, kErrcSlots> record_errors{};
};

}  // namespace

struct Pipeline::Impl {
    Impl(boost::asio::io_context& io, const PipelineOptions& opts,
         const std::vector<sink::CollectorUri>& collectors, metrics::Registry& reg, std::FILE* json)
        : options(opts),
          registry(reg),
          json_out(json),
          flush_timer(io),
          refresh_timer(io),
          events(reg.counter("ioam_exporter_events_total",
                             "IOAM events received from the kernel, by type", {"type"})),
          decode_errors(reg.counter("ioam_exporter_decode_errors_total",
                                    "Kernel events skipped as malformed, by reason", {"reason"})),
          record_errors(reg.counter("ioam_exporter_record_errors_total",
                                    "Events that could not become an IPFIX record, by reason",
                                    {"collector", "reason"})),
          trace_events(events.with({"trace"})),
          dex_events(events.with({"dex"})),
          kernel_drops(reg.counter("ioam_exporter_kernel_drops_total",
                                   "Times the kernel dropped events (netlink socket overflow)")
                           .get()),
          sampled_out(reg.counter("ioam_exporter_events_sampled_out_total",
                                  "Events not exported because of --sample")
                          .get()),
          unidentified_sampling(
              reg.counter("ioam_exporter_events_sampled_by_count_total",
                          "Events sampled one in N by arrival because they carry no packet "
                          "identity (a trace without timestamps): other nodes keep other packets")
                  .get()) {
        // Every reason exists at zero from start-up: dashboards show 0, not "no data".
        for_each_errc([&](Errc e) {
            decode_error_slots[static_cast<std::size_t>(e)] = &decode_errors.with({to_string(e)});
        });
        for (const auto& uri : collectors) {
            add_collector(io, uri);
        }
    }

    void add_collector(boost::asio::io_context& io, const sink::CollectorUri& uri) {
        auto e = std::make_unique<Export>();
        Export* raw = e.get();
        e->sink = sink::make_sink(io, uri, options.sink, [raw] {
            auto msgs = raw->builder->template_messages();
            return msgs ? std::move(msgs).value() : std::vector<std::vector<std::uint8_t>>{};
        });
        e->builder = std::make_unique<record::RecordBuilder>(
            record::RecordOptions{options.domain_id, options.mtu, options.hop_list,
                                  options.sample_one_in},
            [raw](std::span<const std::uint8_t> m) { raw->sink->send(m); });
        bind_metrics(*raw);
        exports.push_back(std::move(e));
    }

    // Per-collector series read the builder's and sink's own counters at scrape time.
    void bind_metrics(Export& e) {
        const std::string label = e.sink->uri().to_string();
        const auto counter = [&](const char* name, const char* help, auto read) {
            registry.counter_function(name, help, {"collector"}).add({label}, [&e, read] {
                return static_cast<double>(read(e));
            });
        };
        const auto gauge = [&](const char* name, const char* help, auto read) {
            registry.gauge_function(name, help, {"collector"}).add({label}, [&e, read] {
                return static_cast<double>(read(e));
            });
        };
        for_each_errc([&](Errc err) {
            e.record_errors[static_cast<std::size_t>(err)] =
                &record_errors.with({label, to_string(err)});
        });
        counter("ioam_exporter_records_total", "IPFIX data records built",
                [](const Export& x) { return x.builder->stats().records; });
        counter("ioam_exporter_messages_total", "IPFIX messages sent",
                [](const Export& x) { return x.sink->stats().messages; });
        counter("ioam_exporter_bytes_total", "Bytes of IPFIX messages sent",
                [](const Export& x) { return x.sink->stats().octets; });
        counter("ioam_exporter_send_errors_total", "Failed sends and broken connections",
                [](const Export& x) { return x.sink->stats().send_errors; });
        counter("ioam_exporter_dropped_messages_total",
                "IPFIX messages dropped (buffer full or socket busy)",
                [](const Export& x) { return x.sink->stats().dropped_messages; });
        counter("ioam_exporter_retried_messages_total",
                "UDP messages sent again, after the templates, following a send error",
                [](const Export& x) { return x.sink->stats().retried; });
        counter("ioam_exporter_template_sends_total", "Template records sent (first use, refresh)",
                [](const Export& x) { return x.builder->stats().template_sends; });
        counter("ioam_exporter_reconnects_total", "TCP connections re-established",
                [](const Export& x) { return x.sink->stats().reconnects; });
        gauge("ioam_exporter_queue_messages", "IPFIX messages waiting for the transport",
              [](const Export& x) { return x.sink->stats().queued_messages; });
        gauge("ioam_exporter_batch_records", "Data records in the message being filled",
              [](const Export& x) { return x.builder->pending_records(); });
    }

    Counter& errc_counter(std::array<Counter*, kErrcSlots>& slots, Errc e,
                          const std::function<Counter&()>& make) {
        auto& slot = slots[static_cast<std::size_t>(e) % kErrcSlots];
        if (slot == nullptr) {
            slot = &make();
        }
        return *slot;
    }

    void on_message(std::span<const std::uint8_t> nlmsg, std::uint64_t now_ns) {
        auto st = decode::decode_event(nlmsg, {now_ns, options.domain_id}, event);
        if (!st) {
            spdlog::debug("skipped a kernel event: {}", to_string(st.error()));
            errc_counter(decode_error_slots, st.error(), [&]() -> Counter& {
                return decode_errors.with({to_string(st.error())});
            }).Increment();
            return;
        }
        (std::holds_alternative<IoamTrace>(event) ? trace_events : dex_events).Increment();
        if (!sampled_in()) {
            sampled_out.Increment();
            return;
        }
        if (json_out != nullptr) {
            const auto line = event_json(event);
            std::fwrite(line.data(), 1, line.size(), json_out);
            std::fputc('\n', json_out);
        }
        for (auto& e : exports) {
            const auto added =
                std::visit([&](const auto& ev) { return e->builder->add(ev); }, event);
            if (!added) {
                const auto label = e->sink->uri().to_string();
                errc_counter(e->record_errors, added.error(), [&]() -> Counter& {
                    return record_errors.with({label, to_string(added.error())});
                }).Increment();
            }
        }
    }

    // Consistent sampling: every node hashes the same packet identity, so the packets one
    // exporter keeps are the packets every exporter keeps, and the collector sees them whole.
    bool sampled_in() {
        if (options.sample_one_in <= 1) {
            return true;
        }
        const auto id = std::visit([](const auto& ev) { return packet_identity(ev); }, event);
        if (id) {
            return keep_one_in(*id, options.sample_one_in);
        }
        // No identity (a trace without timestamps): nodes cannot agree on a packet, so one
        // event in N, counted per exporter.
        unidentified_sampling.Increment();
        return sample_counter++ % options.sample_one_in == 0;
    }

    void flush() {
        for (auto& e : exports) {
            if (auto st = e->builder->flush(); !st) {
                spdlog::warn("{}: flush failed: {}", e->sink->uri().to_string(),
                             to_string(st.error()));
            }
        }
        if (json_out != nullptr) {
            std::fflush(json_out);
        }
    }

    void refresh_templates() {
        for (auto& e : exports) {
            if (e->sink->needs_template_refresh()) {
                (void)e->builder->export_templates();
                (void)e->builder->flush();
            }
        }
    }

    void arm_flush() {
        flush_timer.expires_after(options.flush_interval);
        flush_timer.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                flush();
                arm_flush();
            }
        });
    }

    void arm_refresh() {
        refresh_timer.expires_after(options.template_refresh);
        refresh_timer.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                refresh_templates();
                arm_refresh();
            }
        });
    }

    PipelineOptions options;
    metrics::Registry& registry;
    std::FILE* json_out;
    boost::asio::steady_timer flush_timer;
    boost::asio::steady_timer refresh_timer;
    metrics::Family<Counter>& events;
    metrics::Family<Counter>& decode_errors;
    metrics::Family<Counter>& record_errors;
    Counter& trace_events;
    Counter& dex_events;
    Counter& kernel_drops;
    Counter& sampled_out;
    Counter& unidentified_sampling;
    std::array<Counter*, kErrcSlots> decode_error_slots{};
    std::vector<std::unique_ptr<Export>> exports;
    decode::Event event;  // reused: its vectors keep their capacity
    std::uint64_t sample_counter = 0;
};

Pipeline::Pipeline(boost::asio::io_context& io, const PipelineOptions& options,
                   const std::vector<sink::CollectorUri>& collectors, metrics::Registry& registry,
                   std::FILE* json_out)
    : impl_(std::make_unique<Impl>(io, options, collectors, registry, json_out)) {}

Pipeline::~Pipeline() = default;

void Pipeline::start() {
    for (auto& e : impl_->exports) {
        e->sink->start();
    }
    impl_->arm_flush();
    impl_->arm_refresh();
}

void Pipeline::on_message(std::span<const std::uint8_t> nlmsg, std::uint64_t recv_time_ns) {
    impl_->on_message(nlmsg, recv_time_ns);
}

void Pipeline::on_kernel_drop() {
    impl_->kernel_drops.Increment();
}

void Pipeline::on_batch_end() {
    if (impl_->json_out != nullptr) {
        std::fflush(impl_->json_out);
    }
}

void Pipeline::flush() {
    impl_->flush();
}

void Pipeline::shutdown(std::function<void()> done) {
    impl_->flush();
    impl_->flush_timer.cancel();
    impl_->refresh_timer.cancel();
    auto remaining = std::make_shared<std::size_t>(impl_->exports.size());
    if (*remaining == 0) {
        done();
        return;
    }
    for (auto& e : impl_->exports) {
        e->sink->close([remaining, done] {
            if (--*remaining == 0) {
                done();
            }
        });
    }
}

}  // namespace ioam::exporter
