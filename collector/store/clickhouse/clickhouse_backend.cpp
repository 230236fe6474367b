#include "collector/store/clickhouse/clickhouse_backend.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "collector/analysis/delay.hpp"
#include "collector/store/clickhouse/http_client.hpp"
#include "collector/store/clickhouse/row_binary.hpp"
#include "collector/store/record_codec.hpp"
#include "common/net/host_port.hpp"

namespace ioam::collector::store {

namespace {

using namespace clickhouse;
using namespace std::chrono_literals;

constexpr int kCollectorShift = 40;  // 2^40 ids per collector
constexpr std::uint32_t kMaxCollector = (1u << (53 - kCollectorShift)) - 1;  // ids stay < 2^53
constexpr auto kTimeout = 30s;
constexpr auto kMutationWait = 60s;
constexpr auto kSizeEvery = 5s;
constexpr std::size_t kMaxErrorText = 300;
constexpr std::size_t kMaxIdList = 10000;  // ids in one IN (...): the query stays < 256 KiB
constexpr int kConvertSlices = 16;         // schema 1's rollups are converted a 16th at a time

// A rollup from schema 2 on: NAME_batches holds one row per (batch, minute, key) as written
// (what a retried batch looks for), and a materialized view folds each insert into
// NAME_minutes, an AggregatingMergeTree whose merges leave one row per (minute, key): a
// summary reads a row per minute and key, not one per batch. Schema 1 kept only the per-batch
// rows (v1_table, histograms encoded), summed at query time.
struct RollupSpec {
    std::string_view name;
    std::string_view key_columns;  // with their types
    std::string_view key;
    std::vector<std::string_view> moments;  // prefixes of count, sum, min, max columns
    bool lost_and_hist;                     // paths and segments; nodes have neither
    std::string_view v1_table;
};
const RollupSpec kPathRollup{
    "path", "namespace UInt16, path String", "namespace, path", {"d"}, true, "rollup_paths"};
const RollupSpec kNodeRollup{"node", "node UInt64", "node", {"t", "s", "q"}, false, "rollup_nodes"};
const RollupSpec kSegmentRollup{"segment", "src UInt64, dst UInt64", "src, dst", {"d"},
                                true,      "rollup_segments"};
const RollupSpec* const kRollups[] = {&kPathRollup, &kNodeRollup, &kSegmentRollup};

// Calls column(name, type, aggregate) for each value column after the key, in order.
template <typename F>
void for_each_value(const RollupSpec& s, F&& column) {
    column("packets", "Float64", "sum");
    column("first_ns", "UInt64", "min");
    column("last_ns", "UInt64", "max");
    if (s.lost_and_hist) {
        column("lost", "Float64", "sum");
    }
    for (const auto prefix : s.moments) {
        const std::string p(prefix);
        column(p + "_count", "UInt64", "sum");
        column(p + "_sum", "Float64", "sum");
        column(p + "_min", "Int64", "min");  // a minute without values writes INT64_MAX
        column(p + "_max", "Int64", "max");  // and INT64_MIN
    }
}

std::vector<std::string> rollup_schema(const RollupSpec& s) {
    const std::string name(s.name);
    const std::string key(s.key);
    std::string batches = "CREATE TABLE IF NOT EXISTS DB." + name +
                          "_batches (batch UInt64, minute UInt64, " + std::string(s.key_columns);
    std::string minutes = "CREATE TABLE IF NOT EXISTS DB." + name + "_minutes (minute UInt64, " +
                          std::string(s.key_columns);
    std::string view = "CREATE MATERIALIZED VIEW IF NOT EXISTS DB." + name + "_minutes_mv TO DB." +
                       name + "_minutes AS SELECT minute, " + key;
    for_each_value(s, [&](const std::string& c, std::string_view type, std::string_view agg) {
        batches += ", " + c + " " + std::string(type);
        minutes +=
            ", " + c + " AggregateFunction(" + std::string(agg) + ", " + std::string(type) + ")";
        view += ", " + std::string(agg) + "State(" + c + ") AS " + c;
    });
    if (s.lost_and_hist) {
        batches += ", hist_bucket Array(UInt16), hist_count Array(UInt64)";
        minutes += ", hist AggregateFunction(sumMap, Array(UInt16), Array(UInt64))";
        view += ", sumMapState(hist_bucket, hist_count) AS hist";
    }
    return {batches + ") ENGINE = MergeTree() ORDER BY batch",
            minutes + ") ENGINE = AggregatingMergeTree() ORDER BY (minute, " + key + ")",
            view + " FROM DB." + name + "_batches GROUP BY minute, " + key};
}

// The schema, version by version; "DB" is the database. CREATE ... IF NOT EXISTS throughout,
// so that a migration interrupted half way (or run by two collectors at once) runs again.
// Records are ordered by id (the cursor of every query) and partitioned by day of observation.
// Migration 2 also converts schema 1's rollup rows (convert_v1_rollups()).
std::vector<std::vector<std::string>> migrations() {
    std::vector<std::vector<std::string>> out = {{
        "CREATE TABLE IF NOT EXISTS DB.records (id Int64, time_ns UInt64, kind UInt8, "
        "exporter String, domain UInt32, obs_domain UInt32, namespace UInt16, trace_type UInt32, "
        "node_len UInt8, flags UInt8, ext_flags UInt8, flow_id Nullable(UInt32), "
        "seq Nullable(UInt32), raw String, nodes String, path String, node_ids Array(UInt64)) "
        "ENGINE = MergeTree() PARTITION BY intDiv(time_ns, 86400000000000) ORDER BY id",
        "CREATE TABLE IF NOT EXISTS DB.high_water (id Int64) ENGINE = MergeTree() ORDER BY id",
        "CREATE TABLE IF NOT EXISTS DB.rollup_paths (batch UInt64, minute UInt64, "
        "namespace UInt16, path String, packets Float64, first_ns UInt64, last_ns UInt64, "
        "lost Float64, d_count UInt64, d_sum Float64, d_min Int64, d_max Int64, hist String) "
        "ENGINE = MergeTree() ORDER BY (minute, namespace, path)",
        "CREATE TABLE IF NOT EXISTS DB.rollup_nodes (batch UInt64, minute UInt64, node UInt64, "
        "packets Float64, first_ns UInt64, last_ns UInt64, t_count UInt64, t_sum Float64, "
        "t_min Int64, t_max Int64, s_count UInt64, s_sum Float64, s_min Int64, s_max Int64, "
        "q_count UInt64, q_sum Float64, q_min Int64, q_max Int64) "
        "ENGINE = MergeTree() ORDER BY (minute, node)",
        "CREATE TABLE IF NOT EXISTS DB.rollup_segments (batch UInt64, minute UInt64, src UInt64, "
        "dst UInt64, packets Float64, first_ns UInt64, last_ns UInt64, lost Float64, "
        "d_count UInt64, d_sum Float64, d_min Int64, d_max Int64, hist String) "
        "ENGINE = MergeTree() ORDER BY (minute, src, dst)",
    }};
    auto& v2 = out.emplace_back();
    for (const RollupSpec* s : kRollups) {
        for (auto& sql : rollup_schema(*s)) {
            v2.push_back(std::move(sql));
        }
    }
    return out;
}

// Tables a collector reads through the cluster's Distributed tables.
constexpr std::string_view kShardedTables[] = {"records", "path_minutes", "node_minutes",
                                               "segment_minutes"};

constexpr const char* kRecordColumns =
    "id,time_ns,kind,exporter,domain,obs_domain,namespace,trace_type,node_len,flags,ext_flags,"
    "flow_id,seq,raw,nodes,path";

// The columns of records_ (NativeBlock), in its order.
enum RecordColumn : std::size_t {
    kId,
    kTime,
    kKind,
    kExporter,
    kDomain,
    kObsDomain,
    kNamespace,
    kTraceType,
    kNodeLen,
    kFlags,
    kExtFlags,
    kFlowId,
    kSeq,
    kRaw,
    kNodes,
    kPath,
    kNodeIds
};

struct Location {
    Endpoint endpoint;
    std::string database;
    std::string cluster;  // empty: one server
    std::uint32_t collector = 0;
};

bool is_identifier(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

bool is_loopback(const std::string& host) {
    in_addr v4{};
    return host == "localhost" || host == "::1" ||
           (::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
}

[[noreturn]] void bad_location(std::string_view where, std::string_view why) {
    throw std::runtime_error("store: clickhouse:" + std::string(where) + ": " + std::string(why) +
                             " (expected clickhouse://HOST:PORT/DATABASE[?cluster=NAME&"
                             "collector=N&secure=1&ca=FILE&compress=1])");
}

Location parse_location(std::string_view where, const ClickhouseCredentials& credentials) {
    if (!where.starts_with("//")) {
        bad_location(where, "no //");
    }
    std::string_view rest = where.substr(2);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        bad_location(where, "no database");
    }
    auto hp = net::parse_host_port(rest.substr(0, slash));
    if (!hp || hp->host.empty() || hp->port == 0) {
        bad_location(where, "bad HOST:PORT");
    }
    Location loc;
    loc.endpoint.host = hp->host;
    loc.endpoint.port = hp->port;
    loc.endpoint.user = credentials.user;
    loc.endpoint.password = credentials.password;
    rest = rest.substr(slash + 1);
    const auto question = rest.find('?');
    loc.database = std::string(rest.substr(0, question));
    if (!is_identifier(loc.database)) {
        bad_location(where, "the database name must be letters, digits and _");
    }
    // gzip costs the collector about 0.5 us of CPU per record and saves about 120 of its 140
    // bytes (docs/benchmarks.md): worth it across a network, not on loopback.
    loc.endpoint.compress = !is_loopback(loc.endpoint.host);
    std::string_view params =
        question == std::string_view::npos ? std::string_view{} : rest.substr(question + 1);
    while (!params.empty()) {
        const auto amp = params.find('&');
        const std::string_view param = params.substr(0, amp);
        params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
        const auto eq = param.find('=');
        const std::string_view key = param.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
        if (key == "cluster" && is_identifier(value)) {
            loc.cluster = std::string(value);
        } else if ((key == "secure" || key == "compress") && (value == "0" || value == "1")) {
            (key == "secure" ? loc.endpoint.tls : loc.endpoint.compress) = value == "1";
        } else if (key == "ca" && !value.empty()) {
            loc.endpoint.ca_file = std::string(value);
        } else if (key == "collector") {
            auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), loc.collector);
            if (ec != std::errc{} || end != value.data() + value.size() || value.empty() ||
                loc.collector > kMaxCollector) {
                bad_location(where, "collector must be 0 to " + std::to_string(kMaxCollector));
            }
        } else {
            bad_location(where, "bad parameter '" + std::string(param) + "'");
        }
    }
    if (!loc.endpoint.ca_file.empty() && !loc.endpoint.tls) {
        bad_location(where, "ca= needs secure=1");
    }
    return loc;
}

std::string error_text(const HttpReply& reply) {
    std::string_view body = reply.body;
    body = body.substr(0, std::min(body.find('\n'), kMaxErrorText));
    return "HTTP " + std::to_string(reply.status) + ": " + std::string(body);
}

class ClickhouseBackend final : public StoreBackend {
  public:
    explicit ClickhouseBackend(Location loc)
        : loc_(std::move(loc)),
          db_(loc_.database),
          lo_(std::int64_t{loc_.collector} << kCollectorShift),
          hi_(lo_ + (std::int64_t{1} << kCollectorShift)),
          writer_(loc_.endpoint, kTimeout),
          reader_(loc_.endpoint, kTimeout) {
        try {
            migrate();
            high_water_ = read_high_water();
            size_ = query_size();
        } catch (const std::exception& e) {
            throw std::runtime_error("store: clickhouse://" + loc_.endpoint.host + ":" +
                                     std::to_string(loc_.endpoint.port) + "/" + db_ + ": " +
                                     e.what());
        }
    }

