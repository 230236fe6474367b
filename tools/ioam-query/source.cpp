#include "tools/ioam-query/source.hpp"

#include <chrono>
#include <stdexcept>
#include <type_traits>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "collector/store/sqlite/sqlite_backend.hpp"

namespace ioam::tools::query {

namespace {

using nlohmann::json;

class SqliteSource final : public Source {
  public:
    SqliteSource(const std::string& path, analysis::FractionUnit unit)
        : reader_(store::open_sqlite_reader(path)), unit_(unit) {}

    std::vector<RecordRow> records(const store::TraceQuery& q) override {
        auto rows = check(reader_->query(q));
        std::vector<RecordRow> out;
        out.reserve(rows.size());
        for (const auto& r : rows) {
            RecordRow row;
            row.id = r.id;
            row.exporter = r.exporter;
            row.domain = r.domain;
            if (const auto* t = std::get_if<IoamTrace>(&r.record)) {
                row.time_ns = t->observation_time_ns;
                row.namespace_id = t->namespace_id;
                row.path = analysis::path_key(t->nodes);
                row.end_to_end_ns = analysis::end_to_end_ns(t->nodes, unit_);
            } else {
                const auto& d = std::get<DexReport>(r.record);
                row.kind = store::RecordKind::dex;
                row.time_ns = d.observation_time_ns;
                row.namespace_id = d.namespace_id;
                row.path = analysis::path_key({&d.node, 1});
                row.flow_id = d.flow_id;
                row.sequence = d.sequence_number;
            }
            out.push_back(std::move(row));
        }
        return out;
    }
    std::vector<store::PathSummary> paths(store::Window w, std::size_t limit) override {
        return check(reader_->paths(w, limit));
    }
    std::vector<store::NodeSummary> nodes(store::Window w, std::size_t limit) override {
        return check(reader_->nodes(w, limit));
    }
    std::vector<store::SegmentSummary> segments(store::Window w, std::size_t limit) override {
        return check(reader_->segments(w, limit));
    }
    std::size_t max_limit() const override { return 1'000'000; }

  private:
    template <typename T>
    static T check(Result<T> r) {
        if (!r) {
            throw std::runtime_error("store query failed");
        }
        return std::move(*r);
    }

    std::unique_ptr<store::TraceReader> reader_;
    analysis::FractionUnit unit_;
};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? fallback : it->get<T>();
}

template <typename T>
std::optional<T> get_opt(const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? std::nullopt : std::optional<T>(it->get<T>());
}

store::DelayStats delay(const json& j) {
    return {get_or<std::uint64_t>(j, "count", 0), get_or<std::int64_t>(j, "min_ns", 0),
            get_or<std::int64_t>(j, "max_ns", 0), get_or<double>(j, "mean_ns", 0)};
}

// The fields paths and segments share.
template <typename Summary>
void traffic(const json& j, Summary& s) {
    s.packets = get_or<std::uint64_t>(j, "packets", 0);
    s.lost = get_or<std::uint64_t>(j, "lost", 0);
    s.first_seen_ns = get_or<std::uint64_t>(j, "first_seen_ns", 0);
    s.last_seen_ns = get_or<std::uint64_t>(j, "last_seen_ns", 0);
    s.delay = delay(j.at("delay"));
    s.percentiles = {get_opt<std::int64_t>(j, "delay_p50_ns"),
                     get_opt<std::int64_t>(j, "delay_p90_ns"),
                     get_opt<std::int64_t>(j, "delay_p99_ns")};
}

class ApiSource final : public Source {
  public:
    ApiSource(const std::string& url, unsigned timeout_s) : timeout_(timeout_s) {
        constexpr std::string_view kScheme = "http://";
        if (!url.starts_with(kScheme)) {
            throw std::runtime_error("API address must start with http://: " + url);
        }
        std::string rest = url.substr(kScheme.size());
        if (const auto slash = rest.find('/'); slash != std::string::npos) {
            base_ = rest.substr(slash);
            rest.resize(slash);
            while (base_.ends_with('/')) {
                base_.pop_back();
            }
        }
        const auto colon = rest.rfind(':');
        if (colon == std::string::npos || colon + 1 == rest.size() ||
            rest.find(']', colon) != std::string::npos) {
            host_ = rest;
            port_ = "80";
        } else {
            host_ = rest.substr(0, colon);
            port_ = rest.substr(colon + 1);
        }
        if (host_.starts_with('[') && host_.ends_with(']')) {
            host_ = host_.substr(1, host_.size() - 2);
        }
        if (host_.empty()) {
            throw std::runtime_error("API address has no host: " + url);
        }
    }

