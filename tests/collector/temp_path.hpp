#pragma once
// A unique temporary file path, its SQLite companions (-wal, -shm) removed at scope exit.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace ioam::collector::test {

class TempDb {
  public:
    TempDb() {
        static std::atomic<int> counter{0};
        path_ = (std::filesystem::temp_directory_path() /
                 ("ioam-collector-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++) + ".db"))
                    .string();
        remove();
    }
    ~TempDb() { remove(); }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
    const std::string& path() const { return path_; }

  private:
    void remove() {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(path_ + suffix, ec);
        }
    }
    std::string path_;
};

}  // namespace ioam::collector::test