    std::int64_t high_water() override { return high_water_; }

    Status write(const Batch& batch, std::string& why) override {
        try {
            if (schema_unsure_) {
                migrate();  // the database may have gone: a failed write checks it again
                schema_unsure_ = false;
            }
            insert_batch(batch);
        } catch (const std::exception& e) {
            why = e.what();
            schema_unsure_ = true;
            return Errc::invalid_argument;
        }
        if (!batch.records.empty()) {
            high_water_ = std::max(high_water_, batch.records.back().id);
        }
        return Ok{};
    }

    Result<std::uint64_t> retain(std::uint64_t cutoff_ns, std::uint64_t max_bytes,
                                 std::string& why) override {
        std::uint64_t deleted = 0;
        try {
            if (cutoff_ns > 0) {
                const std::string where = " WHERE time_ns < " + std::to_string(cutoff_ns);
                deleted += delete_records(where);
                const std::string old = " WHERE minute < " + minute_of(cutoff_ns);
                for (const RollupSpec* s : kRollups) {
                    for (const char* suffix : {"_batches", "_minutes"}) {
                        const std::string table = std::string(s->name) + suffix;
                        if (count(table, old) > 0) {
                            mutate(table, old);
                        }
                    }
                }
            }
            // Parts compress unevenly: delete the share of the oldest records that is over,
            // then measure again.
            for (int round = 0; max_bytes > 0 && round < 8; ++round) {
                size_ = query_size();
                if (size_ <= max_bytes) {
                    break;
                }
                const auto total = count("records", "");
                if (total == 0) {
                    break;
                }
                const auto over =
                    static_cast<double>(size_ - max_bytes) / static_cast<double>(size_);
                const auto n = std::min<std::uint64_t>(
                    total, static_cast<std::uint64_t>(static_cast<double>(total) * over) + 1);
                const auto last = scalar<std::int64_t>("SELECT id FROM " + db_ +
                                                       ".records ORDER BY id LIMIT 1 OFFSET " +
                                                       std::to_string(n - 1));
                deleted += delete_records(" WHERE id <= " + std::to_string(last));
            }
            size_ = query_size();
        } catch (const std::exception& e) {
            why = e.what();
            return Errc::invalid_argument;
        }
        return deleted;
    }

