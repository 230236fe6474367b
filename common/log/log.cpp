#include "common/log/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ioam::log {
namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_append(const std::string& path) {
    File f(std::fopen(path.c_str(), "a"));
    if (!f) {
        throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
    }
    return f;
}

// A file sink whose file can be reopened under the sink's own lock (spdlog's file sinks
// cannot). Every line is flushed: logs are rare and must survive a crash.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit ReopenableFileSink(std::string path)
        : path_(std::move(path)), file_(open_append(path_)) {}

    // The error, empty on success; the old file stays in use on failure.
    std::string reopen() {
        std::lock_guard lock(mutex_);
        try {
            file_ = open_append(path_);
            return {};
        } catch (const std::runtime_error& e) {
            return e.what();
        }
    }

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        std::fwrite(buf.data(), 1, buf.size(), file_.get());
        std::fflush(file_.get());
    }
    void flush_() override { std::fflush(file_.get()); }

  private:
    const std::string path_;
    File file_;
};

// %* in a pattern: the message as the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto escaped = json_escape({msg.payload.data(), msg.payload.size()});
        dest.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonMessage>();
    }
};

std::shared_ptr<ReopenableFileSink>& file_sink() {
    static std::shared_ptr<ReopenableFileSink> sink;
    return sink;
}

}  // namespace

void add_options(CLI::App& app, Output& out) {
    app.add_option("--log-format", out.format,
                   "text, or json: one object per line with time, level, logger, message")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--log-file", out.file,
                   "Append logs to FILE instead of stderr; SIGHUP reopens it (log rotation)");
}

std::string json_escape(std::string_view text) {
    // Invalid UTF-8 (a hostile exporter's name, say) becomes U+FFFD instead of an exception.
    const auto quoted = nlohmann::json(std::string(text))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return quoted.substr(1, quoted.size() - 2);
}

void setup(const std::string& program, const std::string& level, const Output& out) {
    spdlog::sink_ptr sink;
    if (out.file.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        file_sink().reset();
    } else {
        file_sink() = std::make_shared<ReopenableFileSink>(out.file);
        sink = file_sink();
    }
    auto logger = std::make_shared<spdlog::logger>(program, std::move(sink));
    if (out.format == "json") {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<JsonMessage>('*').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","logger":"%n","message":"%*"})");
        logger->set_formatter(std::move(formatter));
    }
    logger->set_level(spdlog::level::from_str(level));
    spdlog::set_default_logger(std::move(logger));
}

void reopen() {
    if (const auto sink = file_sink()) {
        if (auto error = sink->reopen(); error.empty()) {
            spdlog::info("log file reopened");
        } else {
            spdlog::error("{}", error);
        }
    }
}

}  // namespace ioam::log
