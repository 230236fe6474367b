#include "collector/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace ioam::collector::store {

namespace {

// Migration i takes the schema from version i to i + 1.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE records(
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,          -- 0 trace, 1 DEX report
    time_ns INTEGER NOT NULL,       -- observation time, UNIX epoch
    exporter TEXT NOT NULL,
    domain INTEGER NOT NULL,
    namespace INTEGER NOT NULL,
    trace_type INTEGER NOT NULL,
    node_len INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    ext_flags INTEGER NOT NULL,
    flow_id INTEGER,
    seq INTEGER,
    path TEXT,                      -- node ids oldest first
    path_hash INTEGER,              -- FNV-1a of path: a cheap index key
    e2e_ns INTEGER,                 -- newest minus oldest hop timestamp
    raw BLOB                        -- ioamTraceData as received
);
CREATE TABLE hops(
    record_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,           -- 0 = newest node (the reporting one)
    node INTEGER,                   -- wide node id when written, else the short one
    hop_limit INTEGER, node_id INTEGER, ingress_if INTEGER, egress_if INTEGER,
    ts_secs INTEGER, ts_frac INTEGER, transit_delay INTEGER, namespace_data INTEGER,
    queue_depth INTEGER, checksum INTEGER, hop_limit_wide INTEGER, node_id_wide INTEGER,
    ingress_if_wide INTEGER, egress_if_wide INTEGER, namespace_data_wide INTEGER,
    buffer_occupancy INTEGER, opaque_schema INTEGER, opaque_data BLOB,
    segment_ns INTEGER,             -- delay from the upstream neighbour's timestamp
    PRIMARY KEY(record_id, idx)
) WITHOUT ROWID;
CREATE INDEX records_time ON records(time_ns);
CREATE INDEX records_namespace ON records(namespace, time_ns);
CREATE INDEX records_flow ON records(flow_id, seq) WHERE flow_id IS NOT NULL;
CREATE INDEX records_path ON records(path_hash) WHERE path_hash IS NOT NULL;
CREATE INDEX hops_node ON hops(node) WHERE node IS NOT NULL;
)sql",
    // 2: a node filter also matches the wide node id (a hop's identity is its short id).
    R"sql(
CREATE INDEX hops_node_wide ON hops(node_id_wide) WHERE node_id_wide IS NOT NULL;
)sql",
};

constexpr const char* kInsertRecord =
    "INSERT INTO records(kind,time_ns,exporter,domain,namespace,trace_type,node_len,flags,"
    "ext_flags,flow_id,seq,path,path_hash,e2e_ns,raw) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertHop =
    "INSERT INTO hops(record_id,idx,node,hop_limit,node_id,ingress_if,egress_if,ts_secs,ts_frac,"
    "transit_delay,namespace_data,queue_depth,checksum,hop_limit_wide,node_id_wide,"
    "ingress_if_wide,egress_if_wide,namespace_data_wide,buffer_occupancy,opaque_schema,"
    "opaque_data,segment_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kRecordColumns =
    "id,kind,time_ns,exporter,domain,namespace,trace_type,node_len,flags,ext_flags,flow_id,seq,"
    "raw";
constexpr const char* kSelectHops =
    "SELECT hop_limit,node_id,ingress_if,egress_if,ts_secs,ts_frac,transit_delay,namespace_data,"
    "queue_depth,checksum,hop_limit_wide,node_id_wide,ingress_if_wide,egress_if_wide,"
    "namespace_data_wide,buffer_occupancy,opaque_schema,opaque_data FROM hops WHERE "
    "record_id=? ORDER BY idx";