    // Measured at most every kSizeEvery (a query on system.parts), the last value between.
    std::uint64_t size_bytes() override {
        const auto now = std::chrono::steady_clock::now();
        if (now - sized_at_ >= kSizeEvery) {
            sized_at_ = now;
            try {
                size_ = query_size();
            } catch (const std::exception&) {
                // the server is away: the last size stands, and the write that follows says so
            }
        }
        return size_;
    }

    // In two steps: 18.16 reads every matching row in full before ORDER BY id LIMIT, so the
    // ids come first (reading the filtered columns only), then the rows in their id range
    // (the primary key), by id too when there are few (10 M records, namespace filter, 1000
    // rows: 8.6 s in one step).
    Result<std::vector<StoredRecord>> query(const TraceQuery& q) override {
        std::string where = " WHERE id > " + std::to_string(q.after_id);
        if (q.kind) {
            where += " AND kind = " + std::to_string(static_cast<int>(*q.kind));
        }
        if (q.namespace_id) {
            where += " AND namespace = " + std::to_string(*q.namespace_id);
        }
        if (q.node_id) {
            where += " AND has(node_ids, toUInt64(" + std::to_string(*q.node_id) + "))";
        }
        if (q.flow_id) {
            where += " AND kind = 1 AND flow_id = " + std::to_string(*q.flow_id);
        }
        if (q.from_ns) {
            where += " AND time_ns >= " + std::to_string(*q.from_ns);
        }
        if (q.to_ns) {
            where += " AND time_ns < " + std::to_string(*q.to_ns);
        }
        const std::string limit = " ORDER BY id LIMIT " + std::to_string(q.limit);
        return read([&] {
            std::vector<StoredRecord> out;
            const std::string ids =
                select(reader_, "SELECT id FROM " + read_table("records") + where + limit);
            if (ids.empty()) {
                return out;
            }
            RowReader r(ids);
            const bool by_id = q.limit <= kMaxIdList;
            const auto first = r.num<std::int64_t>();
            std::string in = std::to_string(first);
            std::int64_t last = first;
            while (!r.done()) {
                last = r.num<std::int64_t>();
                if (by_id) {
                    in += "," + std::to_string(last);
                }
            }
            const std::string rows = select(
                reader_, std::string("SELECT ") + kRecordColumns + " FROM " +
                             read_table("records") + where + " AND id >= " + std::to_string(first) +
                             " AND id <= " + std::to_string(last) +
                             (by_id ? " AND id IN (" + in + ")" : "") + limit);
            RowReader rr(rows);
            while (!rr.done()) {
                out.push_back(to_record(rr));
            }
            return out;
        });
    }

