#include "collector/store/clickhouse/clickhouse_backend.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
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

// The schema, version by version; "DB" is the database. CREATE ... IF NOT EXISTS throughout,
// so that a migration interrupted half way (or run by two collectors at once) runs again.
// Records are ordered by id (the cursor of every query) and partitioned by day of observation;
// rollups hold one row per (batch, minute, key), summed at query time, in one partition so
// that a batch's rows are inserted at once.
const std::vector<std::vector<std::string_view>> kMigrations = {
    {
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
    },
};

// Tables a collector reads through the cluster's Distributed tables.
constexpr std::string_view kShardedTables[] = {"records", "rollup_paths", "rollup_nodes",
                                               "rollup_segments"};

constexpr const char* kRecordColumns =
    "id,time_ns,kind,exporter,domain,obs_domain,namespace,trace_type,node_len,flags,ext_flags,"
    "flow_id,seq,raw,nodes,path";

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
                for (const char* table : {"rollup_paths", "rollup_nodes", "rollup_segments"}) {
                    const std::string old = " WHERE minute < " + minute_of(cutoff_ns);
                    if (count(table, old) > 0) {
                        mutate(table, old);
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

    Result<std::vector<StoredRecord>> query(const TraceQuery& q) override {
        std::string sql = std::string("SELECT ") + kRecordColumns + " FROM " +
                          read_table("records") + " WHERE id > " + std::to_string(q.after_id);
        if (q.kind) {
            sql += " AND kind = " + std::to_string(static_cast<int>(*q.kind));
        }
        if (q.namespace_id) {
            sql += " AND namespace = " + std::to_string(*q.namespace_id);
        }
        if (q.node_id) {
            sql += " AND has(node_ids, toUInt64(" + std::to_string(*q.node_id) + "))";
        }
        if (q.flow_id) {
            sql += " AND kind = 1 AND flow_id = " + std::to_string(*q.flow_id);
        }
        if (q.from_ns) {
            sql += " AND time_ns >= " + std::to_string(*q.from_ns);
        }
        if (q.to_ns) {
            sql += " AND time_ns < " + std::to_string(*q.to_ns);
        }
        sql += " ORDER BY id LIMIT " + std::to_string(q.limit);
        return read([&] {
            std::vector<StoredRecord> out;
            const std::string body = select(reader_, sql);
            RowReader r(body);
            while (!r.done()) {
                out.push_back(to_record(r));
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
        const std::string sql = "SELECT node, sum(packets), min(first_ns), max(last_ns), " +
                                moments_sql("t") + "," + moments_sql("s") + "," + moments_sql("q") +
                                " FROM " + read_table("rollup_nodes") + window_sql(w) +
                                " GROUP BY node";
        return read([&] {
            std::vector<std::pair<rollup::NodeKey, rollup::NodeRow>> rows;
            const std::string body = select(reader_, sql);
            RowReader r(body);
            while (!r.done()) {
                auto& [k, row] = rows.emplace_back();
                k.node = r.num<std::uint64_t>();
                read_seen(r, row.seen);
                read_moments(r, row.transit);
                read_moments(r, row.segment);
                read_moments(r, row.queue);
            }
            return rollup::summarise_nodes(std::move(rows), limit);
        });
    }

    Result<std::vector<PathSummary>> paths(Window w, std::size_t limit) override {
        const std::string sql =
            "SELECT namespace, path, sum(packets), min(first_ns), "
            "max(last_ns), sum(lost), " +
            moments_sql("d") + ", groupArray(hist) FROM " + read_table("rollup_paths") +
            window_sql(w) + " GROUP BY namespace, path";
        return read([&] {
            std::vector<std::pair<rollup::PathKey, rollup::PathRow>> rows;
            const std::string body = select(reader_, sql);
            RowReader r(body);
            while (!r.done()) {
                auto& [k, row] = rows.emplace_back();
                k.namespace_id = r.num<std::uint16_t>();
                k.path = std::string(r.str());
                read_seen(r, row.seen);
                row.lost = r.num<double>();
                read_moments(r, row.delay);
                read_histograms(r, row.hist);
            }
            return rollup::summarise_paths(std::move(rows), limit);
        });
    }

    Result<std::vector<SegmentSummary>> segments(Window w, std::size_t limit) override {
        const std::string sql =
            "SELECT src, dst, sum(packets), min(first_ns), max(last_ns), "
            "sum(lost), " +
            moments_sql("d") + ", groupArray(hist) FROM " + read_table("rollup_segments") +
            window_sql(w) + " GROUP BY src, dst";
        return read([&] {
            std::vector<std::pair<rollup::SegmentKey, rollup::SegmentRow>> rows;
            const std::string body = select(reader_, sql);
            RowReader r(body);
            while (!r.done()) {
                auto& [k, row] = rows.emplace_back();
                k.from = r.num<std::uint64_t>();
                k.to = r.num<std::uint64_t>();
                read_seen(r, row.seen);
                row.lost = r.num<double>();
                read_moments(r, row.delay);
                read_histograms(r, row.hist);
            }
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

    void insert(const std::string& table, const RowWriter& rows) {
        post(writer_,
             "/?query=" + url_encode("INSERT INTO " + db_ + "." + table + " FORMAT RowBinary"),
             rows.data());
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
        if (version > kMigrations.size()) {
            throw std::runtime_error("schema version " + std::to_string(version) +
                                     ", this collector knows up to " +
                                     std::to_string(kMigrations.size()));
        }
        for (std::size_t v = version; v < kMigrations.size(); ++v) {
            for (const auto sql : kMigrations[v]) {
                exec(with_db(sql));
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
        std::unordered_set<std::string> done;
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
            for (const char* table : {"rollup_paths", "rollup_nodes", "rollup_segments"}) {
                if (count(table, " WHERE batch = " + std::to_string(token_)) > 0) {
                    done.insert(table);
                }
            }
        }
        rows_.clear();
        for (const RecordEntry& e : batch.records) {
            if (!present.contains(e.id)) {
                add_record(e);
            }
        }
        if (!rows_.data().empty()) {
            insert("records", rows_);
        }
        const rollup::Delta& d = batch.rollups;
        if (!d.paths.empty() && !done.contains("rollup_paths")) {
            rows_.clear();
            for (const auto& [k, row] : d.paths) {
                rows_.num(token_).num(k.minute).num(k.namespace_id).str(k.path);
                add_seen(row.seen);
                rows_.num(row.lost);
                add_moments(row.delay);
                rows_.bytes(row.hist.encode());
            }
            insert("rollup_paths", rows_);
        }
        if (!d.nodes.empty() && !done.contains("rollup_nodes")) {
            rows_.clear();
            for (const auto& [k, row] : d.nodes) {
                rows_.num(token_).num(k.minute).num(k.node);
                add_seen(row.seen);
                add_moments(row.transit);
                add_moments(row.segment);
                add_moments(row.queue);
            }
            insert("rollup_nodes", rows_);
        }
        if (!d.segments.empty() && !done.contains("rollup_segments")) {
            rows_.clear();
            for (const auto& [k, row] : d.segments) {
                rows_.num(token_).num(k.minute).num(k.from).num(k.to);
                add_seen(row.seen);
                rows_.num(row.lost);
                add_moments(row.delay);
                rows_.bytes(row.hist.encode());
            }
            insert("rollup_segments", rows_);
        }
        retrying_ = false;
    }

    void add_record(const RecordEntry& e) {
        const RecordHeader h = header_of(e.record);
        const auto nodes = nodes_of(e.record);
        compact_of(e.record, compact_);
        // Every hop's identity and wide id, for the node filter.
        node_ids_.clear();
        for (const IoamNode& n : nodes) {
            for (const auto id : {analysis::node_identity(n), n.node_id_wide}) {
                if (id && std::find(node_ids_.begin(), node_ids_.end(), *id) == node_ids_.end()) {
                    node_ids_.push_back(*id);
                }
            }
        }
        rows_.num(e.id)
            .num(h.time_ns)
            .num<std::uint8_t>(h.dex ? 1 : 0)
            .str(e.exporter)
            .num(e.domain)
            .num(h.obs_domain)
            .num(h.namespace_id)
            .num(h.trace_type)
            .num(h.node_len)
            .num(h.flags)
            .num(h.ext_flags)
            .nullable(h.flow_id)
            .nullable(h.seq)
            .bytes(raw_of(e.record))
            .bytes(compact_)
            .str(analysis::path_key(nodes))
            .array(std::span<const std::uint64_t>(node_ids_));
    }

    void add_seen(const rollup::Seen& s) { rows_.num(s.packets).num(s.first_ns).num(s.last_ns); }
    void add_moments(const rollup::Moments& m) {
        rows_.num(m.count).num(m.sum).num(m.min).num(m.max);
    }

    static std::string moments_sql(const std::string& p) {
        return "sum(" + p + "_count), sum(" + p + "_sum), minIf(" + p + "_min, " + p +
               "_count > 0), maxIf(" + p + "_max, " + p + "_count > 0)";
    }
    static std::string window_sql(Window w) {
        const auto [first, last] = rollup::minutes(w);
        return " WHERE minute >= " + std::to_string(first) + " AND minute < " +
               std::to_string(last);
    }
    static void read_seen(RowReader& r, rollup::Seen& s) {
        s.packets = r.num<double>();
        s.first_ns = r.num<std::uint64_t>();
        s.last_ns = r.num<std::uint64_t>();
    }
    static void read_moments(RowReader& r, rollup::Moments& m) {
        m.count = r.num<std::uint64_t>();
        m.sum = r.num<double>();
        m.min = r.num<std::int64_t>();
        m.max = r.num<std::int64_t>();
    }
    static void read_histograms(RowReader& r, rollup::Histogram& h) {
        for (auto n = r.length(); n > 0; --n) {
            rollup::Histogram one;
            if (!one.decode(r.bytes())) {
                throw std::runtime_error("clickhouse: malformed histogram");
            }
            h.merge(one);
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
    std::vector<std::uint8_t> compact_;
    std::vector<std::uint64_t> node_ids_;
};

}  // namespace

std::unique_ptr<StoreBackend> open_clickhouse_backend(const std::string& location,
                                                      const ClickhouseCredentials& credentials) {
    return std::make_unique<ClickhouseBackend>(parse_location(location, credentials));
}

}  // namespace ioam::collector::store
