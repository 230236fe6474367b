// IPFIX over real loopback sockets into the listener, processor and decoder: UDP (IPv4 and
// IPv6) and TCP, and malformed input from one exporter while another keeps sending.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collector/decode/record_decoder.hpp"
#include "collector/metrics/collector_metrics.hpp"
#include "collector/source/ipfix_listener.hpp"
#include "common/metrics/registry.hpp"
#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/source/recording_handler.hpp"
#include "tests/common/metrics/exposition.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;

class LockedSink final : public TraceSink {
  public:
    void consume(const Origin& o, const IoamTrace& t) override {
        std::lock_guard lock(mu_);
        traces_.push_back(t);
        by_exporter_[std::string(o.exporter)]++;
    }
    void consume(const Origin&, const DexReport&) override {}
    std::size_t count() {
        std::lock_guard lock(mu_);
        return traces_.size();
    }
    std::size_t from(const std::string& exporter) {
        std::lock_guard lock(mu_);
        return by_exporter_[exporter];
    }
    IoamTrace at(std::size_t i) {
        std::lock_guard lock(mu_);
        return traces_.at(i);
    }

  private:
    std::mutex mu_;
    std::vector<IoamTrace> traces_;
    std::map<std::string, std::size_t> by_exporter_;
};

std::vector<std::uint8_t> trace_message(std::uint32_t seq, const IoamTrace& t) {
    MessageBuilder b(1, seq);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    return b.finish();
}

std::vector<std::uint8_t> data_message(std::uint32_t seq, const IoamTrace& t) {
    MessageBuilder b(1, seq);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    return b.finish();
}

class LoopbackTest : public ::testing::Test {
  protected:
    void SetUp() override {
        source::ListenerConfig lc;
        lc.udp_listen = "[::]:0";
        lc.tcp_listen = "[::]:0";
        listener = std::make_unique<source::IpfixListener>(lc, processor);
        listener->start();
    }
    std::string metrics_text() { return registry.render(); }

    ioam::metrics::Registry registry;
    metrics::CollectorMetrics collector_metrics{registry, {}};
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink, &collector_metrics}};
    source::IpfixProcessor processor{{}, decode::role_of, decoder, collector_metrics};
    std::unique_ptr<source::IpfixListener> listener;
};

TEST_F(LoopbackTest, UdpIpv4Ipv6AndTcp) {
    const IoamTrace t = make_trace({1, 2, 3});
    UdpSender v4(listener->udp_port(), "127.0.0.1");
    UdpSender v6(listener->udp_port(), "::1");
    TcpSender tcp(listener->tcp_port(), "127.0.0.1");
    v4.send(trace_message(0, t));
    v6.send(trace_message(0, t));
    tcp.send(trace_message(0, t));
    tcp.send(trace_message(1, t));
    ASSERT_TRUE(wait_for([&] { return sink.count() == 4; }));
    EXPECT_EQ(sink.at(0), t);
    EXPECT_EQ(sink.from("127.0.0.1"), 3u);  // IPv4-mapped addresses are shown as IPv4
    EXPECT_EQ(sink.from("::1"), 1u);
    const auto exporters = processor.exporters();
    ASSERT_EQ(exporters.size(), 3u);
    for (const auto& e : exporters) {
        EXPECT_EQ(e.lost, 0u);
        EXPECT_EQ(e.errors, 0u);
    }
}

