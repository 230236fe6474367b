#pragma once
// A real clickhouse-server for a test: its own temporary directory and configuration, free
// loopback ports, started as a child process (never through systemd), killed and its
// directory removed at scope exit. When it cannot start, why() says why and tests GTEST_SKIP
// with it.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/collector/net_helpers.hpp"

namespace ioam::collector::test {

// $IOAM_CLICKHOUSE_SERVER, else clickhouse-server on PATH or in the Debian package's place;
// empty when there is none.
inline std::string clickhouse_server_binary() {
    if (const char* binary = std::getenv("IOAM_CLICKHOUSE_SERVER"); binary != nullptr) {
        return ::access(binary, X_OK) == 0 ? binary : "";
    }
    std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/usr/bin";
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const auto candidate = std::filesystem::path(dir) / "clickhouse-server";
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
    }
    return {};
}

class ClickhouseServer {
  public:
    // `shard_tcp_ports`: the TCP ports of a cluster named "ioam", one shard each (this
    // server's own among them, as `tcp_port`); empty for no cluster. `tls_dir`: a directory
    // with server.pem and server.key, served on https_port() as well; empty for none.
    explicit ClickhouseServer(std::vector<std::uint16_t> shard_tcp_ports = {},
                              std::uint16_t tcp_port = 0, std::filesystem::path tls_dir = {})
        : tcp_port_(tcp_port != 0 ? tcp_port : free_port()),
          http_port_(free_port()),
          https_port_(free_port()),
          interserver_port_(free_port()),
          tls_dir_(std::move(tls_dir)) {
        static int counter = 0;
        remove_orphans();
        dir_ = std::filesystem::temp_directory_path() /
               (kPrefix + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir_);
        // A port picked free may be taken before the server binds it (tests run in
        // parallel): new ports, unless the cluster fixed the TCP one.
        for (int attempt = 0;; ++attempt) {
            write_config(shard_tcp_ports);
            start();
            if (why_.find("Address already in use") == std::string::npos || attempt == 3) {
                break;
            }
            http_port_ = free_port();
            https_port_ = free_port();
            interserver_port_ = free_port();
            if (tcp_port == 0) {
                tcp_port_ = free_port();
            }
        }
    }
    ~ClickhouseServer() {
        server_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    ClickhouseServer(const ClickhouseServer&) = delete;
    ClickhouseServer& operator=(const ClickhouseServer&) = delete;

    // Empty when the server answers /ping.
    const std::string& why() const { return why_; }
    std::uint16_t http_port() const { return http_port_; }
    std::uint16_t https_port() const { return https_port_; }
    std::uint16_t tcp_port() const { return tcp_port_; }

    // SIGKILL, as a crash would: what an INSERT acknowledged is on disk already.
    void kill() { server_.reset(); }

    // Starts the server on its directory and ports (again after kill()); waits until /ping
    // answers.
    void start() {
        why_.clear();
        const std::string binary = clickhouse_server_binary();
        if (binary.empty()) {
            why_ = "clickhouse-server is not installed (Debian: apt-get install clickhouse-server)";
            return;
        }
        const std::string log = (dir_ / ("server-" + std::to_string(starts_++) + ".log")).string();
        server_ = std::make_unique<Child>(
            std::vector<std::string>{binary, "--config-file=" + (dir_ / "config.xml").string()},
            log);
        const bool up = wait_for([&] {
            const auto pong = http_get(http_port_, "/ping");
            return (pong && pong->body == "Ok.\n") || server_->exited();
        });
        const auto pong = http_get(http_port_, "/ping");
        if (!up || !pong || pong->body != "Ok.\n") {
            const std::string text = server_->log();
            why_ = "clickhouse-server did not start: " +
                   text.substr(text.size() > 400 ? text.size() - 400 : 0);
            server_.reset();
        }
    }

  private:
    static constexpr const char* kPrefix = "ioam-clickhouse-test-";

    // Directories of test processes that were killed before they could remove theirs.
    static void remove_orphans() {
        std::error_code ec;
        for (const auto& entry :
             std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
            const std::string name = entry.path().filename().string();
            if (!name.starts_with(kPrefix)) {
                continue;
            }
            const long pid = std::strtol(name.c_str() + std::strlen(kPrefix), nullptr, 10);
            if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
                std::filesystem::remove_all(entry.path(), ec);
            }
        }
    }

    void write_config(const std::vector<std::uint16_t>& shards) const {
        std::ofstream out(dir_ / "config.xml");
        const std::string d = dir_.string();
        out << "<?xml version=\"1.0\"?>\n<yandex>\n"
            << "<logger><level>warning</level><console>1</console></logger>\n"
            << "<http_port>" << http_port_ << "</http_port>\n"
            << "<tcp_port>" << tcp_port_ << "</tcp_port>\n"
            << "<interserver_http_port>" << interserver_port_ << "</interserver_http_port>\n"
            << "<listen_host>127.0.0.1</listen_host>\n";
        if (!tls_dir_.empty()) {
            // The client's certificate is not asked for (verificationMode none): users
            // authenticate with a password.
            out << "<https_port>" << https_port_ << "</https_port>\n"
                << "<openSSL><server><certificateFile>" << (tls_dir_ / "server.pem").string()
                << "</certificateFile><privateKeyFile>" << (tls_dir_ / "server.key").string()
                << "</privateKeyFile><verificationMode>none</verificationMode>"
                << "<loadDefaultCAFile>false</loadDefaultCAFile></server></openSSL>\n";
        }
        out << "<path>" << d << "/data/</path>\n<tmp_path>" << d << "/tmp/</tmp_path>\n"
            << "<user_files_path>" << d << "/user_files/</user_files_path>\n"
            << "<format_schema_path>" << d << "/format_schemas/</format_schema_path>\n"
            << "<mark_cache_size>67108864</mark_cache_size>\n"
            << "<users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
            << "<profile>default</profile><quota>default</quota></default></users>\n"
            << "<profiles><default></default></profiles><quotas><default></default></quotas>\n"
            << "<default_profile>default</default_profile>\n"
            << "<default_database>default</default_database>\n";
        if (!shards.empty()) {
            out << "<remote_servers><ioam>\n";
            for (const auto port : shards) {
                out << "<shard><replica><host>127.0.0.1</host><port>" << port
                    << "</port></replica></shard>\n";
            }
            out << "</ioam></remote_servers>\n";
        }
        out << "</yandex>\n";
    }

    std::uint16_t tcp_port_;
    std::uint16_t http_port_;
    std::uint16_t https_port_;
    std::uint16_t interserver_port_;
    std::filesystem::path tls_dir_;
    std::filesystem::path dir_;
    std::unique_ptr<Child> server_;
    int starts_ = 0;
    std::string why_;
};

}  // namespace ioam::collector::test
