// Runs scripts/capture-ioam-events.py against the running kernel (root, network namespaces)
// and checks the fresh capture like the committed fixture. Label: kernel.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/common/ioam/kernel_events_check.hpp"

namespace ioam {
namespace {

constexpr int kUnsupported = 77;  // the script's exit code when the kernel or user can't

// Removes the capture file on every exit path of the test.
struct TempFile {
    std::filesystem::path path;
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

TEST(KernelCaptureLive, FreshCaptureDecodesAgainstConfiguration) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "SKIPPED LOUDLY: needs root for network namespaces, CAP_NET_ADMIN "
                        "(ioam6_events group) and CAP_NET_RAW (IPV6_HOPOPTS)";
    }
    const TempFile out{std::filesystem::temp_directory_path() /
                       ("ioam-capture-" + std::to_string(getpid()) + ".json")};
    const std::string cmd = "python3 " IOAM_SOURCE_DIR
                            "/scripts/capture-ioam-events.py capture -o " +
                            out.path.string();
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << cmd;
    if (WEXITSTATUS(status) == kUnsupported) {
        GTEST_SKIP() << "SKIPPED LOUDLY: this kernel or environment has no IOAM6 trace events "
                        "(see the capture script's message above)";
    }
    ASSERT_EQ(WEXITSTATUS(status), 0) << cmd;

    std::ifstream in(out.path);
    const auto doc = nlohmann::json::parse(in);
    EXPECT_TRUE(doc.at("unmatched_events").at("rcv").empty());
    test::check_capture_events(doc, /*require_nodelen_fix=*/false);
    test::check_sent_options(doc);
}

}  // namespace
}  // namespace ioam