    std::vector<RecordRow> records(const store::TraceQuery& q) override {
        std::string target = "/api/v1/records?limit=" + std::to_string(q.limit) +
                             "&cursor=" + std::to_string(q.after_id);
        const auto add = [&](const char* key, const auto& v) {
            if (v) {
                target += std::string("&") + key + "=" + std::to_string(*v);
            }
        };
        add("namespace", q.namespace_id);
        add("node", q.node_id);
        add("flow", q.flow_id);
        add("from", q.from_ns);
        add("to", q.to_ns);
        if (q.kind) {
            target += "&kind=" + std::to_string(static_cast<int>(*q.kind));
        }
        std::vector<RecordRow> out;
        const json body = get(target);  // not in the range-for: its temporary would dangle
        for (const json& r : body.at("records")) {
            RecordRow row;
            row.id = r.at("id").get<std::int64_t>();
            row.time_ns = r.at("observation_time_ns").get<std::uint64_t>();
            row.exporter = get_or<std::string>(r, "exporter", "");
            row.domain = get_or<std::uint32_t>(r, "domain", 0);
            row.namespace_id = get_or<std::uint16_t>(r, "namespace", 0);
            if (r.value("kind", "") == "dex") {
                row.kind = store::RecordKind::dex;
                const json& n = r.at("node");
                const auto id = get_opt<std::uint64_t>(n, "node_id_wide")
                                    .value_or(get_or<std::uint64_t>(n, "node_id", 0));
                row.path = std::to_string(id);
                row.flow_id = get_opt<std::uint32_t>(r, "flow_id");
                row.sequence = get_opt<std::uint32_t>(r, "sequence_number");
            } else {
                row.path = get_or<std::string>(r, "path", "");
                row.end_to_end_ns = get_opt<std::int64_t>(r, "end_to_end_ns");
            }
            out.push_back(std::move(row));
        }
        return out;
    }

    std::vector<store::PathSummary> paths(store::Window w, std::size_t limit) override {
        return summaries("paths", w, limit, [](const json& j) {
            store::PathSummary s;
            traffic(j, s);
            s.namespace_id = get_or<std::uint16_t>(j, "namespace", 0);
            for (const json& n : j.at("nodes")) {
                s.path += (s.path.empty() ? "" : ",") +
                          (n.is_null() ? std::string("?") : std::to_string(n.get<std::uint64_t>()));
            }
            return s;
        });
    }

    std::vector<store::NodeSummary> nodes(store::Window w, std::size_t limit) override {
        return summaries("nodes", w, limit, [](const json& j) {
            return store::NodeSummary{get_or<std::uint64_t>(j, "node_id", 0),
                                      get_or<std::uint64_t>(j, "first_seen_ns", 0),
                                      get_or<std::uint64_t>(j, "last_seen_ns", 0),
                                      get_or<std::uint64_t>(j, "records", 0),
                                      delay(j.at("transit_delay")),
                                      delay(j.at("segment_delay")),
                                      delay(j.at("queue_depth"))};
        });
    }

    std::vector<store::SegmentSummary> segments(store::Window w, std::size_t limit) override {
        return summaries("segments", w, limit, [](const json& j) {
            store::SegmentSummary s;
            traffic(j, s);
            s.from = get_or<std::uint64_t>(j, "from", 0);
            s.to = get_or<std::uint64_t>(j, "to", 0);
            return s;
        });
    }

    // The collector's --api-max-limit default: a larger limit is cut to it.
    std::size_t max_limit() const override { return 1000; }

  private:
    // The rows of /api/v1/{what}, each made by `row`.
    template <typename Row>
    std::vector<std::invoke_result_t<Row, const json&>> summaries(const char* what, store::Window w,
                                                                  std::size_t limit, Row&& row) {
        std::vector<std::invoke_result_t<Row, const json&>> out;
        const json body = get(summary_target(what, w, limit));
        for (const json& j : body.at(what)) {
            out.push_back(row(j));
        }
        return out;
    }

    static std::string summary_target(const char* what, store::Window w, std::size_t limit) {
        std::string t = std::string("/api/v1/") + what + "?limit=" + std::to_string(limit) +
                        "&from=" + std::to_string(w.from_ns);
        if (w.to_ns != UINT64_MAX) {
            t += "&to=" + std::to_string(w.to_ns);
        }
        return t;
    }

    json get(const std::string& target) {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        beast::tcp_stream stream(io);
        http::request<http::empty_body> req(http::verb::get, base_ + target, 11);
        req.set(http::field::host, host_);
        req.set(http::field::user_agent, "ioam-query");
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(256u << 20);
        beast::error_code result;
        stream.expires_after(std::chrono::seconds(timeout_));
        resolver.async_resolve(host_, port_, [&](beast::error_code ec, auto endpoints) {
            if (ec) {
                result = ec;
                return;
            }
            stream.async_connect(endpoints, [&](beast::error_code ec2, auto) {
                if (ec2) {
                    result = ec2;
                    return;
                }
                http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
                    if (ec3) {
                        result = ec3;
                        return;
                    }
                    http::async_read(stream, buffer, parser,
                                     [&](beast::error_code ec4, std::size_t) { result = ec4; });
                });
            });
        });
        io.run();
        const std::string where = "http://" + host_ + ":" + port_ + base_ + target;
        if (result) {
            throw std::runtime_error(where + ": " + result.message());
        }
        const auto& res = parser.get();
        json body = json::parse(res.body(), nullptr, false);
        if (res.result_int() != 200) {
            throw std::runtime_error(
                where + ": HTTP " + std::to_string(res.result_int()) +
                (body.is_object() && body.contains("error") ? " " + body["error"].dump() : ""));
        }
        if (body.is_discarded()) {
            throw std::runtime_error(where + ": the answer is not JSON");
        }
        return body;
    }

    unsigned timeout_;
    std::string host_, port_, base_;
};

}  // namespace

std::unique_ptr<Source> open_sqlite(const std::string& path, analysis::FractionUnit unit) {
    return std::make_unique<SqliteSource>(path, unit);
}

std::unique_ptr<Source> open_api(const std::string& url, unsigned timeout_s) {
    return std::make_unique<ApiSource>(url, timeout_s);
}

}  // namespace ioam::tools::query