std::int64_t path_hash(std::string_view path) {
    std::uint64_t h = 14695981039346656037ull;
    for (char c : path) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return static_cast<std::int64_t>(h);
}

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement, reset after each use.
class Stmt {
  public:
    Stmt() = default;
    Stmt(sqlite3* db, const std::string& sql) {
        if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) !=
            SQLITE_OK) {
            throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
        }
    }
    Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Stmt& operator=(Stmt&& o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    Stmt(const Stmt&) = delete;
    ~Stmt() { sqlite3_finalize(s_); }

    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    template <typename T>
    Stmt& bind(int i, const std::optional<T>& v) {
        if (v) {
            sqlite3_bind_int64(s_, i, static_cast<std::int64_t>(*v));
        } else {
            sqlite3_bind_null(s_, i);
        }
        return *this;
    }
    Stmt& bind_null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    // Text and blobs are bound SQLITE_STATIC (no copy): every use binds all parameters again
    // before stepping, so SQLite never reads a pointer from an earlier use.
    Stmt& bind_text(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& bind_blob(int i, std::span<const std::uint8_t> v) {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(s_); }
    // Bindings stay: writers bind every parameter on each use, cheaper than clearing.
    void reset() { sqlite3_reset(s_); }
    std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
    double f64(int col) const { return sqlite3_column_double(s_, col); }
    bool null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    template <typename T>
    std::optional<T> opt(int col) const {
        return null(col) ? std::nullopt : std::optional<T>(static_cast<T>(i64(col)));
    }
    std::string text(int col) const {
        const auto* p = sqlite3_column_text(s_, col);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    }
    std::vector<std::uint8_t> blob(int col) const {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
        return p ? std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(s_, col))
                 : std::vector<std::uint8_t>{};
    }

  private:
    sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + msg + " in: " + std::string(sql).substr(0, 80));
    }
}

// Calls on_row() for each row; throws when stepping fails (busy, corrupt, ...) so that a read
// never passes a partial result off as complete.
template <typename OnRow>
void each_row(Stmt& s, OnRow&& on_row) {
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
        on_row();
    }
    if (rc != SQLITE_DONE) {
        throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errstr(rc));
    }
}

// Runs a read under `mu`; a SQLite failure becomes an error result.
template <typename F>
auto guarded_read(std::mutex& mu, F&& f) -> Result<std::invoke_result_t<F>> {
    std::lock_guard lock(mu);
    try {
        return f();
    } catch (const std::exception&) {
        return Errc::invalid_argument;
    }
}

std::int64_t pragma_int(sqlite3* db, const char* sql) {
    Stmt s(db, sql);
    return s.step() == SQLITE_ROW ? s.i64(0) : 0;
}

