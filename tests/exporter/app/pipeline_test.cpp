// The exporter's wiring on loopback: netlink messages in, IPFIX out to a UDP collector,
// metrics in the registry and over HTTP.
#include "exporter/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cmath>
#include <thread>

#include "common/ioam/packet_identity.hpp"
#include "common/ipfix/record_layouts.hpp"
#include "exporter/decode/event_decoder.hpp"
#include "exporter/metrics_server.hpp"
#include "tests/common/metrics/exposition.hpp"
#include "tests/exporter/support/ipfix_reader.hpp"
#include "tests/exporter/support/nl_message.hpp"
#include "tests/exporter/support/udp_probe.hpp"

namespace ioam::exporter {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

struct Collector {
    explicit Collector(asio::io_context& io, std::uint16_t port = 0)
        : socket(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {}
    udp::socket socket;
    test::IpfixReader reader;

    sink::CollectorUri uri() const {
        return {sink::Transport::udp, "127.0.0.1", socket.local_endpoint().port()};
    }
    // Data records in every datagram waiting on the socket.
    std::vector<test::IpfixRecord> drain() {
        std::vector<test::IpfixRecord> out;
        socket.non_blocking(true);
        for (;;) {
            std::vector<std::uint8_t> buf(65535);
            boost::system::error_code ec;
            const auto n = socket.receive(asio::buffer(buf), 0, ec);
            if (ec) {
                return out;
            }
            buf.resize(n);
            const auto msg = reader.read(buf);
            out.insert(out.end(), msg.records.begin(), msg.records.end());
        }
    }
};

metrics::test::Exposition render(const metrics::Registry& r) {
    return metrics::test::parse_exposition(r.render());
}

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

// Issue 12.5: a UDP collector that restarted could not decode anything until the next template
// refresh (30 s by default), and the first message after its return was dropped.
TEST(Pipeline, UdpCollectorThatRestartedDecodesTheNextMessage) {
    asio::io_context io;
    const std::uint16_t port = test::closed_udp_port(io);
    metrics::Registry registry;
    PipelineOptions opts;
    opts.template_refresh = std::chrono::seconds(3600);
    Pipeline p(io, opts, {{sink::Transport::udp, "127.0.0.1", port}}, registry, nullptr);
    p.start();
    const auto event = test::captured_trace_event().bytes();
    p.on_message(event, 1'700'000'000'000'000'000ull);
    p.flush();  // templates and a record, to nobody
    test::wait_for_port_unreachable(io, port);

    Collector restarted(io, port);  // knows no templates
    p.on_message(event, 1'700'000'000'000'000'001ull);
    p.flush();
    io.poll();
    std::vector<test::IpfixRecord> records;
    ASSERT_NO_THROW(records = restarted.drain());  // the reader throws on unknown templates
    // The second record, and the first one too when its own send already reported the error
    // of the template message before it (loopback usually delivers the ICMP that fast).
    ASSERT_GE(records.size(), 1u);
    ASSERT_LE(records.size(), 2u);
    for (const auto& r : records) {
        EXPECT_EQ(r.uint({10383, 0}), 123u);
    }
    EXPECT_EQ(render(registry).value("ioam_exporter_retried_messages_total",
                                     {{"collector", "udp://127.0.0.1:" + std::to_string(port)}}),
              1);
    bool done = false;
    p.shutdown([&] { done = true; });
    EXPECT_TRUE(done);
}

TEST(Pipeline, EventsBecomeRecordsAndMetrics) {
    asio::io_context io;
    Collector c(io);
    metrics::Registry registry;
    PipelineOptions opts;
    opts.domain_id = 5;
    Pipeline p(io, opts, {c.uri()}, registry, nullptr);
    p.start();
    const auto good = test::captured_trace_event().bytes();
    auto unknown = test::NlMessage(9).bytes();
    p.on_message(good, 1'700'000'000'000'000'000ull);
    p.on_message(good, 1'700'000'000'000'000'001ull);
    p.on_message(unknown, 1);
    p.on_kernel_drop();
    p.flush();

    const auto records = c.drain();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].uint({10383, 0}), 123u);
    EXPECT_EQ(records[0].uint({0, 149}), 5u);

