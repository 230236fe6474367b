// The example configuration files in deploy/config/ parse with the binaries' own parsers and
// mean what their comments say.

#include <gtest/gtest.h>

#include <string>

#include "collector/config.hpp"
#include "exporter/config.hpp"

namespace ioam {
namespace {

const std::string kConfigDir = IOAM_SOURCE_DIR "/deploy/config/";

TEST(ExampleConfig, CollectorFileParses) {
    const std::string file = kConfigDir + "ioam-collector.conf";
    const char* argv[] = {"ioam-collector", "--config", file.c_str()};
    collector::Config c;
    ASSERT_EQ(collector::parse_config(3, argv, c), std::nullopt);
    EXPECT_EQ(c.listener.udp_listen, "[::]:4739");
    EXPECT_EQ(c.listener.tcp_listen, "[::]:4739");
    EXPECT_EQ(c.http.listen, "127.0.0.1:9555");
    EXPECT_EQ(c.store.path, "/var/lib/ioam-collector/ioam.db");
    EXPECT_EQ(c.store.retention_age_s, 604800u);
}

TEST(ExampleConfig, ExporterFileParses) {
    const std::string file = kConfigDir + "ioam-exporter.conf";
    const char* argv[] = {"ioam-exporter", "--config", file.c_str()};
    exporter::ExporterConfig c;
    ASSERT_EQ(exporter::parse_config(3, argv, c), std::nullopt);
    ASSERT_EQ(c.collectors.size(), 1u);
    EXPECT_EQ(c.domain_id, 1u);
    EXPECT_EQ(c.sample_one_in, 1u);
    EXPECT_EQ(c.metrics_listen, "127.0.0.1:9556");
}

}  // namespace
}  // namespace ioam