TEST_F(LoopbackTest, MalformedExporterDisturbsNoOther) {
    const IoamTrace t = make_trace({1, 2});
    UdpSender good(listener->udp_port());
    UdpSender bad(listener->udp_port(), "127.0.0.1", "127.0.0.2");

    std::vector<std::vector<std::uint8_t>> broken;
    {  // bad version
        auto m = trace_message(0, t);
        m[1] = 9;
        broken.push_back(m);
    }
    {  // set length beyond the message
        auto m = trace_message(0, t);
        m[16 + 2] = 0xff;
        broken.push_back(m);
    }
    {  // template with zero fields (a withdrawal, forbidden on UDP)
        MessageBuilder b(1, 0);
        b.begin_set(2).u16(300).u16(0);
        broken.push_back(b.finish());
    }
    {  // template with thousands of fields
        MessageBuilder b(1, 0);
        b.begin_set(2).template_record(301, std::vector<Field>(3000, Field{8, 4}));
        broken.push_back(b.finish());
    }
    {  // template id < 256
        MessageBuilder b(1, 0);
        b.begin_set(2).template_record(200, {{8, 4}});
        broken.push_back(b.finish());
    }
    {  // variable-length field past the end of its set
        MessageBuilder b(1, 0);
        trace_templates(b, t.trace_type, false);
        // time, domain, namespace, then trace type (3), node length, flags, hop count
        b.begin_set(ipfix::kTraceTemplateId).u64(0).u32(1).u16(1);
        b.u16(0).u8(0).u8(0).u8(0).u8(0);
        b.u8(250).u32(0);  // ioamTraceData announces 250 octets, 4 follow
        broken.push_back(b.finish());
    }
    {  // data set for a template this exporter never sent
        MessageBuilder b(7, 0);
        b.begin_set(999).u32(1).u32(2);
        broken.push_back(b.finish());
    }

    constexpr std::size_t kGood = 300;
    const auto good_stats = [&] {
        for (const auto& e : processor.exporters()) {
            if (e.session.address == "127.0.0.1") {
                return e;
            }
        }
        return source::ExporterStats{};
    };
    for (std::size_t i = 0; i < kGood; ++i) {
        good.send(trace_message(static_cast<std::uint32_t>(i), t));
        bad.send(broken[i % broken.size()]);
        if (i % 50 == 49) {
            // Paced so that the kernel's socket buffer never has to drop a datagram.
            wait_for([&] { return good_stats().records + 10 >= i; });
        }
    }
    ASSERT_TRUE(wait_for([&] { return good_stats().records == kGood; }));
    const auto g = good_stats();
    EXPECT_EQ(g.lost, 0u);
    EXPECT_EQ(g.errors, 0u);
    EXPECT_EQ(g.messages, kGood);
    const auto e = ioam::metrics::test::parse_exposition(metrics_text());
    for (const char* reason :
         {"bad_version", "set_overrun", "withdrawal_on_udp", "template_too_large", "bad_template",
          "record_overrun", "unknown_template"}) {
        EXPECT_GE(e.value("ioam_collector_ingest_errors_total",
                          {{"exporter", "127.0.0.2"}, {"reason", reason}})
                      .value_or(0),
                  1)
            << reason;
    }
}

TEST_F(LoopbackTest, TcpBadFramingClosesOnlyThatConnection) {
    const IoamTrace t = make_trace({5});
    TcpSender good(listener->tcp_port());
    TcpSender bad(listener->tcp_port());
    good.send(trace_message(0, t));
    auto m = trace_message(0, t);
    m[1] = 5;  // version 5
    bad.send(m);
    ASSERT_TRUE(wait_for([&] { return bad.closed_by_peer(); }));
    good.send(trace_message(1, t));
    ASSERT_TRUE(wait_for([&] { return sink.count() == 2; }));
    EXPECT_EQ(listener->stats().tcp_bad_framing, 1u);
}