Db open_db(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        throw std::runtime_error("cannot open " + path + ": " +
                                 (raw ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_timeout(db.get(), 5000);
    // WAL with synchronous=NORMAL: a commit survives the process being killed (only a power
    // loss can take the last transactions back).
    exec(db.get(),
         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; "
         "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768;");
    return db;
}

void migrate(sqlite3* db) {
    const auto version = pragma_int(db, "PRAGMA user_version");
    if (version > SqliteStore::kSchemaVersion) {
        throw std::runtime_error("database schema version " + std::to_string(version) +
                                 " is newer than this collector's " +
                                 std::to_string(SqliteStore::kSchemaVersion));
    }
    for (auto v = version; v < SqliteStore::kSchemaVersion; ++v) {
        exec(db, "BEGIN IMMEDIATE");
        try {
            exec(db, kMigrations[static_cast<std::size_t>(v)]);
            exec(db, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
            exec(db, "COMMIT");
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
}

struct Item {
    std::string exporter;
    std::uint32_t domain = 0;
    std::variant<IoamTrace, DexReport> record;
};

}  // namespace

struct SqliteStore::Impl {
    explicit Impl(const StoreConfig& c) : config(c) {
        writer_db = open_db(config.path);
        migrate(writer_db.get());
        reader_db = open_db(config.path);
        insert_record = Stmt(writer_db.get(), kInsertRecord);
        insert_hop = Stmt(writer_db.get(), kInsertHop);
        select_hops = Stmt(reader_db.get(), kSelectHops);
        update_size();
    }

    void enqueue(const Origin& origin, std::variant<IoamTrace, DexReport> record) {
        {
            std::lock_guard lock(mu);
            if (queue.size() >= config.queue_capacity) {
                dropped++;
                return;
            }
            queue.push_back({std::string(origin.exporter), origin.domain, std::move(record)});
            queued.store(queue.size(), std::memory_order_relaxed);
        }
        cv.notify_one();
    }

    void run() {
        std::vector<Item> batch;
        auto next_retention = std::chrono::steady_clock::now();
        for (;;) {
            bool stop = false;
            {
                std::unique_lock lock(mu);
                cv.wait_for(lock, std::chrono::seconds(1),
                            [&] { return !queue.empty() || stopping; });
                stop = stopping && queue.empty();
                const std::size_t n = std::min(queue.size(), config.batch_size);
                batch.assign(std::make_move_iterator(queue.begin()),
                             std::make_move_iterator(queue.begin() + static_cast<long>(n)));
                queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
                queued.store(queue.size(), std::memory_order_relaxed);
                in_flight = n;
            }
            if (!batch.empty()) {
                write(batch);
                batch.clear();
            }
            {
                std::lock_guard lock(mu);
                in_flight = 0;
            }
            flushed_cv.notify_all();
            if (std::chrono::steady_clock::now() >= next_retention) {
                apply_retention();
                next_retention = std::chrono::steady_clock::now() +
                                 std::chrono::seconds(config.retention_interval_s);
            }
            if (stop) {
                return;
            }
        }
    }

    void write(const std::vector<Item>& batch) {
        const auto t0 = std::chrono::steady_clock::now();
        try {
            exec(writer_db.get(), "BEGIN");
            for (const Item& item : batch) {
                insert(item);
            }
            exec(writer_db.get(), "COMMIT");
            written += batch.size();
            batches++;
        } catch (const std::exception&) {
            sqlite3_exec(writer_db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            insert_record.reset();
            insert_hop.reset();
            errors++;
            return;
        }
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::function<void(double, std::size_t)> fn;
        {
            std::lock_guard lock(mu);
            fn = batch_observer;
        }
        if (fn) {
            fn(secs, batch.size());
        }
    }

    void insert(const Item& item) {
        const IoamTrace* t = std::get_if<IoamTrace>(&item.record);
        const DexReport* d = std::get_if<DexReport>(&item.record);
        std::span<const IoamNode> nodes =
            t ? std::span<const IoamNode>(t->nodes) : std::span<const IoamNode>(&d->node, 1);
        Stmt& r = insert_record;
        r.bind(1, t ? 0 : 1)
            .bind(2, static_cast<std::int64_t>(t ? t->observation_time_ns : d->observation_time_ns))
            .bind_text(3, item.exporter)
            .bind(4, item.domain)
            .bind(5, t ? t->namespace_id : d->namespace_id)
            .bind(6, t ? t->trace_type : d->trace_type)
            .bind(7, t ? t->node_len : 0)
            .bind(8, t ? t->flags : d->flags)
            .bind(9, t ? 0 : d->ext_flags);
        r.bind(10, d ? d->flow_id : std::nullopt).bind(11, d ? d->sequence_number : std::nullopt);
        const std::string path = analysis::path_key(nodes);
        if (nodes.empty()) {
            r.bind_null(12).bind_null(13);
        } else {
            r.bind_text(12, path).bind(13, path_hash(path));
        }
        if (t) {
            r.bind(14, analysis::end_to_end_ns(nodes, config.fraction_unit));
            r.bind_blob(15, t->raw_data);
        } else {
            r.bind_null(14).bind_null(15);
        }
        step_done(r);
        const std::int64_t id = sqlite3_last_insert_rowid(writer_db.get());
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            insert_node(id, i, nodes);
        }
    }

    void insert_node(std::int64_t id, std::size_t i, std::span<const IoamNode> nodes) {
        const IoamNode& n = nodes[i];
        Stmt& h = insert_hop;
        h.bind(1, id)
            .bind(2, static_cast<std::int64_t>(i))
            .bind(3, analysis::node_identity(n))
            .bind(4, n.hop_limit)
            .bind(5, n.node_id)
            .bind(6, n.ingress_if_id)
            .bind(7, n.egress_if_id)
            .bind(8, n.timestamp_secs)
            .bind(9, n.timestamp_frac)
            .bind(10, n.transit_delay)
            .bind(11, n.namespace_data)
            .bind(12, n.queue_depth)
            .bind(13, n.checksum_complement)
            .bind(14, n.hop_limit_wide)
            .bind(15, n.node_id_wide)
            .bind(16, n.ingress_if_id_wide)
            .bind(17, n.egress_if_id_wide)
            .bind(18, n.namespace_data_wide)
            .bind(19, n.buffer_occupancy)
            .bind(22, analysis::segment_delay_ns(nodes, i, config.fraction_unit));
        if (n.opaque_state) {
            h.bind(20, n.opaque_state->schema_id).bind_blob(21, n.opaque_state->data);
        } else {
            h.bind_null(20).bind_null(21);
        }
        step_done(h);
    }

    void step_done(Stmt& s) {
        const int rc = s.step();
        s.reset();
        if (rc != SQLITE_DONE) {
            throw std::runtime_error(sqlite3_errmsg(writer_db.get()));
        }
    }

    void update_size() {
        sqlite3* db = writer_db.get();
        db_bytes = static_cast<std::uint64_t>(
            (pragma_int(db, "PRAGMA page_count") - pragma_int(db, "PRAGMA freelist_count")) *
            pragma_int(db, "PRAGMA page_size"));
    }

    // Deletes records older than the age limit, then the oldest records while the pages in
    // use exceed the size limit (freed pages are reused, so the file stops growing).
    void apply_retention() {
        sqlite3* db = writer_db.get();
        try {
            if (config.retention_age_s > 0) {
                const auto cutoff = static_cast<std::int64_t>(
                    now_ns() - std::min(now_ns(), config.retention_age_s * 1'000'000'000));
                delete_where("time_ns < " + std::to_string(cutoff));
            }
            update_size();
            for (int round = 0; config.retention_max_bytes > 0 &&
                                db_bytes > config.retention_max_bytes && round < 20;
                 ++round) {
                const auto count = pragma_int(db, "SELECT count(*) FROM records");
                if (count == 0) {
                    break;
                }
                // Aim 10% under the limit, assuming bytes proportional to records.
                const double excess = 1.0 - 0.9 * static_cast<double>(config.retention_max_bytes) /
                                                static_cast<double>(db_bytes);
                const auto victims = std::max<std::int64_t>(
                    static_cast<std::int64_t>(excess * static_cast<double>(count)), 1);
                const auto boundary =
                    pragma_int(db, ("SELECT id FROM records ORDER BY id LIMIT 1 OFFSET " +
                                    std::to_string(std::min(victims, count) - 1))
                                       .c_str());
                delete_where("id <= " + std::to_string(boundary));
                update_size();
            }
        } catch (const std::exception&) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            errors++;
        }
    }

    void delete_where(const std::string& cond) {
        sqlite3* db = writer_db.get();
        exec(db, "BEGIN");
        exec(db, ("DELETE FROM hops WHERE record_id IN (SELECT id FROM records WHERE " + cond + ")")
                     .c_str());
        exec(db, ("DELETE FROM records WHERE " + cond).c_str());
        retained_deleted += static_cast<std::uint64_t>(sqlite3_changes(db));
        exec(db, "COMMIT");
    }

    // Reads (reader connection, under read_mu).
    StoredRecord row_to_record(Stmt& s) {
        StoredRecord out;
        out.id = s.i64(0);
        out.exporter = s.text(3);
        out.domain = static_cast<std::uint32_t>(s.i64(4));
        std::vector<IoamNode> nodes = read_hops(out.id);
        if (s.i64(1) == 0) {
            IoamTrace t;
            t.observation_time_ns = static_cast<std::uint64_t>(s.i64(2));
            t.observation_domain = out.domain;
            t.namespace_id = static_cast<std::uint16_t>(s.i64(5));
            t.trace_type = static_cast<std::uint32_t>(s.i64(6));
            t.node_len = static_cast<std::uint8_t>(s.i64(7));
            t.flags = static_cast<std::uint8_t>(s.i64(8));
            t.raw_data = s.blob(12);
            t.nodes = std::move(nodes);
            out.record = std::move(t);
        } else {
            DexReport d;
            d.observation_time_ns = static_cast<std::uint64_t>(s.i64(2));
            d.observation_domain = out.domain;
            d.namespace_id = static_cast<std::uint16_t>(s.i64(5));
            d.trace_type = static_cast<std::uint32_t>(s.i64(6));
            d.flags = static_cast<std::uint8_t>(s.i64(8));
            d.ext_flags = static_cast<std::uint8_t>(s.i64(9));
            d.flow_id = s.opt<std::uint32_t>(10);
            d.sequence_number = s.opt<std::uint32_t>(11);
            if (!nodes.empty()) {
                d.node = std::move(nodes.front());
            }
            out.record = std::move(d);
        }
        return out;
    }

    std::vector<IoamNode> read_hops(std::int64_t id) {
        std::vector<IoamNode> nodes;
        Stmt& s = select_hops;
        s.reset();  // in case an earlier read threw half way
        s.bind(1, id);
        each_row(s, [&] {
            IoamNode& n = nodes.emplace_back();
            n.hop_limit = s.opt<std::uint8_t>(0);
            n.node_id = s.opt<std::uint32_t>(1);
            n.ingress_if_id = s.opt<std::uint16_t>(2);
            n.egress_if_id = s.opt<std::uint16_t>(3);
            n.timestamp_secs = s.opt<std::uint32_t>(4);
            n.timestamp_frac = s.opt<std::uint32_t>(5);
            n.transit_delay = s.opt<std::uint32_t>(6);
            n.namespace_data = s.opt<std::uint32_t>(7);
            n.queue_depth = s.opt<std::uint32_t>(8);
            n.checksum_complement = s.opt<std::uint32_t>(9);
            n.hop_limit_wide = s.opt<std::uint8_t>(10);
            n.node_id_wide = s.opt<std::uint64_t>(11);
            n.ingress_if_id_wide = s.opt<std::uint32_t>(12);
            n.egress_if_id_wide = s.opt<std::uint32_t>(13);
            n.namespace_data_wide = s.opt<std::uint64_t>(14);
            n.buffer_occupancy = s.opt<std::uint32_t>(15);
            if (!s.null(16)) {
                n.opaque_state = OpaqueState{static_cast<std::uint32_t>(s.i64(16)), s.blob(17)};
            }
        });
        s.reset();
        return nodes;
    }

    const StoreConfig config;
    Db writer_db;
    Db reader_db;
    Stmt insert_record;
    Stmt insert_hop;
    Stmt select_hops;
    std::mutex read_mu;

    std::mutex mu;  // queue, stopping, batch_observer
    std::condition_variable cv;
    std::condition_variable flushed_cv;
    std::deque<Item> queue;
    bool stopping = false;
    std::size_t in_flight = 0;  // records taken by the writer, not yet committed
    std::function<void(double, std::size_t)> batch_observer;
    std::thread writer;

    std::atomic<std::uint64_t> queued{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> retained_deleted{0};
    std::atomic<std::uint64_t> db_bytes{0};
};

SqliteStore::SqliteStore(const StoreConfig& config) : impl_(std::make_unique<Impl>(config)) {}

SqliteStore::~SqliteStore() {
    stop();
}

void SqliteStore::start() {
    if (!impl_->writer.joinable()) {
        impl_->writer = std::thread([this] { impl_->run(); });
    }
}

void SqliteStore::stop() {
    if (!impl_->writer.joinable()) {
        return;
    }
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->cv.notify_one();
    impl_->writer.join();
}

void SqliteStore::flush() {
    std::unique_lock lock(impl_->mu);
    impl_->flushed_cv.wait(lock, [&] { return impl_->queue.empty() && impl_->in_flight == 0; });
}

void SqliteStore::set_batch_observer(std::function<void(double, std::size_t)> fn) {
    std::lock_guard lock(impl_->mu);
    impl_->batch_observer = std::move(fn);
}

void SqliteStore::consume(const Origin& origin, const IoamTrace& trace) {
    impl_->enqueue(origin, trace);
}

void SqliteStore::consume(const Origin& origin, const DexReport& report) {
    impl_->enqueue(origin, report);
}

Result<std::vector<StoredRecord>> SqliteStore::query(const TraceQuery& q) {
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM records WHERE id > ?1";
    if (q.kind) {
        sql += " AND kind = ?2";
    }
    if (q.namespace_id) {
        sql += " AND namespace = ?3";
    }
    if (q.node_id) {
        sql += " AND id IN (SELECT record_id FROM hops WHERE node = ?4 OR node_id_wide = ?4)";
    }
    if (q.flow_id) {
        sql += " AND flow_id = ?5";
    }
    if (q.from_ns) {
        sql += " AND time_ns >= ?6";
    }
    if (q.to_ns) {
        sql += " AND time_ns < ?7";
    }
    sql += " ORDER BY id LIMIT ?8";
    return guarded_read(impl_->read_mu, [&] {
        Stmt s(impl_->reader_db.get(), sql);
        s.bind(1, q.after_id)
            .bind(2, q.kind ? std::optional<int>(static_cast<int>(*q.kind)) : std::nullopt)
            .bind(3, q.namespace_id)
            .bind(4, q.node_id)
            .bind(5, q.flow_id)
            .bind(6, q.from_ns)
            .bind(7, q.to_ns)
            .bind(8, static_cast<std::int64_t>(q.limit));
        std::vector<StoredRecord> out;
        each_row(s, [&] { out.push_back(impl_->row_to_record(s)); });
        return out;
    });
}

Result<std::optional<StoredRecord>> SqliteStore::get(std::int64_t id) {
    return guarded_read(impl_->read_mu, [&] {
        Stmt s(impl_->reader_db.get(),
               std::string("SELECT ") + kRecordColumns + " FROM records WHERE id = ?");
        s.bind(1, id);
        std::optional<StoredRecord> out;
        each_row(s, [&] { out = impl_->row_to_record(s); });
        return out;
    });
}

Result<std::vector<NodeSummary>> SqliteStore::nodes(std::size_t limit) {
    return guarded_read(impl_->read_mu, [&] {
        Stmt s(impl_->reader_db.get(),
               "SELECT h.node, min(r.time_ns), max(r.time_ns), count(DISTINCT h.record_id), "
               "count(h.transit_delay), min(h.transit_delay), max(h.transit_delay), "
               "avg(h.transit_delay), count(h.segment_ns), min(h.segment_ns), max(h.segment_ns), "
               "avg(h.segment_ns) FROM hops h JOIN records r ON r.id = h.record_id "
               "WHERE h.node IS NOT NULL GROUP BY h.node ORDER BY h.node LIMIT ?");
        s.bind(1, static_cast<std::int64_t>(limit));
        std::vector<NodeSummary> out;
        each_row(s, [&] {
            NodeSummary n;
            n.node_id = static_cast<std::uint64_t>(s.i64(0));
            n.first_seen_ns = static_cast<std::uint64_t>(s.i64(1));
            n.last_seen_ns = static_cast<std::uint64_t>(s.i64(2));
            n.records = static_cast<std::uint64_t>(s.i64(3));
            n.transit = {static_cast<std::uint64_t>(s.i64(4)), s.i64(5), s.i64(6), s.f64(7)};
            n.segment = {static_cast<std::uint64_t>(s.i64(8)), s.i64(9), s.i64(10), s.f64(11)};
            out.push_back(n);
        });
        return out;
    });
}

Result<std::vector<PathSummary>> SqliteStore::paths(std::size_t limit, std::size_t sample) {
    return guarded_read(impl_->read_mu, [&] {
        sqlite3* db = impl_->reader_db.get();
        Stmt s(db,
               "SELECT path, count(*), min(time_ns), max(time_ns) FROM records WHERE kind = 0 "
               "AND path IS NOT NULL GROUP BY path ORDER BY count(*) DESC, path LIMIT ?");
        s.bind(1, static_cast<std::int64_t>(limit));
        Stmt delays(db,
                    "SELECT e2e_ns FROM records WHERE path_hash = ? AND path = ? AND kind = 0 "
                    "AND e2e_ns IS NOT NULL ORDER BY id DESC LIMIT ?");
        std::vector<PathSummary> out;
        each_row(s, [&] {
            PathSummary p;
            p.path = s.text(0);
            p.packets = static_cast<std::uint64_t>(s.i64(1));
            p.first_seen_ns = static_cast<std::uint64_t>(s.i64(2));
            p.last_seen_ns = static_cast<std::uint64_t>(s.i64(3));
            delays.bind(1, path_hash(p.path))
                .bind_text(2, p.path)
                .bind(3, static_cast<std::int64_t>(sample));
            std::vector<std::int64_t> values;
            each_row(delays, [&] { values.push_back(delays.i64(0)); });
            delays.reset();
            p.p50_ns = analysis::percentile(values, 0.5);
            p.p90_ns = analysis::percentile(values, 0.9);
            p.p99_ns = analysis::percentile(values, 0.99);
            out.push_back(std::move(p));
        });
        return out;
    });
}

StoreStats SqliteStore::stats() const {
    const Impl& m = *impl_;
    return {m.queued.load(), m.dropped.load(),          m.written.load(), m.batches.load(),
            m.errors.load(), m.retained_deleted.load(), m.db_bytes.load()};
}

}  // namespace ioam::collector::store