    const auto e = render(registry);
    const metrics::test::LabelMap label = {{"collector", c.uri().to_string()}};
    EXPECT_EQ(e.value("ioam_exporter_events_total", {{"type", "trace"}}), 2);
    EXPECT_EQ(e.value("ioam_exporter_decode_errors_total", {{"reason", "unknown_command"}}), 1);
    // Every other reason is there at zero from start-up, for the collector too.
    EXPECT_EQ(e.value("ioam_exporter_decode_errors_total", {{"reason", "truncated"}}), 0);
    auto record_label = label;
    record_label["reason"] = "too_large";
    EXPECT_EQ(e.value("ioam_exporter_record_errors_total", record_label), 0);
    EXPECT_EQ(e.value("ioam_exporter_kernel_drops_total"), 1);
    EXPECT_EQ(e.value("ioam_exporter_records_total", label), 2);
    EXPECT_EQ(e.value("ioam_exporter_messages_total", label), 2);
    EXPECT_EQ(e.value("ioam_exporter_template_sends_total", label), 2);
    EXPECT_EQ(e.value("ioam_exporter_batch_records", label), 0);

    bool done = false;
    p.shutdown([&] { done = true; });
    EXPECT_TRUE(done);
}

// The captured event with its timestamp fraction replaced: another packet of the same flow.
std::vector<std::uint8_t> trace_event(std::uint32_t frac) {
    std::vector<std::uint8_t> data(std::begin(test::kCapturedTraceData),
                                   std::end(test::kCapturedTraceData));
    for (int i = 0; i < 4; ++i) {
        data[12 + i] = static_cast<std::uint8_t>(frac >> (24 - 8 * i));
    }
    test::NlMessage m(1);
    m.host<std::uint16_t>(1, 123).host<std::uint8_t>(2, 8).host<std::uint32_t>(3, 0xff000000u);
    m.attr(4, data);
    return m.bytes();
}

// Data records that are IOAM traces (the sampling options record left out).
std::size_t traces(const std::vector<test::IpfixRecord>& records) {
    return static_cast<std::size_t>(std::count_if(records.begin(), records.end(), [](auto& r) {
        return r.template_id != ipfix::kSamplingTemplateId;
    }));
}

// Every node must keep the same packets: the choice depends on the packet, not on the order
// or number of events one exporter happened to see.
TEST(Pipeline, SamplesThePacketsWhoseIdentityFallsInTheKeptShare) {
    constexpr std::uint32_t kN = 3;
    constexpr std::uint32_t kPackets = 300;
    asio::io_context io;
    Collector c(io);
    metrics::Registry registry;
    PipelineOptions opts;
    opts.sample_one_in = kN;
    Pipeline p(io, opts, {c.uri()}, registry, nullptr);
    std::size_t expected = 0;
    for (std::uint32_t i = 0; i < kPackets; ++i) {
        const auto bytes = trace_event(i);
        decode::Event ev;
        ASSERT_TRUE(decode::decode_event(bytes, {1, 1}, ev).ok());
        const auto id = packet_identity(std::get<IoamTrace>(ev));
        ASSERT_TRUE(id);
        expected += keep_one_in(*id, kN) ? 1 : 0;
        p.on_message(bytes, 1);
        p.flush();
    }
    EXPECT_EQ(traces(c.drain()), expected);
    EXPECT_NEAR(static_cast<double>(expected), kPackets / kN, 5 * std::sqrt(kPackets / kN));
    EXPECT_EQ(render(registry).value("ioam_exporter_events_sampled_out_total"),
              kPackets - expected);

    // The same packet seen again is kept or left out again, whatever came in between.
    const auto same = trace_event(7);
    for (int i = 0; i < 9; ++i) {
        p.on_message(same, 1);
    }
    p.flush();
    const auto again = traces(c.drain());
    EXPECT_TRUE(again == 0 || again == 9) << again;
}

