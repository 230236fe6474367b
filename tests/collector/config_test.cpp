#include "collector/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/collector/temp_path.hpp"

namespace ioam::collector {
namespace {

std::optional<int> parse(std::vector<std::string> args, Config& c) {
    args.insert(args.begin(), "ioam-collector");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    return parse_config(static_cast<int>(argv.size()), argv.data(), c);
}

TEST(CollectorConfig, Defaults) {
    Config c;
    ASSERT_FALSE(parse({}, c).has_value());
    EXPECT_EQ(c.listener.udp_listen, "[::]:4739");
    EXPECT_EQ(c.listener.tcp_listen, "[::]:4739");
    EXPECT_EQ(c.http.listen, "127.0.0.1:9555");
    EXPECT_EQ(c.store.path, "./ioam.db");
    EXPECT_EQ(c.store.fraction_unit, analysis::FractionUnit::microseconds);
}

TEST(CollectorConfig, FlagsAndConfigFileShareKeysFlagsWin) {
    test::TempDb file;  // any unique path will do
    {
        std::ofstream out(file.path());
        out << "db = \"/tmp/from-file.db\"\nhttp-listen = \"127.0.0.1:1234\"\n"
               "queue-size = 77\nudp-template-lifetime = 60\ntimestamp-fraction = \"ntp\"\n";
    }
    Config c;
    ASSERT_FALSE(parse({"--config", file.path(), "--queue-size", "5"}, c).has_value());
    EXPECT_EQ(c.store.path, "/tmp/from-file.db");
    EXPECT_EQ(c.http.listen, "127.0.0.1:1234");
    EXPECT_EQ(c.store.queue_capacity, 5u);
    EXPECT_EQ(c.processor.udp_template_lifetime_ns, 60'000'000'000u);
    EXPECT_EQ(c.routes.fraction_unit, analysis::FractionUnit::ntp);
}

TEST(CollectorConfig, BadValuesStopWithAnError) {
    Config c;
    EXPECT_NE(parse({"--queue-size", "lots"}, c).value_or(0), 0);
    EXPECT_NE(parse({"--timestamp-fraction", "fortnights"}, c).value_or(0), 0);
    EXPECT_NE(parse({"--no-such-flag"}, c).value_or(0), 0);
    EXPECT_EQ(parse({"--help"}, c).value_or(-1), 0);
}

TEST(CollectorConfig, CorrelationFlags) {
    Config c;
    ASSERT_FALSE(parse({}, c).has_value());
    EXPECT_EQ(c.correlator.window_ns, 2'000'000'000u);
    ASSERT_FALSE(parse({"--correlation-window", "0.5", "--correlation-max-pending", "100",
                        "--correlation-max-bytes", "1000000", "--timestamp-fraction", "ns"},
                       c)
                     .has_value());
    EXPECT_EQ(c.correlator.window_ns, 500'000'000u);
    EXPECT_EQ(c.correlator.max_pending, 100u);
    EXPECT_EQ(c.correlator.max_bytes, 1'000'000u);
    EXPECT_EQ(c.correlator.fraction_unit, analysis::FractionUnit::nanoseconds);
    Config bad;
    EXPECT_NE(parse({"--correlation-window", "0"}, bad).value_or(0), 0);
}

TEST(CollectorConfig, HttpLimitsMustBePositiveAndFinite) {
    Config c;
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"--http-max-connections", "0"},
          {"--http-max-connections", "-1"},
          {"--http-max-connections-per-client", "0"},
          {"--http-idle-timeout", "0"},
          {"--http-idle-timeout", "99999999999999999999"},
          {"--http-header-timeout", "0"},
          {"--http-request-timeout", "86401"},
          {"--http-rate", "0"},
          {"--http-rate", "-5"},
          {"--http-rate", "nan"},
          {"--http-rate", "inf"},
          {"--http-max-header", "10"},
          {"--http-threads", "0"}}) {
        EXPECT_NE(parse(bad, c).value_or(0), 0) << bad[0] << " " << bad[1];
    }
    ASSERT_FALSE(parse({"--http-idle-timeout", "7", "--http-header-timeout", "2",
                        "--http-max-connections-per-client", "3", "--http-rate", "0.5"},
                       c)
                     .has_value());
    EXPECT_EQ(c.http.idle_timeout, std::chrono::seconds(7));
    EXPECT_EQ(c.http.header_timeout, std::chrono::seconds(2));
    EXPECT_EQ(c.http.max_connections_per_client, 3u);
    EXPECT_EQ(c.http.max_requests_per_second, 0.5);
}

}  // namespace
}  // namespace ioam::collector
