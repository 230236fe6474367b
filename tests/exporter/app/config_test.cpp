#include "exporter/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace ioam::exporter {
namespace {

std::optional<int> parse(std::vector<std::string> args, ExporterConfig& cfg) {
    args.insert(args.begin(), "ioam-exporter");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    return parse_config(static_cast<int>(argv.size()), argv.data(), cfg);
}

std::string write_file(const std::string& name, const std::string& text) {
    const auto path = ::testing::TempDir() + name + "-" + std::to_string(getpid());
    std::ofstream(path) << text;
    return path;
}

TEST(Config, Flags) {
    ExporterConfig cfg;
    ASSERT_FALSE(parse({"--collector",
                        "udp://127.0.0.1:4739",
                        "--collector",
                        "tcp://[::1]:4740",
                        "--domain-id",
                        "7",
                        "--mtu",
                        "9000",
                        "--flush-interval",
                        "250",
                        "--template-refresh",
                        "5",
                        "--sample",
                        "1/10",
                        "--print",
                        "json",
                        "--metrics-listen",
                        "127.0.0.1:9556",
                        "--log-level",
                        "debug",
                        "--rcvbuf",
                        "1048576",
                        "--netns",
                        "r1",
                        "--no-hops"},
                       cfg));
    ASSERT_EQ(cfg.collectors.size(), 2u);
    EXPECT_EQ(cfg.collectors[0].to_string(), "udp://127.0.0.1:4739");
    EXPECT_EQ(cfg.collectors[1].transport, sink::Transport::tcp);
    EXPECT_EQ(cfg.collectors[1].host, "::1");
    EXPECT_EQ(cfg.domain_id, 7u);
    EXPECT_EQ(cfg.mtu, 9000u);
    EXPECT_EQ(cfg.flush_interval.count(), 250);
    EXPECT_EQ(cfg.template_refresh.count(), 5);
    EXPECT_EQ(cfg.sample_one_in, 10u);
    EXPECT_TRUE(cfg.print_json);
    EXPECT_EQ(cfg.metrics_listen, "127.0.0.1:9556");
    EXPECT_EQ(cfg.log_level, "debug");
    EXPECT_EQ(cfg.rcvbuf, 1048576);
    EXPECT_EQ(cfg.netns, "r1");
    EXPECT_FALSE(cfg.hop_list);
}

TEST(Config, Defaults) {
    ExporterConfig cfg;
    ASSERT_FALSE(parse({"--collector", "udp://c"}, cfg));
    EXPECT_EQ(cfg.collectors[0].port, 4739);
    EXPECT_EQ(cfg.mtu, 1400u);
    EXPECT_EQ(cfg.flush_interval.count(), 100);
    EXPECT_EQ(cfg.template_refresh.count(), 30);
    EXPECT_EQ(cfg.sample_one_in, 1u);
    EXPECT_TRUE(cfg.hop_list);
    EXPECT_FALSE(cfg.print_json);
    EXPECT_FALSE(cfg.metrics_listen.has_value());
    EXPECT_TRUE(cfg.netns.empty());
}

TEST(Config, KeyValueFileWithFlagsOverriding) {
    const auto path = write_file("exporter.conf",
                                 "# ioam-exporter\n"
                                 "collector = [\"udp://10.0.0.1:4739\", \"tcp://10.0.0.2\"]\n"
                                 "domain-id = 3\n"
                                 "mtu = 1200\n"
                                 "sample = \"1/8\"\n"
                                 "print = json\n");
    ExporterConfig cfg;
    ASSERT_FALSE(parse({"--config", path, "--mtu", "1300"}, cfg));
    ASSERT_EQ(cfg.collectors.size(), 2u);
    EXPECT_EQ(cfg.collectors[1].to_string(), "tcp://10.0.0.2:4739");
    EXPECT_EQ(cfg.domain_id, 3u);
    EXPECT_EQ(cfg.mtu, 1300u);  // the flag wins
    EXPECT_EQ(cfg.sample_one_in, 8u);
    EXPECT_TRUE(cfg.print_json);
}

TEST(Config, JsonFile) {
    const auto path = write_file("exporter.json",
                                 R"({"collector": ["udp://[2001:db8::1]:9999"], "domain-id": 11,
                                     "flush-interval": 20, "no-hops": true,
                                     "metrics-listen": "[::]:9556"})");
    ExporterConfig cfg;
    ASSERT_FALSE(parse({"--config", path}, cfg));
    ASSERT_EQ(cfg.collectors.size(), 1u);
    EXPECT_EQ(cfg.collectors[0].host, "2001:db8::1");
    EXPECT_EQ(cfg.collectors[0].port, 9999);
    EXPECT_EQ(cfg.domain_id, 11u);
    EXPECT_EQ(cfg.flush_interval.count(), 20);
    EXPECT_FALSE(cfg.hop_list);
    EXPECT_EQ(cfg.metrics_listen, "[::]:9556");
}