// Without timestamps nothing tells packets apart: one event in N by arrival, counted.
TEST(Pipeline, TracesWithoutIdentityAreSampledByCount) {
    asio::io_context io;
    Collector c(io);
    metrics::Registry registry;
    PipelineOptions opts;
    opts.sample_one_in = 3;
    Pipeline p(io, opts, {c.uri()}, registry, nullptr);
    const std::uint8_t data[] = {0x3f, 0x00, 0x00, 0x2a, 0x00, 0x07, 0xff, 0xff};
    test::NlMessage m(1);
    m.host<std::uint16_t>(1, 123).host<std::uint8_t>(2, 2).host<std::uint32_t>(3, 0xc0000000u);
    m.attr(4, data);
    for (int i = 0; i < 9; ++i) {
        p.on_message(m.bytes(), 1);
    }
    p.flush();
    EXPECT_EQ(traces(c.drain()), 3u);
    const auto e = render(registry);
    EXPECT_EQ(e.value("ioam_exporter_events_sampled_by_count_total"), 9);
    EXPECT_EQ(e.value("ioam_exporter_events_sampled_out_total"), 6);
}

TEST(Pipeline, PrintsJsonLines) {
    asio::io_context io;
    metrics::Registry registry;
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* out = open_memstream(&buf, &len);
    {
        Pipeline p(io, {}, {}, registry, out);
        p.on_message(test::captured_trace_event().bytes(), 42);
        p.on_batch_end();
    }
    std::fclose(out);
    const std::string text(buf, len);
    std::free(buf);
    EXPECT_TRUE(contains(text, "\"kind\":\"trace\"")) << text;
    EXPECT_TRUE(contains(text, "\"node_id\":42")) << text;
    EXPECT_TRUE(contains(text, "\"trace_type\":\"0xff0000\"")) << text;
    EXPECT_TRUE(text.ends_with("\n"));
}

TEST(MetricsServer, ServesTheRegistry) {
    asio::io_context io;
    metrics::Registry registry;
    registry.counter("ioam_test_total", "test").get().Increment(3);
    MetricsServer server(io, "127.0.0.1:0", registry);
    std::thread loop([&] { io.run(); });
    const auto get = [&](const std::string& target) {
        asio::io_context client;
        asio::ip::tcp::socket s(client);
        s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
        const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
        asio::write(s, asio::buffer(req));
        std::string resp;
        boost::system::error_code ec;
        asio::read(s, asio::dynamic_buffer(resp), ec);  // until the server closes
        return resp;
    };
    const auto ok = get("/metrics");
    const auto missing = get("/nope");
    io.stop();
    loop.join();
    EXPECT_TRUE(ok.starts_with("HTTP/1.1 200")) << ok;
    EXPECT_TRUE(contains(ok, "text/plain; version=0.0.4")) << ok;
    EXPECT_EQ(metrics::test::parse_exposition(ok.substr(ok.find("\r\n\r\n") + 4))
                  .value("ioam_test_total"),
              3)
        << ok;
    EXPECT_TRUE(missing.starts_with("HTTP/1.1 404")) << missing;
}

TEST(MetricsServer, RejectsBadListenAddresses) {
    asio::io_context io;
    metrics::Registry registry;
    EXPECT_THROW(MetricsServer(io, "nonsense", registry), std::runtime_error);
    EXPECT_THROW(MetricsServer(io, "127.0.0.1:99999", registry), std::runtime_error);
    EXPECT_THROW(MetricsServer(io, "not-an-ip:80", registry), std::runtime_error);
}

TEST(MetricsServer, PortInUseNamesTheListener) {
    asio::io_context io;
    metrics::Registry registry;
    MetricsServer first(io, "127.0.0.1:0", registry);
    const std::string listen = "127.0.0.1:" + std::to_string(first.port());
    try {
        MetricsServer second(io, listen, registry);
        FAIL() << "bound a port in use";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot listen for metrics on " + listen + ": Address already in use");
    }
}

}  // namespace
}  // namespace ioam::exporter
