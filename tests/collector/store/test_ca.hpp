#pragma once
// A throwaway certificate authority for TLS tests, made with the openssl command: ca.pem signs
// server.pem (key server.key) for `names` (subjectAltName entries, "DNS:localhost"); other.pem
// is a second CA that signed nothing. The directory is removed at scope exit. When openssl
// is missing or fails, why() says so and tests GTEST_SKIP with it.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/collector/net_helpers.hpp"

namespace ioam::collector::test {

class TestCa {
  public:
    explicit TestCa(const std::string& names) {
        static std::atomic<int> counter{0};
        dir_ = std::filesystem::temp_directory_path() /
               ("ioam-test-ca-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "ext.cnf") << "subjectAltName=" << names << "\n";
        const std::string d = dir_.string() + "/";
        // EC keys: generated in milliseconds, unlike RSA.
        const std::vector<std::string> key = {"-newkey", "ec", "-pkeyopt",
                                              "ec_paramgen_curve:prime256v1", "-nodes"};
        auto req = [&](std::vector<std::string> args) {
            args.insert(args.begin(), {"req"});
            args.insert(args.end(), key.begin(), key.end());
            return args;
        };
        for (const auto& args : {
                 req({"-x509", "-days", "2", "-subj", "/CN=ioam test CA", "-keyout", d + "ca.key",
                      "-out", d + "ca.pem"}),
                 req({"-x509", "-days", "2", "-subj", "/CN=ioam other CA", "-keyout",
                      d + "other.key", "-out", d + "other.pem"}),
                 req({"-subj", "/CN=ioam test server", "-keyout", d + "server.key", "-out",
                      d + "server.csr"}),
                 std::vector<std::string>{"x509", "-req", "-days", "2", "-in", d + "server.csr",
                                          "-CA", d + "ca.pem", "-CAkey", d + "ca.key",
                                          "-CAcreateserial", "-extfile", d + "ext.cnf", "-out",
                                          d + "server.pem"},
             }) {
            if (!openssl(args)) {
                return;
            }
        }
    }
    ~TestCa() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& why() const { return why_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::string ca() const { return (dir_ / "ca.pem").string(); }
    std::string other_ca() const { return (dir_ / "other.pem").string(); }

  private:
    bool openssl(std::vector<std::string> args) {
        std::string binary;
        for (const char* candidate : {"/usr/bin/openssl", "/usr/local/bin/openssl"}) {
            if (::access(candidate, X_OK) == 0) {
                binary = candidate;
                break;
            }
        }
        if (binary.empty()) {
            why_ = "the openssl command is not installed (Debian: apt-get install openssl)";
            return false;
        }
        args.insert(args.begin(), binary);
        Child child(args, (dir_ / "openssl.log").string());
        const int status = child.wait();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            why_ = "openssl " + args[1] + " failed: " + child.log();
            return false;
        }
        return true;
    }

    std::filesystem::path dir_;
    std::string why_;
};

}  // namespace ioam::collector::test
