#include "exporter/sink/collector_uri.hpp"

#include <gtest/gtest.h>

namespace ioam::exporter::sink {
namespace {

TEST(CollectorUri, ParsesHostsPortsAndTransports) {
    auto a = parse_collector_uri("udp://collector.example:9995");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->transport, Transport::udp);
    EXPECT_EQ(a->host, "collector.example");
    EXPECT_EQ(a->port, 9995);

    auto b = parse_collector_uri("tcp://10.0.0.1");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->transport, Transport::tcp);
    EXPECT_EQ(b->port, kIpfixPort);

    auto c = parse_collector_uri("udp://[::1]:4739");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->host, "::1");
    EXPECT_EQ(c->to_string(), "udp://[::1]:4739");

    auto d = parse_collector_uri("tcp://[fe80::1]");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->port, kIpfixPort);
    EXPECT_EQ(b->to_string(), "tcp://10.0.0.1:4739");
}

TEST(CollectorUri, RejectsMalformedAddresses) {
    for (const char* bad : {"sctp://host:1", "udp://", "udp://:4739", "udp://host:0",
                            "udp://host:65536", "udp://host:12x", "udp://host:", "udp://[::1",
                            "udp://[::1]x", "udp://::1:4739", "host:4739"}) {
        auto r = parse_collector_uri(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_EQ(r.error(), Errc::invalid_argument) << bad;
        }
    }
}

}  // namespace
}  // namespace ioam::exporter::sink
