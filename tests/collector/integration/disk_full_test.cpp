// The collector's database on a small tmpfs that fills up while a TCP exporter keeps sending:
// the store retries, says so once in the log, counts the failures and turns /readyz to 503;
// once the file system grows, every record sent is stored and /readyz is 200 again. Needs root
// (mount); SKIPPED otherwise.

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "tests/collector/collector_process.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;

// A tmpfs mounted on a fresh directory, unmounted and removed at scope exit.
class Tmpfs {
  public:
    explicit Tmpfs(std::size_t bytes) : dir_(temp_name("tmpfs")) {
        std::filesystem::create_directories(dir_);
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                    ("mode=0700,size=" + std::to_string(bytes)).c_str()) != 0) {
            error_ = std::strerror(errno);
            std::filesystem::remove(dir_);
        }
    }
    ~Tmpfs() {
        if (error_.empty()) {
            // Lazily, in case a process the test started still holds a file open.
            ::umount2(dir_.c_str(), MNT_DETACH);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;

    // Empty when mounted.
    const std::string& error() const { return error_; }
    const std::string& dir() const { return dir_; }
    bool resize(std::size_t bytes) {
        return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                       ("mode=0700,size=" + std::to_string(bytes)).c_str()) == 0;
    }
    std::size_t used() const {
        struct statvfs st {};
        ::statvfs(dir_.c_str(), &st);
        return (st.f_blocks - st.f_bfree) * st.f_frsize;
    }

  private:
    std::string dir_;
    std::string error_;
};

std::size_t count_matches(const std::string& text, const std::regex& re) {
    return static_cast<std::size_t>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

TEST(CollectorDiskFull, RetriesLogsOnceAndStoresEveryTcpRecordOnceThereIsRoom) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "SKIPPED LOUDLY: mounting a tmpfs needs root";
    }
    Tmpfs fs(8u << 20);
    if (!fs.error().empty()) {
        GTEST_SKIP() << "SKIPPED LOUDLY: cannot mount a tmpfs here: " << fs.error();
    }
    const std::string db = fs.dir() + "/collector.db";
    Collector c(db, {"--queue-size", "64", "--batch-size", "16"});
    ASSERT_NE(c.tcp_port, 0) << c.child().log();
    const auto ready = [&] {
        const auto r = http_get(c.http_port, "/readyz");
        return r ? r->status : 0;
    };
    ASSERT_TRUE(wait_for([&] { return ready() == 200; }));
    // Room for a few batches beyond the empty database: the file system fills within seconds.
    ASSERT_TRUE(fs.resize(fs.used() + (64u << 10))) << std::strerror(errno);

    constexpr int kMessages = 300;
    constexpr int kPerMessage = 20;
    constexpr double kRecords = kMessages * kPerMessage;
    // Sends from its own thread: back-pressure blocks it once the socket buffers are full.
    std::jthread exporter([port = c.tcp_port] {
        try {
            TcpSender tcp(port);
            for (int i = 0; i < kMessages; ++i) {
                tcp.send(traces_message(static_cast<std::uint32_t>(i * kPerMessage),
                                        make_trace({1, 2, static_cast<std::uint32_t>(i)}),
                                        kPerMessage));
            }
        } catch (const std::exception& e) {
            std::cerr << "exporter: " << e.what() << "\n";  // the counts below fail the test
        }
    });
    // On a failed assertion the collector dies before `exporter` is joined, so that a send
    // blocked by back-pressure ends.
    struct KillFirst {
        Child& child;
        ~KillFirst() { child.signal(SIGKILL); }
    } kill_first{c.child()};
    const auto full_since = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_for([&] { return c.metric("ioam_collector_store_errors_total") >= 3; }))
        << c.child().log();
    EXPECT_EQ(ready(), 503);
    EXPECT_LT(c.metric("ioam_collector_store_written_total"), kRecords);
    const std::string log = c.child().log();
    const std::regex failed("writing a batch of \\d+ records failed, retrying: .*full");
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - full_since)
                             .count();
    const std::size_t lines = count_matches(log, failed);
    EXPECT_GE(lines, 1u) << log;
    // At most one line per 10 s, however often the batch is retried.
    EXPECT_LE(lines, 1 + static_cast<std::size_t>(seconds) / 10) << log;

    ASSERT_TRUE(fs.resize(64u << 20)) << std::strerror(errno);
    ASSERT_TRUE(wait_for([&] {
        return c.metric("ioam_collector_store_written_total") == kRecords;
    })) << c.child().log();
    exporter.join();
    EXPECT_EQ(ready(), 200);
    EXPECT_EQ(c.metric("ioam_collector_store_dropped_total"), 0);
    EXPECT_NE(c.child().log().find("store: writing again"), std::string::npos);

    store::SqliteStore store(reopen(db));
    const auto rows = store.query({.limit = 100000});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), std::size_t{kMessages * kPerMessage});
    for (std::size_t i = 0; i < rows->size(); i += kPerMessage) {
        EXPECT_EQ(std::get<IoamTrace>((*rows)[i].record),
                  make_trace({1, 2, static_cast<std::uint32_t>(i / kPerMessage)}))
            << "record " << i;
    }
}

}  // namespace
}  // namespace ioam::collector
