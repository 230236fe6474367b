// The committed capture of tests/data/kernel-events (see its README.md), decoded field by
// field against the configuration of scripts/capture-ioam-events.py.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/common/ioam/kernel_events_check.hpp"

namespace ioam {
namespace {

using json = nlohmann::json;

json load_fixture() {
    std::ifstream in(IOAM_TEST_DATA_DIR "/kernel-events/ioam6-trace-events.json");
    return json::parse(in);
}

TEST(KernelEvents, FixtureHasEveryProbeAndNoStrayEvent) {
    const json doc = load_fixture();
    EXPECT_EQ(doc.at("probes").size(), 11u);
    EXPECT_TRUE(doc.at("unmatched_events").at("rcv").empty());
    EXPECT_TRUE(doc.at("unmatched_events").at("rtr").empty());
}

TEST(KernelEvents, DecodeFieldByFieldAgainstConfiguration) {
    test::check_capture_events(load_fixture(), /*require_nodelen_fix=*/true);
}

TEST(KernelEvents, SentOptionsParse) {
    test::check_sent_options(load_fixture());
}

}  // namespace
}  // namespace ioam