TEST_F(LoopbackTest, TcpTemplateWithdrawal) {
    const IoamTrace t = make_trace({5});
    TcpSender tcp(listener->tcp_port());
    tcp.send(trace_message(0, t));
    MessageBuilder w(1, 1);
    w.begin_set(2).u16(ipfix::kTraceWithHopsTemplateId).u16(0);
    tcp.send(w.finish());
    MessageBuilder data(1, 1);
    data.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(data, t, true);
    tcp.send(data.finish());
    tcp.send(trace_message(1, t));  // template again, then data
    ASSERT_TRUE(wait_for([&] { return sink.count() == 2; }));
    const std::string text = metrics_text();
    EXPECT_NE(text.find("reason=\"unknown_template\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace ioam::collector

namespace ioam::collector {
namespace {

TEST(LoopbackIdle, TcpIdleTimeoutWhenConfigured) {
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::ListenerConfig lc;
    lc.udp_listen = "";
    lc.tcp_listen = "127.0.0.1:0";
    lc.tcp_idle_timeout_s = 1;
    source::IpfixListener listener(lc, processor);
    listener.start();
    test::TcpSender quiet(listener.tcp_port());
    quiet.send(trace_message(0, test::make_trace({1})));
    ASSERT_TRUE(test::wait_for([&] { return sink.count() == 1; }));
    EXPECT_EQ(processor.exporters().size(), 1u);
    EXPECT_TRUE(test::wait_for([&] { return quiet.closed_by_peer(); }));
    // The closed connection stays in the exporter view, marked ended.
    EXPECT_TRUE(test::wait_for([&] {
        const auto ex = processor.exporters();
        return ex.size() == 1 && ex[0].ended_ns != 0;
    }));
}

// Issue 12.3: junk from many ports used to take every session slot, and an exporter that opens
// a new source port per message (the reference Go exporter) locked itself out after
// max_sessions messages.
TEST(LoopbackLockout, JunkAndOnePortPerMessageNeverLockOut) {
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{.max_sessions = 16}, decode::role_of, decoder, observer};
    source::ListenerConfig lc;
    lc.udp_listen = "127.0.0.1:0";
    lc.tcp_listen = "";
    source::IpfixListener listener(lc, processor);
    listener.start();
    constexpr int kJunk = 200;
    for (int i = 0; i < kJunk; ++i) {
        const std::string from = "127.0.1." + std::to_string(i + 1);
        test::UdpSender(listener.udp_port(), "127.0.0.1", from.c_str()).send({0x00, 0x0a, 0x00});
    }
    ASSERT_TRUE(test::wait_for([&] { return listener.stats().udp_datagrams == kJunk; }));
    EXPECT_EQ(listener.stats().udp_sessions, 0u);

    const IoamTrace t = test::make_trace({1, 2});
    constexpr std::uint32_t kMessages = 100;
    for (std::uint32_t i = 0; i < kMessages; ++i) {
        test::UdpSender one_shot(listener.udp_port());  // a new source port every time
        one_shot.send(i == 0 ? trace_message(i, t) : data_message(i, t));
        if (i % 20 == 19) {  // paced: the kernel must not drop datagrams
            ASSERT_TRUE(test::wait_for([&] { return sink.count() == i + 1; }));
        }
    }
    ASSERT_TRUE(test::wait_for([&] { return sink.count() == kMessages; }));
    EXPECT_EQ(listener.stats().udp_sessions, 1u);
    EXPECT_EQ(observer.errors["127.0.0.1/unknown_template"], 0);
    EXPECT_EQ(observer.errors["127.0.0.1/too_many_sessions"], 0);
}

TEST(LoopbackLockout, TcpConnectionLimitEvictsTheLongestSilent) {
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::ListenerConfig lc;
    lc.udp_listen = "";
    lc.tcp_listen = "127.0.0.1:0";
    lc.max_tcp_connections = 2;
    lc.tcp_evict_after = std::chrono::seconds(0);
    source::IpfixListener listener(lc, processor);
    listener.start();
    EXPECT_EQ(source::ListenerConfig{}.tcp_idle_timeout_s, 900u);  // never 0 by default
    test::TcpSender silent_a(listener.tcp_port());
    ASSERT_TRUE(test::wait_for([&] { return listener.stats().tcp_open == 1; }));
    test::TcpSender silent_b(listener.tcp_port());
    ASSERT_TRUE(test::wait_for([&] { return listener.stats().tcp_open == 2; }));
    test::TcpSender exporter(listener.tcp_port());
    exporter.send(trace_message(0, test::make_trace({1})));
    ASSERT_TRUE(test::wait_for([&] { return sink.count() == 1; }));
    EXPECT_TRUE(test::wait_for([&] { return silent_a.closed_by_peer(); }));
    EXPECT_FALSE(silent_b.closed_by_peer());
    EXPECT_EQ(listener.stats().tcp_evicted, 1u);
    EXPECT_EQ(listener.stats().tcp_open, 2u);
    EXPECT_EQ(listener.stats().tcp_rejected, 0u);
}

TEST(LoopbackLockout, TcpConnectionLimitRefusesWhenNoneIsSilentLongEnough) {
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::ListenerConfig lc;
    lc.udp_listen = "";
    lc.tcp_listen = "127.0.0.1:0";
    lc.max_tcp_connections = 1;
    lc.tcp_evict_after = std::chrono::hours(1);
    source::IpfixListener listener(lc, processor);
    listener.start();
    test::TcpSender first(listener.tcp_port());
    ASSERT_TRUE(test::wait_for([&] { return listener.stats().tcp_open == 1; }));
    test::TcpSender second(listener.tcp_port());
    EXPECT_TRUE(test::wait_for([&] { return second.closed_by_peer(); }));
    EXPECT_EQ(listener.stats().tcp_rejected, 1u);
    EXPECT_FALSE(first.closed_by_peer());
}

TEST(LoopbackStart, PortInUseNamesTheListenerAndAddress) {
    LockedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::ListenerConfig first_config;
    first_config.udp_listen = "127.0.0.1:0";
    first_config.tcp_listen = "127.0.0.1:0";
    source::IpfixListener first(first_config, processor);
    first.start();
    for (const bool udp : {true, false}) {
        source::ListenerConfig lc;
        const std::string taken =
            "127.0.0.1:" + std::to_string(udp ? first.udp_port() : first.tcp_port());
        (udp ? lc.udp_listen : lc.tcp_listen) = taken;
        (udp ? lc.tcp_listen : lc.udp_listen) = "";
        source::IpfixListener second(lc, processor);
        try {
            second.start();
            ADD_FAILURE() << "bound a port in use";
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(udp ? "IPFIX/UDP listener" : "IPFIX/TCP listener"),
                      std::string::npos)
                << what;
            EXPECT_NE(what.find(taken), std::string::npos) << what;
            EXPECT_NE(what.find("in use"), std::string::npos) << what;
            EXPECT_EQ(what.find(".hpp"), std::string::npos) << what;
        }
    }
}

// Holds the I/O thread inside the first record until released, so that later messages are
// still in the kernel's socket buffer when stop() is called.
class GatedSink final : public TraceSink {
  public:
    void consume(const Origin&, const IoamTrace&) override {
        std::unique_lock lock(mu_);
        ++count_;
        entered_.notify_all();
        open_.wait(lock, [&] { return released_; });
    }
    void consume(const Origin&, const DexReport&) override {}
    void wait_entered() {
        std::unique_lock lock(mu_);
        entered_.wait(lock, [&] { return count_ > 0; });
    }
    void release() {
        std::lock_guard lock(mu_);
        released_ = true;
        open_.notify_all();
    }
    std::size_t count() {
        std::lock_guard lock(mu_);
        return count_;
    }

  private:
    std::mutex mu_;
    std::condition_variable entered_;
    std::condition_variable open_;
    bool released_ = false;
    std::size_t count_ = 0;
};

// Declared after the listener: a failed assertion's early return opens the gate before the
// listener's destructor stops it (which waits for the I/O thread).
struct OpenOnExit {
    GatedSink& sink;
    ~OpenOnExit() { sink.release(); }
};

// stop() called while the I/O thread is held, which then goes on: what waited is processed.
void stop_then_release(source::IpfixListener& listener, GatedSink& sink) {
    std::atomic<bool> stopping{false};
    std::thread stopper([&] {
        stopping = true;
        listener.stop();
    });
    EXPECT_TRUE(test::wait_for([&] { return stopping.load(); }));
    sink.release();
    stopper.join();
}

// A UDP listener on loopback, a tiny socket buffer, and an I/O thread held in the first record.
struct HeldUdpListener {
    explicit HeldUdpListener(std::size_t queue_bytes) : listener(config(queue_bytes), processor) {
        listener.start();
    }
    static source::ListenerConfig config(std::size_t queue_bytes) {
        source::ListenerConfig lc;
        lc.udp_listen = "127.0.0.1:0";
        lc.tcp_listen = "";
        lc.udp_receive_buffer = 4096;
        lc.udp_queue_bytes = queue_bytes;
        return lc;
    }
    GatedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::IpfixListener listener;
    OpenOnExit open_on_exit{sink};
};

// Issue 12.5: SIGTERM (listener stop) dropped TCP data already in socket buffers.
TEST(LoopbackStop, StopProcessesTcpDataAlreadyReceived) {
    GatedSink sink;
    decode::RecordDecoder decoder{{&sink}};
    test::RecordingHandler observer;
    source::IpfixProcessor processor{{}, decode::role_of, decoder, observer};
    source::ListenerConfig lc;
    lc.udp_listen = "";
    lc.tcp_listen = "127.0.0.1:0";
    source::IpfixListener listener(lc, processor);
    const OpenOnExit open_on_exit{sink};
    listener.start();
    const IoamTrace t = test::make_trace({1, 2, 3});
    test::TcpSender a(listener.tcp_port());
    test::TcpSender b(listener.tcp_port());
    a.send(trace_message(0, t));
    sink.wait_entered();
    constexpr std::uint32_t kQueued = 100;
    for (std::uint32_t i = 1; i <= kQueued; ++i) {
        a.send(data_message(i, t));
        b.send(trace_message(i - 1, t));
    }
    // Everything is in the collector's receive queues (what "already received" means).
    ASSERT_TRUE(test::wait_for([&] { return a.unacknowledged() == 0 && b.unacknowledged() == 0; }));
    stop_then_release(listener, sink);
    EXPECT_EQ(sink.count(), 1 + 2 * kQueued);
    EXPECT_TRUE(processor.exporters().at(0).ended_ns != 0);
}

// The UDP reader empties the socket while the I/O thread is busy: datagrams wait in the
// datagram queue rather than in the kernel (whose buffer here holds a few), and stop()
// processes every one of them.
TEST(LoopbackStop, UdpDatagramsQueuedWhileTheIoThreadIsHeldAreProcessedAtStop) {
    HeldUdpListener held_listener(source::ListenerConfig{}.udp_queue_bytes);
    GatedSink& sink = held_listener.sink;
    source::IpfixListener& listener = held_listener.listener;
    const IoamTrace t = test::make_trace({1, 2, 3});
    test::UdpSender sender(listener.udp_port());
    sender.send(trace_message(0, t));
    sink.wait_entered();
    constexpr std::uint32_t kQueued = 500;
    for (std::uint32_t i = 1; i <= kQueued; ++i) {
        sender.send(data_message(i, t));
        // Paced by what the reader took: the tiny socket buffer never overflows.
        ASSERT_TRUE(test::wait_for([&] { return listener.stats().udp_datagrams == i + 1; }));
    }
    const source::ListenerStats held = listener.stats();
    EXPECT_GT(held.udp_queue_bytes, kQueued * 64);
    EXPECT_EQ(held.udp_kernel_drops, 0u);
    stop_then_release(listener, sink);
    EXPECT_EQ(sink.count(), 1 + kQueued);
    EXPECT_EQ(listener.stats().udp_queue_drops, 0u);
}

// Beyond the queue, the reader waits (counted) and the kernel drops (counted): every datagram
// sent is processed or counted as dropped, none is lost silently.
TEST(LoopbackOverload, EveryUdpDatagramIsProcessedOrCountedWhenTheQueueIsFull) {
    HeldUdpListener held_listener(0);  // the queue's minimum: two of the largest datagrams
    GatedSink& sink = held_listener.sink;
    source::IpfixListener& listener = held_listener.listener;
    const IoamTrace t = test::make_trace({1, 2, 3, 4, 5, 6, 7, 8});
    test::UdpSender sender(listener.udp_port());
    sender.send(trace_message(0, t));
    sink.wait_entered();
    // Paced by the reader until the queue is full and the reader waits for room...
    std::uint32_t sent = 0;
    while (listener.stats().udp_queue_full == 0) {
        sender.send(data_message(++sent, t));
        ASSERT_TRUE(test::wait_for([&] {
            const source::ListenerStats s = listener.stats();
            return s.udp_datagrams == 1 + sent || s.udp_queue_full > 0;
        }));
        ASSERT_LT(sent, 100000u) << "the queue never filled";
    }
    // ...then the kernel's small buffer overflows.
    while (listener.stats().udp_kernel_drops == 0) {
        sender.send(data_message(++sent, t));
        ASSERT_LT(sent, 200000u) << "the kernel never dropped";
    }
    sink.release();
    const auto accounted = [&] { return sink.count() + listener.stats().udp_kernel_drops; };
    EXPECT_TRUE(test::wait_for([&] { return accounted() == 1 + sent; }))
        << "sent " << 1 + sent << ", processed " << sink.count() << ", kernel drops "
        << listener.stats().udp_kernel_drops;
    EXPECT_GT(listener.stats().udp_kernel_drops, 0u);
    listener.stop();
    EXPECT_EQ(accounted(), 1 + sent);
}

}  // namespace
}  // namespace ioam::collector
