// common/log: JSON lines that parse whatever the message holds, and a log file that reopen()
// moves to a new file after a rotation (what SIGHUP does in both daemons).
#include "common/log/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

class LogFile : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("ioam-log-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        // Back to stderr: the file sink must not outlive the directory.
        ioam::log::setup("ioam-test", "info", {});
        fs::remove_all(dir_);
    }
    fs::path dir_;
};

TEST(JsonEscape, QuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(ioam::log::json_escape("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
    EXPECT_EQ(ioam::log::json_escape("plain"), "plain");
    EXPECT_EQ(ioam::log::json_escape("bad \xff utf-8"), "bad \xef\xbf\xbd utf-8");
}

TEST_F(LogFile, JsonLinesParseWhateverTheMessageHolds) {
    const auto file = dir_ / "x.log";
    ioam::log::setup("ioam-test", "info", {.format = "json", .file = file.string()});
    spdlog::info("exporter \"{}\" said {}", "10.0.0.1", "line\nbreak \\ done");
    spdlog::debug("below the level");
    const auto lines = lines_of(file);
    ASSERT_EQ(lines.size(), 1u);
    const auto j = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["logger"], "ioam-test");
    EXPECT_EQ(j["message"], "exporter \"10.0.0.1\" said line\nbreak \\ done");
    EXPECT_TRUE(j["time"].get<std::string>().starts_with("20"));
}

TEST_F(LogFile, ReopenWritesToTheNewFileAfterARotation) {
    const auto file = dir_ / "x.log";
    ioam::log::setup("ioam-test", "info", {.format = "text", .file = file.string()});
    spdlog::info("before rotation");
    fs::rename(file, dir_ / "x.log.1");
    spdlog::info("still the old file");
    ioam::log::reopen();
    spdlog::info("after rotation");
    const auto old_lines = lines_of(dir_ / "x.log.1");
    ASSERT_EQ(old_lines.size(), 2u);
    EXPECT_NE(old_lines[1].find("still the old file"), std::string::npos);
    const auto new_lines = lines_of(file);
    ASSERT_EQ(new_lines.size(), 2u);
    EXPECT_NE(new_lines[0].find("log file reopened"), std::string::npos);
    EXPECT_NE(new_lines[1].find("after rotation"), std::string::npos);
}

TEST_F(LogFile, AFileThatCannotBeOpenedIsNamedWithTheReason) {
    const auto file = dir_ / "missing-dir" / "x.log";
    try {
        ioam::log::setup("ioam-test", "info", {.format = "text", .file = file.string()});
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot open log file " + file.string() + ": No such file or directory");
    }
}

}  // namespace