    Result<std::optional<StoredRecord>> get(std::int64_t id) override {
        const std::string sql = std::string("SELECT ") + kRecordColumns + " FROM " +
                                read_table("records") + " WHERE id = " + std::to_string(id) +
                                " LIMIT 1";
        return read([&]() -> std::optional<StoredRecord> {
            const std::string body = select(reader_, sql);
            RowReader r(body);
            if (r.done()) {
                return std::nullopt;
            }
            return to_record(r);
        });
    }

    Result<std::vector<NodeSummary>> nodes(Window w, std::size_t limit) override {
        return summary<rollup::NodeKey, rollup::NodeRow>(kNodeRollup, w, [&](auto rows) {
            return rollup::summarise_nodes(std::move(rows), limit);
        });
    }

    Result<std::vector<PathSummary>> paths(Window w, std::size_t limit) override {
        return summary<rollup::PathKey, rollup::PathRow>(kPathRollup, w, [&](auto rows) {
            return rollup::summarise_paths(std::move(rows), limit);
        });
    }

    Result<std::vector<SegmentSummary>> segments(Window w, std::size_t limit) override {
        return summary<rollup::SegmentKey, rollup::SegmentRow>(kSegmentRollup, w, [&](auto rows) {
            return rollup::summarise_segments(std::move(rows), limit);
        });
    }

  private:
    // Runs a statement on `client`; throws std::runtime_error with the server's message.
    std::string post(HttpClient& client, const std::string& target, const std::string& body) {
        HttpReply reply;
        std::string why;
        if (!client.post(target, body, reply, why)) {
            throw std::runtime_error(why);
        }
        if (reply.status != 200) {
            throw std::runtime_error(error_text(reply));
        }
        return std::move(reply.body);
    }

    // wait_end_of_query: an error found after the first rows still gives an error status.
    std::string select(HttpClient& client, const std::string& sql) {
        return post(client, "/?wait_end_of_query=1", sql + " FORMAT RowBinary");
    }

    void exec(const std::string& sql) { post(writer_, "/", sql); }