TEST(Config, RejectsWhatCannotWork) {
    ExporterConfig a;
    EXPECT_NE(parse({}, a).value_or(0), 0);  // nowhere to export to
    ExporterConfig b;
    EXPECT_NE(parse({"--collector", "sctp://x"}, b).value_or(0), 0);
    ExporterConfig c;
    EXPECT_NE(parse({"--print", "json", "--sample", "2/3"}, c).value_or(0), 0);
    ExporterConfig d;
    EXPECT_NE(parse({"--print", "json", "--mtu", "10"}, d).value_or(0), 0);
    ExporterConfig e;
    EXPECT_NE(
        parse({"--print", "json", "--config", write_file("bad.json", "{nope")}, e).value_or(0), 0);
    ExporterConfig f;
    EXPECT_EQ(parse({"--help"}, f).value_or(-1), 0);
}

std::pair<int, std::string> refusal(std::vector<std::string> args) {
    ExporterConfig cfg;
    args.insert(args.begin(), {"--print", "json"});
    ::testing::internal::CaptureStderr();
    const int code = parse(std::move(args), cfg).value_or(0);
    return {code, ::testing::internal::GetCapturedStderr()};
}

// Issue 12.7: negative and overflowing numbers, config files that are not key = value lines or
// one JSON object, unknown keys and a --netns that is no network namespace: one line each.
TEST(Config, RefusedWithOneLine) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--domain-id", "-1"},
             {"--domain-id", "4294967296"},
             {"--mtu", "-1"},
             {"--flush-interval", "18446744073709551617"},
             {"--template-refresh", "0"},
             {"--rcvbuf", "-65536"},
             {"--tcp-buffer", "99999999999999999999"},
             {"--config", write_file("unknown.conf", "mtu = 1200\nbogus = 1\n")},
             {"--config", write_file("unknown.json", R"({"mtu": 1200, "bogus": 1})")},
             {"--config", write_file("array.json", R"([{"mtu": 1200}])")},
             {"--config", write_file("scalar.json", "\"mtu\"")},
             {"--config", write_file("section.conf", "[exporter]\nmtu = 1200\n")},
             {"--config", write_file("binary.conf", std::string("\x7f"
                                                                "ELF\x02\x01\0\0",
                                                                8))},
             {"--netns", "/etc/hostname"},
             {"--netns", "/proc/self/ns/uts"},
         }) {
        const auto [code, err] = refusal(args);
        EXPECT_NE(code, 0) << args[0] << " " << args[1];
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_EQ(err.rfind("ioam-exporter: ", 0), 0u) << err;
    }
    EXPECT_NE(refusal({"--netns", "/etc/hostname"}).second.find("not a network namespace"),
              std::string::npos);
    EXPECT_NE(refusal({"--config", write_file("u.conf", "bogus = 1\n")}).second.find("bogus"),
              std::string::npos);
    ExporterConfig ok;
    EXPECT_FALSE(parse({"--print", "json", "--netns", "/proc/self/ns/net"}, ok).has_value());
}

TEST(Config, Sample) {
    EXPECT_EQ(parse_sample("1/1"), 1u);
    EXPECT_EQ(parse_sample("1/100"), 100u);
    EXPECT_FALSE(parse_sample("1/0"));
    EXPECT_FALSE(parse_sample("2/3"));
    EXPECT_FALSE(parse_sample("1/x"));
    EXPECT_FALSE(parse_sample("10"));
}

}  // namespace
}  // namespace ioam::exporter
