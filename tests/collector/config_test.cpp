#include "collector/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// The first line the parser printed on stderr for `args`, and its exit code.
std::pair<int, std::string> refusal(std::vector<std::string> args) {
    Config c;
    ::testing::internal::CaptureStderr();
    const int code = parse(std::move(args), c).value_or(0);
    std::string err = ::testing::internal::GetCapturedStderr();
    return {code, err};
}

std::string write(const test::TempDb& file, const std::string& text) {
    std::ofstream(file.path(), std::ios::binary) << text;
    return file.path();
}

// Issue 12.7: values that cannot work are refused at start-up with one line, not accepted to
// hang (batch size 0), wrap (negative numbers as 2^64-1) or saturate (overflow).
TEST(CollectorConfig, ValuesThatCannotWorkAreRefusedWithOneLine) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--batch-size", "0"},
             {"--queue-size", "0"},
             {"--retention-size", "1"},
             {"--max-sessions", "-1"},
             {"--queue-size", "-5"},
             {"--retention-age", "99999999999999999999999"},
             {"--udp-template-lifetime", "18446744073709551615"},
             {"--tcp-idle-timeout", "-1"},
             {"--max-tcp-connections", "0"},
             {"--udp-receive-buffer", "4294967296"},
             {"--udp-queue-bytes", "65536"},
             {"--udp-queue-bytes", "17179869185"},
             {"--reorder-window", "1e3"},
             {"--max-sequence-gap", "0"},
         }) {
        const auto [code, err] = refusal(args);
        EXPECT_NE(code, 0) << args[0] << " " << args[1];
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_EQ(err.rfind("ioam-collector: ", 0), 0u) << err;
    }
    Config c;
    ASSERT_FALSE(parse({"--retention-size", "0", "--tcp-idle-timeout", "0"}, c).has_value());
    EXPECT_EQ(c.store.retention_max_bytes, 0u);  // 0 still means unlimited
    EXPECT_EQ(c.listener.tcp_idle_timeout_s, 0u);
}

TEST(CollectorConfig, ConfigFilesOtherThanKeyValuesOrAJsonObjectAreErrors) {
    test::TempDb file;
    EXPECT_EQ(refusal({"--config", write(file, "db = \"x.db\"\nno-such-key = 1\n")}).second,
              "ioam-collector: config file: unknown key 'no-such-key'\n");
    EXPECT_NE(refusal({"--config", write(file, "[1, 2, 3]\n")}).first, 0);
    EXPECT_NE(refusal({"--config", write(file, "[\"db\"]\n")}).first, 0);
    EXPECT_NE(refusal({"--config", write(file, "[section]\ndb = \"x.db\"\n")}).first, 0);
    EXPECT_NE(refusal({"--config", write(file, "42")}).first, 0);
    EXPECT_NE(refusal({"--config", write(file, std::string("\x7f"
                                                           "ELF\x02\x01\x01\0\0",
                                                           9))})
                  .first,
              0);
    EXPECT_EQ(refusal({"--config", write(file, "{\"db\": \"x.db\", \"bogus\": 1}")}).second,
              "ioam-collector: config file: unknown key 'bogus'\n");
    Config c;
    ASSERT_FALSE(parse({"--config", write(file, "{\"db\": \"/tmp/j.db\", \"queue-size\": 9}")}, c)
                     .has_value());
    EXPECT_EQ(c.store.path, "/tmp/j.db");
    EXPECT_EQ(c.store.queue_capacity, 9u);
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