    template <typename T>
    T scalar(const std::string& sql) {
        const std::string body = select(writer_, sql);
        RowReader r(body);
        return r.num<T>();
    }

    void insert(const std::string& table, const std::string& data,
                std::string_view format = "RowBinary") {
        post(writer_,
             "/?query=" +
                 url_encode("INSERT INTO " + db_ + "." + table + " FORMAT " + std::string(format)),
             data);
    }

    std::string with_db(std::string_view sql) const {
        std::string out;
        for (std::size_t pos = 0;;) {
            const auto at = sql.find("DB.", pos);
            out.append(sql.substr(pos, at - pos));
            if (at == std::string_view::npos) {
                return out;
            }
            out += db_ + ".";
            pos = at + 3;
        }
    }

    // Creates what is missing and applies the migrations newer than the stored version; a
    // newer version than this collector knows is refused.
    void migrate() {
        exec("CREATE DATABASE IF NOT EXISTS " + db_);
        exec(
            with_db("CREATE TABLE IF NOT EXISTS DB.schema_migrations (version UInt32, "
                    "applied_ns UInt64) ENGINE = MergeTree() ORDER BY version"));
        const auto version = scalar<std::uint32_t>(
            with_db("SELECT toUInt32(max(version)) FROM DB.schema_migrations"));
        const auto steps = migrations();
        if (version > steps.size()) {
            throw std::runtime_error("schema version " + std::to_string(version) +
                                     ", this collector knows up to " +
                                     std::to_string(steps.size()));
        }
        for (std::size_t v = version; v < steps.size(); ++v) {
            for (const auto& sql : steps[v]) {
                exec(with_db(sql));
            }
            if (v + 1 == 2) {
                convert_v1_rollups();
            }
            const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            exec(with_db("INSERT INTO DB.schema_migrations VALUES (" + std::to_string(v + 1) +
                         ", " + std::to_string(now) + ")"));
        }
        // Named after the cluster, so that a collector started with another cluster never
        // reads through tables made for the old one.
        for (const auto table : kShardedTables) {
            if (!loc_.cluster.empty()) {
                exec("CREATE TABLE IF NOT EXISTS " + read_table(table) + " AS " + db_ + "." +
                     std::string(table) + " ENGINE = Distributed(" + loc_.cluster + ", " + db_ +
                     ", " + std::string(table) + ")");
            }
        }
    }

    std::string read_table(std::string_view table) const {
        return db_ + "." + std::string(table) + (loc_.cluster.empty() ? "" : "_on_" + loc_.cluster);
    }

    std::int64_t read_high_water() {
        const std::string range =
            " WHERE id > " + std::to_string(lo_) + " AND id < " + std::to_string(hi_);
        return std::max(
            {lo_, scalar<std::int64_t>("SELECT max(id) FROM " + db_ + ".records" + range),
             scalar<std::int64_t>("SELECT max(id) FROM " + db_ + ".high_water" + range)});
    }

    std::uint64_t query_size() {
        return scalar<std::uint64_t>(
            "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts "
            "WHERE database = '" +
            db_ + "' AND active");
    }

    // Deletes the records matching `where` (" WHERE ..."); returns how many. The highest id is
    // kept apart first, so that ids continue after their records are gone.
    std::uint64_t delete_records(const std::string& where) {
        const auto n = count("records", where);
        if (n > 0) {
            exec("INSERT INTO " + db_ + ".high_water VALUES (" + std::to_string(high_water_) + ")");
            mutate("records", where);
        }
        return n;
    }

    // Rows of a local table matching `where`: a mutation rewrites every part it touches, so
    // none is started for nothing.
    std::uint64_t count(std::string_view table, const std::string& where) {
        return scalar<std::uint64_t>("SELECT count() FROM " + db_ + "." + std::string(table) +
                                     where);
    }

    // ALTER ... DELETE is a mutation, run in the background: waits for it to finish (18.16 has
    // no synchronous form), so that the size measured next is the size after it.
    void mutate(std::string_view table, const std::string& where) {
        exec("ALTER TABLE " + db_ + "." + std::string(table) + " DELETE" + where);
        const auto deadline = std::chrono::steady_clock::now() + kMutationWait;
        while (scalar<std::uint64_t>("SELECT count() FROM system.mutations WHERE database = '" +
                                     db_ + "' AND is_done = 0") > 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("a DELETE mutation on " + std::string(table) +
                                         " did not finish in time");
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    static std::string minute_of(std::uint64_t ns) {
        return std::to_string(ns / rollup::kMinuteNs);
    }

    // A batch is retried after a failure that may have come after part of it was stored (the
    // reply lost, or one table of several written): the retry skips the records and rollup
    // tables already there, so that a batch is stored exactly once.
    void insert_batch(const Batch& batch) {
        const std::int64_t first = batch.records.empty() ? 0 : batch.records.front().id;
        const std::int64_t last = batch.records.empty() ? 0 : batch.records.back().id;
        const bool retry = retrying_ && first == retry_first_ && last == retry_last_ &&
                           batch.rollups.keys() == retry_keys_;
        if (!retry) {
            token_ = rng_();
        }
        retrying_ = true;
        retry_first_ = first;
        retry_last_ = last;
        retry_keys_ = batch.rollups.keys();
        std::unordered_set<std::int64_t> present;
        std::unordered_set<std::string_view> done;
        if (retry) {
            if (!batch.records.empty()) {
                const std::string body =
                    select(writer_, "SELECT id FROM " + db_ +
                                        ".records WHERE id >= " + std::to_string(first) +
                                        " AND id <= " + std::to_string(last));
                RowReader r(body);
                while (!r.done()) {
                    present.insert(r.num<std::int64_t>());
                }
            }
            for (const RollupSpec* s : kRollups) {
                if (count(std::string(s->name) + "_batches",
                          " WHERE batch = " + std::to_string(token_)) > 0) {
                    done.insert(s->name);
                }
            }
        }
        records_.clear();
        for (const RecordEntry& e : batch.records) {
            if (!present.contains(e.id)) {
                add_record(e);
            }
        }
        if (records_.rows() > 0) {
            insert("records", records_.data(), "Native");
        }
        const rollup::Delta& d = batch.rollups;
        insert_rollup(kPathRollup, token_, d.paths, done);
        insert_rollup(kNodeRollup, token_, d.nodes, done);
        insert_rollup(kSegmentRollup, token_, d.segments, done);
        retrying_ = false;
    }

    void add_record(const RecordEntry& e) {
        const RecordHeader h = header_of(e.record);
        node_ids_of(e.record, e.nodes_from_raw, hop_ids_);
        compact_of(e.record, compact_, e.nodes_from_raw);
        // Every hop's identity and wide id, for the node filter.
        node_ids_.clear();
        for (const NodeIds& n : hop_ids_) {
            for (const auto id : {identity(n), n.node_id_wide}) {
                if (id && std::find(node_ids_.begin(), node_ids_.end(), *id) == node_ids_.end()) {
                    node_ids_.push_back(*id);
                }
            }
        }
        NativeBlock& b = records_;
        b.num(kId, e.id);
        b.num(kTime, h.time_ns);
        b.num<std::uint8_t>(kKind, h.dex ? 1 : 0);
        b.str(kExporter, e.exporter);
        b.num(kDomain, e.domain);
        b.num(kObsDomain, h.obs_domain);
        b.num(kNamespace, h.namespace_id);
        b.num(kTraceType, h.trace_type);
        b.num(kNodeLen, h.node_len);
        b.num(kFlags, h.flags);
        b.num(kExtFlags, h.ext_flags);
        b.nullable(kFlowId, h.flow_id);
        b.nullable(kSeq, h.seq);
        b.bytes(kRaw, raw_of(e.record));
        b.bytes(kNodes, compact_);
        b.str(kPath, analysis::path_key(hop_ids_));
        b.array(kNodeIds, std::span<const std::uint64_t>(node_ids_));
        b.end_row();
    }

    // The rows of one rollup in a batch (unless `done` has them, from an earlier attempt).
    template <typename Map>
    void insert_rollup(const RollupSpec& s, std::uint64_t batch, const Map& rows,
                       const std::unordered_set<std::string_view>& done) {
        if (rows.empty() || done.contains(s.name)) {
            return;
        }
        rows_.clear();
        for (const auto& [k, row] : rows) {
            rows_.num(batch).num(k.minute);
            put_key(k);
            put_values(row);
        }
        insert(std::string(s.name) + "_batches", rows_.data());
    }

    // Schema 1's per-batch rows, into NAME_batches (and through its view into NAME_minutes)
    // with their batch tokens: batches copied before an interruption are skipped when the
    // migration runs again.
    template <typename Key, typename Row>
    void convert_v1_rollup(const RollupSpec& s) {
        const std::string v1 = db_ + "." + std::string(s.v1_table);
        if (scalar<std::uint64_t>("SELECT count() FROM system.tables WHERE database = '" + db_ +
                                  "' AND name = '" + std::string(s.v1_table) + "'") == 0) {
            return;
        }
        const std::string batches = std::string(s.name) + "_batches";
        // In slices of the (random) batch tokens, each one insert, so that memory holds a
        // slice and an interruption leaves whole batches.
        const int slices = count(s.v1_table, "") > 0 ? kConvertSlices : 0;
        for (int slice = 0; slice < slices; ++slice) {
            const std::string body = select(
                writer_, "SELECT * FROM " + v1 + " WHERE intDiv(batch, " +
                             std::to_string(UINT64_MAX / kConvertSlices + 1) +
                             ") = " + std::to_string(slice) +
                             " AND batch NOT IN (SELECT batch FROM " + db_ + "." + batches + ")");
            RowReader r(body);
            rows_.clear();
            while (!r.done()) {
                const auto batch = r.num<std::uint64_t>();
                Key k;
                k.minute = r.num<std::uint64_t>();
                get_key(r, k);
                Row row;
                get_values(r, row, HistForm::encoded);
                rows_.num(batch).num(k.minute);
                put_key(k);
                put_values(row);
            }
            if (!rows_.data().empty()) {
                insert(batches, rows_.data());
            }
        }
        exec("DROP TABLE IF EXISTS " + v1);
        if (!loc_.cluster.empty()) {
            exec("DROP TABLE IF EXISTS " + v1 + "_on_" + loc_.cluster);
        }
    }
    void convert_v1_rollups() {
        convert_v1_rollup<rollup::PathKey, rollup::PathRow>(kPathRollup);
        convert_v1_rollup<rollup::NodeKey, rollup::NodeRow>(kNodeRollup);
        convert_v1_rollup<rollup::SegmentKey, rollup::SegmentRow>(kSegmentRollup);
    }

    // A summary: the window's (minute, key) states merged per key by the server.
    template <typename Key, typename Row, typename F>
    auto summary(const RollupSpec& s, Window w, F&& summarise)
        -> Result<std::invoke_result_t<F, std::vector<std::pair<Key, Row>>>> {
        const std::string key(s.key);
        std::string sql = "SELECT " + key;
        for_each_value(s, [&](const std::string& c, std::string_view, std::string_view agg) {
            sql += ", " + std::string(agg) + "Merge(" + c + ")";
        });
        if (s.lost_and_hist) {
            sql += ", sumMapMerge(hist)";
        }
        const auto [first, last] = rollup::minutes(w);
        sql += " FROM " + read_table(std::string(s.name) + "_minutes") +
               " WHERE minute >= " + std::to_string(first) + " AND minute < " +
               std::to_string(last) + " GROUP BY " + key;
        return read([&] {
            std::vector<std::pair<Key, Row>> rows;
            const std::string body = select(reader_, sql);
            RowReader r(body);
            while (!r.done()) {
                auto& [k, row] = rows.emplace_back();
                get_key(r, k);
                get_values(r, row, HistForm::sum_map);
            }
            return summarise(std::move(rows));
        });
    }

    void put_key(const rollup::PathKey& k) { rows_.num(k.namespace_id).str(k.path); }
    void put_key(const rollup::NodeKey& k) { rows_.num(k.node); }
    void put_key(const rollup::SegmentKey& k) { rows_.num(k.from).num(k.to); }
    static void get_key(RowReader& r, rollup::PathKey& k) {
        k.namespace_id = r.num<std::uint16_t>();
        k.path = std::string(r.str());
    }
    static void get_key(RowReader& r, rollup::NodeKey& k) { k.node = r.num<std::uint64_t>(); }
    static void get_key(RowReader& r, rollup::SegmentKey& k) {
        k.from = r.num<std::uint64_t>();
        k.to = r.num<std::uint64_t>();
    }

    // In the order of for_each_value(); paths and segments (PathRow, SegmentRow) alike.
    template <typename Row>
    void put_values(const Row& row) {
        put_seen(row.seen);
        rows_.num(row.lost);
        put_moments(row.delay);
        buckets_.clear();
        counts_.clear();
        for (const auto& [b, n] : row.hist.buckets()) {
            buckets_.push_back(b);
            counts_.push_back(n);
        }
        rows_.array(std::span<const std::uint16_t>(buckets_))
            .array(std::span<const std::uint64_t>(counts_));
    }
    void put_values(const rollup::NodeRow& row) {
        put_seen(row.seen);
        put_moments(row.transit);
        put_moments(row.segment);
        put_moments(row.queue);
    }
    void put_seen(const rollup::Seen& s) { rows_.num(s.packets).num(s.first_ns).num(s.last_ns); }
    void put_moments(const rollup::Moments& m) {
        rows_.num(m.count)
            .num(m.sum)
            .num(m.count > 0 ? m.min : std::numeric_limits<std::int64_t>::max())
            .num(m.count > 0 ? m.max : std::numeric_limits<std::int64_t>::min());
    }

    // Schema 1's histogram blob, or sumMap's (buckets, counts) arrays.
    enum class HistForm { encoded, sum_map };
    template <typename Row>
    static void get_values(RowReader& r, Row& row, HistForm form) {
        get_seen(r, row.seen);
        row.lost = r.num<double>();
        get_moments(r, row.delay);
        if (form == HistForm::encoded) {
            if (!row.hist.decode(r.bytes())) {
                throw std::runtime_error("clickhouse: malformed histogram");
            }
            return;
        }
        std::vector<std::uint16_t> buckets(r.length());
        for (auto& b : buckets) {
            b = r.num<std::uint16_t>();
            if (b > rollup::Histogram::bucket(std::numeric_limits<std::int64_t>::max())) {
                throw std::runtime_error("clickhouse: malformed histogram");
            }
        }
        if (r.length() != buckets.size()) {
            throw std::runtime_error("clickhouse: malformed histogram");
        }
        for (const auto b : buckets) {
            row.hist.add_bucket(b, r.num<std::uint64_t>());
        }
    }
    static void get_values(RowReader& r, rollup::NodeRow& row, HistForm) {
        get_seen(r, row.seen);
        get_moments(r, row.transit);
        get_moments(r, row.segment);
        get_moments(r, row.queue);
    }
    static void get_seen(RowReader& r, rollup::Seen& s) {
        s.packets = r.num<double>();
        s.first_ns = r.num<std::uint64_t>();
        s.last_ns = r.num<std::uint64_t>();
    }
    static void get_moments(RowReader& r, rollup::Moments& m) {
        m.count = r.num<std::uint64_t>();
        m.sum = r.num<double>();
        m.min = r.num<std::int64_t>();
        m.max = r.num<std::int64_t>();
        if (m.count == 0) {
            m.min = m.max = 0;  // the sentinels of an empty minute
        }
    }

    static StoredRecord to_record(RowReader& r) {
        StoredRecord out;
        out.id = r.num<std::int64_t>();
        RecordHeader h;
        h.time_ns = r.num<std::uint64_t>();
        h.dex = r.num<std::uint8_t>() != 0;
        out.exporter = std::string(r.str());
        out.domain = r.num<std::uint32_t>();
        h.obs_domain = r.num<std::uint32_t>();
        h.namespace_id = r.num<std::uint16_t>();
        h.trace_type = r.num<std::uint32_t>();
        h.node_len = r.num<std::uint8_t>();
        h.flags = r.num<std::uint8_t>();
        h.ext_flags = r.num<std::uint8_t>();
        h.flow_id = r.nullable<std::uint32_t>();
        h.seq = r.nullable<std::uint32_t>();
        const auto raw = r.bytes();
        const auto compact = r.bytes();
        out.record = rebuild(h, raw, compact);
        out.path = std::string(r.str());
        return out;
    }

    // Runs a read on the reader connection; a failure becomes an error result.
    template <typename F>
    auto read(F&& f) -> Result<std::invoke_result_t<F>> {
        std::lock_guard lock(read_mu_);
        try {
            return f();
        } catch (const std::exception&) {
            return Errc::invalid_argument;
        }
    }

    const Location loc_;
    const std::string db_;
    const std::int64_t lo_, hi_;  // this collector's ids: (lo_, hi_)
    HttpClient writer_;
    std::mutex read_mu_;
    HttpClient reader_;
    std::mt19937_64 rng_{std::random_device{}()};
    std::uint64_t token_ = 0;  // the batch being written, in its rollup rows
    bool retrying_ = false;
    std::int64_t retry_first_ = 0, retry_last_ = 0;
    std::size_t retry_keys_ = 0;
    bool schema_unsure_ = false;
    std::int64_t high_water_ = 0;
    std::uint64_t size_ = 0;
    std::chrono::steady_clock::time_point sized_at_ = std::chrono::steady_clock::now();
    RowWriter rows_;
    // Records are inserted in Native format: the server reads it column by column, in bulk.
    NativeBlock records_{{{"id", "Int64"},
                          {"time_ns", "UInt64"},
                          {"kind", "UInt8"},
                          {"exporter", "String"},
                          {"domain", "UInt32"},
                          {"obs_domain", "UInt32"},
                          {"namespace", "UInt16"},
                          {"trace_type", "UInt32"},
                          {"node_len", "UInt8"},
                          {"flags", "UInt8"},
                          {"ext_flags", "UInt8"},
                          {"flow_id", "Nullable(UInt32)"},
                          {"seq", "Nullable(UInt32)"},
                          {"raw", "String"},
                          {"nodes", "String"},
                          {"path", "String"},
                          {"node_ids", "Array(UInt64)"}}};
    std::vector<std::uint8_t> compact_;
    std::vector<NodeIds> hop_ids_;
    std::vector<std::uint64_t> node_ids_;
    std::vector<std::uint16_t> buckets_;
    std::vector<std::uint64_t> counts_;
};

}  // namespace

std::unique_ptr<StoreBackend> open_clickhouse_backend(const std::string& location,
                                                      const ClickhouseCredentials& credentials) {
    return std::make_unique<ClickhouseBackend>(parse_location(location, credentials));
}

}  // namespace ioam::collector::store
