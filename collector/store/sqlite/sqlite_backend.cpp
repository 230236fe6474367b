#include "collector/store/sqlite/sqlite_backend.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "collector/store/record_codec.hpp"
#include "collector/store/sqlite/record_block.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/node_fields.hpp"
#include "common/ioam/trace_type.hpp"

namespace ioam::collector::store {

namespace {

// Records are appended in id order (the collector's ids, not rowids chosen by SQLite), one
// `blocks` row per written batch holding its records packed (record_block.hpp): a row per
// record cost SQLite ~0.6 us, more than the rest of the writer. The hops stay as received in
// the raw trace data and are decoded on read; the compact node form is kept only when the raw
// data does not rebuild them (DEX reports, hop lists). Each path (namespace and node
// identities, plus wide node ids where they differ) and each exporter is one dictionary row.
//
// No per-record index: a block's row keeps its id range, its observation-time range and (in
// block_paths and block_flows) the paths and DEX flows in it, a block-range index: time, node,
// namespace and flow filters decode only the blocks that can match, and age retention deletes
// whole blocks (rewriting the one that straddles the cutoff).
constexpr const char* kTables = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE exporters(id INTEGER PRIMARY KEY, address TEXT NOT NULL, domain INTEGER NOT NULL,
                       UNIQUE(address, domain));
CREATE TABLE paths(id INTEGER PRIMARY KEY, namespace INTEGER NOT NULL, path TEXT NOT NULL,
                   UNIQUE(namespace, path));
CREATE TABLE path_nodes(node INTEGER NOT NULL, path_id INTEGER NOT NULL,
                        PRIMARY KEY(node, path_id)) WITHOUT ROWID;
CREATE TABLE rollup_paths(
    minute INTEGER NOT NULL, path INTEGER NOT NULL, packets REAL NOT NULL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, lost REAL NOT NULL,
    d_count INTEGER NOT NULL, d_sum REAL NOT NULL, d_min INTEGER, d_max INTEGER, hist BLOB,
    PRIMARY KEY(minute, path)) WITHOUT ROWID;
CREATE TABLE rollup_nodes(
    minute INTEGER NOT NULL, node INTEGER NOT NULL, packets REAL NOT NULL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
    t_count INTEGER NOT NULL, t_sum REAL NOT NULL, t_min INTEGER, t_max INTEGER,
    s_count INTEGER NOT NULL, s_sum REAL NOT NULL, s_min INTEGER, s_max INTEGER,
    q_count INTEGER NOT NULL, q_sum REAL NOT NULL, q_min INTEGER, q_max INTEGER,
    PRIMARY KEY(minute, node)) WITHOUT ROWID;
CREATE TABLE rollup_segments(
    minute INTEGER NOT NULL, src INTEGER NOT NULL, dst INTEGER NOT NULL, packets REAL NOT NULL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, lost REAL NOT NULL,
    d_count INTEGER NOT NULL, d_sum REAL NOT NULL, d_min INTEGER, d_max INTEGER, hist BLOB,
    PRIMARY KEY(minute, src, dst)) WITHOUT ROWID;
)sql";

constexpr const char* kBlockTables = R"sql(
CREATE TABLE blocks(first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,
                    min_time INTEGER NOT NULL, max_time INTEGER NOT NULL,
                    count INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE block_paths(first_id INTEGER NOT NULL, path_id INTEGER NOT NULL,
                         PRIMARY KEY(first_id, path_id)) WITHOUT ROWID;
CREATE TABLE block_flows(first_id INTEGER NOT NULL, flow_id INTEGER NOT NULL,
                         PRIMARY KEY(first_id, flow_id)) WITHOUT ROWID;
)sql";

constexpr const char* kHighWater =
    "INSERT INTO meta(key,value) VALUES('high_water',?) ON CONFLICT(key) DO UPDATE SET "
    "value=max(value,excluded.value)";

// Upserts add a delta to a minute's row; min/max of an empty side are NULL.
#define IOAM_MOMENTS(p)                                                                          \
#p "_count=" #p "_count+excluded." #p "_count," #p "_sum=" #p "_sum+excluded." #p "_sum," #p \
       "_min=coalesce(min(" #p "_min,excluded." #p "_min)," #p "_min,excluded." #p "_min)," #p   \
       "_max=coalesce(max(" #p "_max,excluded." #p "_max)," #p "_max,excluded." #p "_max)"
#define IOAM_SEEN                                                                            \
    "packets=packets+excluded.packets,first_ns=min(first_ns,excluded.first_ns),last_ns=max(" \
    "last_ns,excluded.last_ns),"
constexpr const char* kUpsertPath =
    "INSERT INTO rollup_paths VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(minute,path) DO UPDATE "
    "SET " IOAM_SEEN
    "lost=lost+excluded.lost," IOAM_MOMENTS(d) ",hist=ioam_hist_merge(hist,excluded.hist)";
constexpr const char* kUpsertNode =
    "INSERT INTO rollup_nodes VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(minute,node) "
    "DO UPDATE SET " IOAM_SEEN IOAM_MOMENTS(t) "," IOAM_MOMENTS(s) "," IOAM_MOMENTS(q);
constexpr const char* kUpsertSegment =
    "INSERT INTO rollup_segments VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(minute,src,dst) DO "
    "UPDATE SET " IOAM_SEEN
    "lost=lost+excluded.lost," IOAM_MOMENTS(d) ",hist=ioam_hist_merge(hist,excluded.hist)";
#undef IOAM_MOMENTS
#undef IOAM_SEEN

// A node or namespace filter matching more paths than this does not narrow the blocks.
constexpr std::size_t kMaxFilterPaths = 512;
// A block is closed at this many records or uncompressed octets, whatever --batch-size is:
// reading one record decodes its whole block, and a reader's memory is bounded by it.
constexpr std::int64_t kBlockRecords = 4096;
constexpr std::size_t kBlockOctets = 1u << 20;
static_assert(kBlockOctets + 4096 < sqlite::kMaxBlockOctets);

struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

// "<database path>: <what>": an operator must see which file failed (--db, or a file that
// is not a database).
std::string failure(sqlite3* db, std::string_view what) {
    const char* file = sqlite3_db_filename(db, "main");
    return std::string(file != nullptr && *file != '\0' ? file : "sqlite") + ": " +
           std::string(what);
}

// A prepared statement.
class Stmt {
  public:
    Stmt() = default;
    Stmt(sqlite3* db, const std::string& sql) {
        if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) !=
            SQLITE_OK) {
            throw std::runtime_error(failure(db, sqlite3_errmsg(db)));
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
    Stmt& bind_real(int i, double v) {
        sqlite3_bind_double(s_, i, v);
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
    // Text and blobs are bound SQLITE_STATIC (no copy): every use binds all parameters again
    // before stepping, so SQLite never reads a pointer from an earlier use.
    Stmt& bind_text(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    // An empty blob is bound as NULL.
    Stmt& bind_blob(int i, std::span<const std::uint8_t> v) {
        if (v.empty()) {
            sqlite3_bind_null(s_, i);
        } else {
            sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        }
        return *this;
    }
    int step() { return sqlite3_step(s_); }
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
    std::span<const std::uint8_t> blob(int col) const {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
        return p ? std::span<const std::uint8_t>(
                       p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::span<const std::uint8_t>{};
    }

  private:
    sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        throw std::runtime_error(failure(db, msg));
    }
}

// Calls on_row() for each row; throws when stepping fails so that a read never passes a
// partial result off as complete.
template <typename OnRow>
void each_row(Stmt& s, OnRow&& on_row) {
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
        on_row();
    }
    s.reset();
    if (rc != SQLITE_DONE) {
        throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errstr(rc));
    }
}

void step_done(sqlite3* db, Stmt& s) {
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) {
        throw std::runtime_error(sqlite3_errmsg(db));
    }
}

std::int64_t pragma_int(sqlite3* db, const char* sql) {
    Stmt s(db, sql);
    return s.step() == SQLITE_ROW ? s.i64(0) : 0;
}

// ioam_hist_merge(a, b): the sum of two encoded histograms (either may be NULL).
void hist_merge(sqlite3_context* ctx, int, sqlite3_value** argv) {
    rollup::Histogram sum;
    for (int i = 0; i < 2; ++i) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            continue;
        }
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_value_blob(argv[i]));
        rollup::Histogram h;
        if (p && h.decode({p, static_cast<std::size_t>(sqlite3_value_bytes(argv[i]))})) {
            sum.merge(h);
        }
    }
    const auto bytes = sum.encode();
    sqlite3_result_blob(ctx, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

// SQLite's memory statistics take a global mutex on every allocation (about 5 % of the
// writer's time, and contended by the API's readers); nothing here reads them. Must run before
// the library initializes, hence before the first open.
void configure_sqlite() {
    static std::once_flag once;
    std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

Db open_db(const std::string& path, int busy_ms) {
    configure_sqlite();
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        throw std::runtime_error("cannot open " + path + ": " +
                                 (raw ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_timeout(db.get(), busy_ms);
    // WAL with synchronous=NORMAL: a commit survives the process being killed (only a power
    // loss can take the last transactions back).
    exec(db.get(),
         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; "
         "PRAGMA cache_size=-65536;");
    sqlite3_create_function(db.get(), "ioam_hist_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                            nullptr, hist_merge, nullptr, nullptr);
    return db;
}

// Schema versions 1 and 2: records with a per-hop `hops` table; converted in place.
constexpr std::int64_t kOldestConvertible = 1;
// Versions 3 and 4: a row per record (3 with a DEX flow index); their records are packed into
// blocks in place.
constexpr std::int64_t kOldestRowPerRecord = 3;

// Creates the schema in a new database; returns the version found otherwise. Throws for a
// version this collector cannot read.
std::int64_t prepare_schema(sqlite3* db, const std::string& path) {
    const auto version = pragma_int(db, "PRAGMA user_version");
    if (version > kSqliteSchemaVersion || (version > 0 && version < kOldestConvertible)) {
        throw std::runtime_error(
            "database " + path + " has schema version " + std::to_string(version) +
            ", this collector reads versions " + std::to_string(kOldestConvertible) + " to " +
            std::to_string(kSqliteSchemaVersion) + ": start it with a new --db file");
    }
    if (version != 0) {
        return version;
    }
    exec(db, "BEGIN IMMEDIATE");
    try {
        exec(db, kTables);
        exec(db, kBlockTables);
        exec(db, ("PRAGMA user_version=" + std::to_string(kSqliteSchemaVersion)).c_str());
        exec(db, "COMMIT");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return kSqliteSchemaVersion;
}

// One record of a version 1 or 2 database (records_v2 columns, hops rows), as it was read.
std::variant<IoamTrace, DexReport> old_record(const Stmt& r, std::vector<IoamNode> nodes) {
    if (r.i64(1) == 0) {
        IoamTrace t;
        t.observation_time_ns = static_cast<std::uint64_t>(r.i64(2));
        t.observation_domain = static_cast<std::uint32_t>(r.i64(4));
        t.namespace_id = static_cast<std::uint16_t>(r.i64(5));
        t.trace_type = static_cast<std::uint32_t>(r.i64(6));
        t.node_len = static_cast<std::uint8_t>(r.i64(7));
        t.flags = static_cast<std::uint8_t>(r.i64(8));
        const auto raw = r.blob(12);
        t.raw_data.assign(raw.begin(), raw.end());
        t.nodes = std::move(nodes);
        return t;
    }
    DexReport d;
    d.observation_time_ns = static_cast<std::uint64_t>(r.i64(2));
    d.observation_domain = static_cast<std::uint32_t>(r.i64(4));
    d.namespace_id = static_cast<std::uint16_t>(r.i64(5));
    d.trace_type = static_cast<std::uint32_t>(r.i64(6));
    d.flags = static_cast<std::uint8_t>(r.i64(8));
    d.ext_flags = static_cast<std::uint8_t>(r.i64(9));
    d.flow_id = r.opt<std::uint32_t>(10);
    d.sequence_number = r.opt<std::uint32_t>(11);
    if (!nodes.empty()) {
        d.node = std::move(nodes.front());
    }
    return d;
}

// The `hops` columns of versions 1 and 2: the node field table's, then the opaque state.
std::string old_hops_query() {
    std::string q = "SELECT ";
    for (const auto& f : node_fields::kInfo) {
        if (!f.column.empty()) {
            q.append(f.column).append(",");
        }
    }
    return q + "opaque_schema,opaque_data FROM hops WHERE record_id=? ORDER BY idx";
}

// Index in old_hops_query() of row `row`'s column (of the opaque schema for row == kCount).
constexpr int old_hop_column(std::size_t row) {
    int col = 0;
    for (std::size_t i = 0; i < row; ++i) {
        col += node_fields::kInfo[i].column.empty() ? 0 : 1;
    }
    return col;
}

std::vector<IoamNode> old_hops(Stmt& h, std::int64_t id) {
    std::vector<IoamNode> nodes;
    h.bind(1, id);
    each_row(h, [&] {
        IoamNode& n = nodes.emplace_back();
        node_fields::for_each([&](auto i) {
            using Row = std::remove_cvref_t<decltype(node_fields::row<i>)>;
            if constexpr (!node_fields::row<i>.column.empty()) {
                n.*Row::member = h.opt<typename Row::value_type>(old_hop_column(i));
            }
        });
        const int schema = old_hop_column(node_fields::kCount);
        if (!h.null(schema)) {
            const auto data = h.blob(schema + 1);
            n.opaque_state = OpaqueState{static_cast<std::uint32_t>(h.i64(schema)),
                                         std::vector<std::uint8_t>(data.begin(), data.end())};
        }
    });
    return nodes;
}

// The dictionary key of a record's path: node identities oldest first, and the wide node ids
// when any differs from its identity (so that a filter on a wide id finds the record).
std::string path_text(std::span<const NodeIds> nodes) {
    std::string key = analysis::path_key(nodes);
    const bool wide = std::any_of(nodes.begin(), nodes.end(), [](const NodeIds& n) {
        return n.node_id_wide && identity(n) != n.node_id_wide;
    });
    if (wide) {
        key += '|';
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            key += it == nodes.rbegin() ? "" : ",";
            key += it->node_id_wide ? std::to_string(*it->node_id_wide) : "-";
        }
    }
    return key;
}

// Reuses `k`'s buffer: no allocation once it is large enough.
void set_dict_key(std::string& k, std::uint32_t a, std::string_view b) {
    k.assign(reinterpret_cast<const char*>(&a), sizeof a);
    k += b;
}

// A record's path as record_paths_ keys it: its namespace, then per node oldest first its
// identity and wide id (UINT64_MAX when absent). Hashed and compared straight from the node
// ids, so that looking up a path seen before copies nothing.
struct PathWords {
    std::uint16_t ns;
    std::span<const NodeIds> nodes;
    std::uint64_t hash = 0;  // path_hash(), once per lookup

    std::size_t size() const noexcept { return 1 + 2 * nodes.size(); }
    // Calls f(word) for each word in order while it returns true; false when one did not.
    template <typename F>
    bool each(F&& f) const {
        if (!f(std::uint64_t{ns})) {
            return false;
        }
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            if (!f(identity(*it).value_or(UINT64_MAX)) ||
                !f(it->node_id_wide.value_or(UINT64_MAX))) {
                return false;
            }
        }
        return true;
    }
};

std::uint64_t path_hash(const PathWords& p) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a, per word
    p.each([&](std::uint64_t w) {
        h = (h ^ w) * 1099511628211ull;
        return true;
    });
    return h;
}

// A known path's words with their hash: the table asks for a stored key's hash to find where a
// bucket ends, which walking the words would make a cache miss or two per lookup.
struct PathKey {
    std::uint64_t hash;
    std::vector<std::uint64_t> words;
};

struct PathHash {
    using is_transparent = void;
    std::size_t operator()(const PathKey& k) const noexcept { return k.hash; }
    std::size_t operator()(const PathWords& p) const noexcept { return p.hash; }
};

struct PathEqual {
    using is_transparent = void;
    bool operator()(const PathKey& a, const PathKey& b) const noexcept {
        return a.hash == b.hash && a.words == b.words;
    }
    bool operator()(const PathWords& p, const PathKey& k) const noexcept {
        std::size_t i = 0;
        return p.hash == k.hash && p.size() == k.words.size() &&
               p.each([&](std::uint64_t w) { return w == k.words[i++]; });
    }
    bool operator()(const PathKey& k, const PathWords& p) const noexcept { return (*this)(p, k); }
};

struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId&) const = default;
};

std::optional<FileId> file_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return FileId{st.st_dev, st.st_ino};
}

// Another process's database, for reading only (ioam-query): SQLITE_OPEN_READONLY through a
// "file:...?mode=ro" URI, so that nothing is ever written to it (no schema, no journal mode, no
// conversion); WAL lets it read while the collector writes.
Db open_read_only(const std::string& path) {
    if (!file_id(path)) {
        throw std::runtime_error("cannot open " + path + ": no such file");
    }
    std::string uri = "file:";
    for (const char c : path) {
        if (c == '%' || c == '?' || c == '#') {
            constexpr char kHex[] = "0123456789ABCDEF";
            const auto u = static_cast<unsigned char>(c);
            uri += {'%', kHex[u >> 4], kHex[u & 15]};
        } else {
            uri += c;
        }
    }
    uri += "?mode=ro";
    configure_sqlite();
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        throw std::runtime_error("cannot open " + path + ": " +
                                 (raw ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_timeout(db.get(), 2000);
    const auto version = pragma_int(db.get(), "PRAGMA user_version");
    if (version != kSqliteSchemaVersion) {
        throw std::runtime_error("database " + path + " has schema version " +
                                 std::to_string(version) + ", this reader reads version " +
                                 std::to_string(kSqliteSchemaVersion) +
                                 " (ioam-collector converts older ones when it opens them)");
    }
    return db;
}

// A block that does not decode is a damaged file: the read fails rather than return part of it.
void check_block(const sqlite::BlockReader& block, std::int64_t first_id) {
    if (block.corrupt()) {
        throw std::runtime_error("block " + std::to_string(first_id) + " is damaged");
    }
}

// The dictionary rows (exporters, paths) that the records of one read refer to, each read once.
class Names {
  public:
    explicit Names(sqlite3* db)
        : exporter_(db, "SELECT address, domain FROM exporters WHERE id = ?"),
          path_(db, "SELECT namespace, path FROM paths WHERE id = ?") {}

    StoredRecord record(const sqlite::PackedRecord& r) {
        StoredRecord out;
        out.id = r.id;
        const auto& [address, domain] = lookup(exporters_, exporter_, r.exporter, [this] {
            return std::pair(exporter_.text(0), static_cast<std::uint32_t>(exporter_.i64(1)));
        });
        out.exporter = address;
        out.domain = domain;
        const auto& [ns, path] = lookup(paths_, path_, r.path, [this] {
            return std::pair(static_cast<std::uint16_t>(path_.i64(0)), path_.text(1));
        });
        out.path = path.substr(0, path.find('|'));  // without path_text()'s wide ids
        RecordHeader h = r.header;
        h.namespace_id = ns;
        out.record = rebuild(h, r.raw, r.nodes);
        return out;
    }

  private:
    template <typename Map, typename Row>
    static const typename Map::mapped_type& lookup(Map& map, Stmt& s, std::int64_t id, Row&& row) {
        if (auto it = map.find(id); it != map.end()) {
            return it->second;
        }
        s.bind(1, id);
        const int rc = s.step();
        if (rc != SQLITE_ROW) {
            s.reset();
            throw std::runtime_error("dictionary row " + std::to_string(id) + " missing");
        }
        auto value = row();
        s.reset();
        return map.emplace(id, std::move(value)).first->second;
    }

    Stmt exporter_, path_;
    std::unordered_map<std::int64_t, std::pair<std::string, std::uint32_t>> exporters_;
    std::unordered_map<std::int64_t, std::pair<std::uint16_t, std::string>> paths_;
};

class SqliteBackend final : public StoreBackend {
  public:
    explicit SqliteBackend(std::string path) : path_(std::move(path)) { open(); }
    struct ReadOnly {};
    // Only the reads work: there is no writer connection.
    SqliteBackend(std::string path, ReadOnly)
        : path_(std::move(path)), reader_(open_read_only(path_)) {}

    std::int64_t high_water() override { return high_water_; }

    Status write(const Batch& batch, std::string& why) override {
        try {
            reopen_if_replaced();
            sqlite3* db = writer_.get();
            exec(db, "BEGIN");
            insert_batch(batch);
            exec(db, "COMMIT");
        } catch (const std::exception& e) {
            why = e.what();
            if (writer_) {
                sqlite3_exec(writer_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            }
            // The dictionaries may hold rows the rollback took back: reload them.
            clear_dictionaries();
            if (writer_) {
                try {
                    load_dictionaries();
                } catch (const std::exception&) {
                    writer_.reset();  // reopened by the next attempt
                }
            }
            return Errc::invalid_argument;
        }
        if (!batch.records.empty()) {
            high_water_ = std::max(high_water_, batch.records.back().id);
        }
        return Ok{};
    }

    Result<std::uint64_t> retain(std::uint64_t cutoff_ns, std::uint64_t max_bytes,
                                 std::string& why) override {
        sqlite3* db = writer_.get();
        if (!db) {
            why = "database not open";
            return Errc::invalid_argument;
        }
        std::uint64_t deleted = 0;
        try {
            if (cutoff_ns > 0) {
                deleted += delete_older(static_cast<std::int64_t>(
                    std::min<std::uint64_t>(cutoff_ns, static_cast<std::uint64_t>(INT64_MAX))));
                const auto minute = static_cast<std::int64_t>(cutoff_ns / rollup::kMinuteNs);
                exec(db, "BEGIN");
                for (const char* t : {"rollup_paths", "rollup_nodes", "rollup_segments"}) {
                    Stmt del(db, "DELETE FROM " + std::string(t) + " WHERE minute < ?");
                    step_done(db, del.bind(1, minute));
                }
                exec(db, "COMMIT");
            }
            for (int round = 0; max_bytes > 0 && size_bytes() > max_bytes && round < 20; ++round) {
                Stmt range(db, "SELECT min(first_id), max(last_id) FROM blocks");
                if (range.step() != SQLITE_ROW || range.null(0)) {
                    break;
                }
                const std::int64_t lo = range.i64(0);
                const auto count = static_cast<double>(range.i64(1) - lo + 1);
                range.reset();
                // Aim 10 % under the limit, taking bytes as proportional to records.
                const double excess =
                    1.0 - 0.9 * static_cast<double>(max_bytes) / static_cast<double>(size_bytes());
                const auto victims =
                    std::max<std::int64_t>(static_cast<std::int64_t>(excess * count), 1);
                deleted += delete_below(lo + victims);
            }
        } catch (const std::exception& e) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            why = e.what();
            return Errc::invalid_argument;
        }
        return deleted;
    }

    std::uint64_t size_bytes() override {
        sqlite3* db = writer_.get();
        if (!db) {
            return 0;
        }
        return static_cast<std::uint64_t>(
            (pragma_int(db, "PRAGMA page_count") - pragma_int(db, "PRAGMA freelist_count")) *
            pragma_int(db, "PRAGMA page_size"));
    }

    Result<std::vector<StoredRecord>> query(const TraceQuery& q) override {
        return read([&] {
            std::vector<StoredRecord> out;
            std::string where;
            // Paths of the node and namespace filters, ascending.
            std::vector<std::int64_t> paths;
            const bool by_path = q.node_id || q.namespace_id;
            if (by_path) {
                std::string paths_sql = "SELECT id FROM paths WHERE 1";
                if (q.namespace_id) {
                    paths_sql += " AND namespace = ?1";
                }
                if (q.node_id) {
                    paths_sql += " AND id IN (SELECT path_id FROM path_nodes WHERE node = ?2)";
                }
                Stmt ps(reader_.get(), paths_sql + " ORDER BY id");
                ps.bind(1, q.namespace_id).bind(2, q.node_id);
                each_row(ps, [&] { paths.push_back(ps.i64(0)); });
                if (paths.empty()) {
                    return out;
                }
                if (paths.size() <= kMaxFilterPaths) {
                    where +=
                        " AND EXISTS (SELECT 1 FROM block_paths p WHERE p.first_id = b.first_id "
                        "AND p.path_id IN (";
                    for (std::size_t i = 0; i < paths.size(); ++i) {
                        where += (i ? "," : "") + std::to_string(paths[i]);
                    }
                    where += "))";
                }
            }
            if (q.flow_id) {
                where +=
                    " AND EXISTS (SELECT 1 FROM block_flows f WHERE f.first_id = b.first_id AND "
                    "f.flow_id = ?5)";
            }
            if (q.from_ns) {
                where += " AND b.max_time >= ?6";
            }
            if (q.to_ns) {
                where += " AND b.min_time < ?7";
            }
            // From the block holding the record after the cursor, by the primary key.
            Stmt blocks(reader_.get(),
                        "SELECT b.first_id, b.data FROM blocks b WHERE b.first_id >= "
                        "coalesce((SELECT max(first_id) FROM blocks WHERE first_id <= ?1), 0) "
                        "AND b.last_id > ?1" +
                            where + " ORDER BY b.first_id");
            blocks.bind(1, q.after_id)
                .bind(5, q.flow_id)
                .bind(6, clamp_time(q.from_ns))
                .bind(7, clamp_time(q.to_ns));
            const auto wanted = [&](const sqlite::PackedRecord& r) {
                const RecordHeader& h = r.header;
                return r.id > q.after_id && (!q.kind || h.dex == (*q.kind == RecordKind::dex)) &&
                       (!q.flow_id || h.flow_id == q.flow_id) &&
                       (!q.from_ns || h.time_ns >= *q.from_ns) &&
                       (!q.to_ns || h.time_ns < *q.to_ns) &&
                       (!by_path || std::binary_search(paths.begin(), paths.end(), r.path));
            };
            Names names(reader_.get());
            sqlite::PackedRecord r;
            int rc = SQLITE_ROW;
            while (out.size() < q.limit && (rc = blocks.step()) == SQLITE_ROW) {
                sqlite::BlockReader block(blocks.i64(0), blocks.blob(1));
                while (out.size() < q.limit && block.next(r)) {
                    if (wanted(r)) {
                        out.push_back(names.record(r));
                    }
                }
                check_block(block, blocks.i64(0));
            }
            blocks.reset();
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errstr(rc));
            }
            return out;
        });
    }

    Result<std::optional<StoredRecord>> get(std::int64_t id) override {
        return read([&] {
            Stmt s(reader_.get(),
                   "SELECT first_id, data FROM blocks WHERE first_id <= ?1 AND last_id >= ?1 "
                   "ORDER BY first_id DESC LIMIT 1");
            s.bind(1, id);
            std::optional<StoredRecord> out;
            Names names(reader_.get());
            each_row(s, [&] {
                sqlite::BlockReader block(s.i64(0), s.blob(1));
                sqlite::PackedRecord r;
                while (!out && block.next(r)) {
                    if (r.id == id) {
                        out = names.record(r);
                    }
                }
                check_block(block, s.i64(0));
            });
            return out;
        });
    }

    Result<std::vector<PathSummary>> paths(Window w, std::size_t limit) override {
        return read([&] {
            std::vector<std::pair<rollup::PathKey, rollup::PathRow>> rows;
            Stmt s = window_stmt(
                "SELECT r.minute,p.namespace,p.path,r.packets,r.first_ns,r.last_ns,r.lost,"
                "r.d_count,r.d_sum,r.d_min,r.d_max,r.hist FROM rollup_paths r JOIN paths p ON "
                "p.id=r.path",
                w);
            each_row(s, [&] {
                auto& [k, r] = rows.emplace_back();
                k = {static_cast<std::uint64_t>(s.i64(0)), static_cast<std::uint16_t>(s.i64(1)),
                     s.text(2)};
                r.seen = seen(s, 3);
                r.lost = s.f64(6);
                r.delay = moments(s, 7);
                r.hist.decode(s.blob(11));
            });
            return rollup::summarise_paths(std::move(rows), limit);
        });
    }

    Result<std::vector<NodeSummary>> nodes(Window w, std::size_t limit) override {
        return read([&] {
            std::vector<std::pair<rollup::NodeKey, rollup::NodeRow>> rows;
            Stmt s = window_stmt("SELECT * FROM rollup_nodes r", w);
            each_row(s, [&] {
                auto& [k, r] = rows.emplace_back();
                k = {static_cast<std::uint64_t>(s.i64(0)), static_cast<std::uint64_t>(s.i64(1))};
                r.seen = seen(s, 2);
                r.transit = moments(s, 5);
                r.segment = moments(s, 9);
                r.queue = moments(s, 13);
            });
            return rollup::summarise_nodes(std::move(rows), limit);
        });
    }

    Result<std::vector<SegmentSummary>> segments(Window w, std::size_t limit) override {
        return read([&] {
            std::vector<std::pair<rollup::SegmentKey, rollup::SegmentRow>> rows;
            Stmt s = window_stmt("SELECT * FROM rollup_segments r", w);
            each_row(s, [&] {
                auto& [k, r] = rows.emplace_back();
                k = {static_cast<std::uint64_t>(s.i64(0)), static_cast<std::uint64_t>(s.i64(1)),
                     static_cast<std::uint64_t>(s.i64(2))};
                r.seen = seen(s, 3);
                r.lost = s.f64(6);
                r.delay = moments(s, 7);
                r.hist.decode(s.blob(11));
            });
            return rollup::summarise_segments(std::move(rows), limit);
        });
    }

  private:
    void open() {
        writer_ = open_db(path_, 200);  // short: a held lock fails the batch, which is retried
        const auto version = prepare_schema(writer_.get(), path_);
        if (version >= kOldestRowPerRecord && version < kSqliteSchemaVersion) {
            pack_records(version);
        } else if (version < kSqliteSchemaVersion) {
            convert(version);
        } else {
            prepare_writes();
        }
        reader_ = open_db(path_, 2000);
        opened_ = file_id(path_);
        high_water_ =
            std::max(high_water_,
                     pragma_int(writer_.get(), "SELECT value FROM meta WHERE key='high_water'"));
    }

    void prepare_writes() {
        insert_high_water_ = Stmt(writer_.get(), kHighWater);
        insert_block_ = Stmt(writer_.get(), "INSERT INTO blocks VALUES(?,?,?,?,?,?)");
        insert_block_path_ = Stmt(writer_.get(), "INSERT INTO block_paths VALUES(?,?)");
        insert_block_flow_ = Stmt(writer_.get(), "INSERT INTO block_flows VALUES(?,?)");
        upsert_path_ = Stmt(writer_.get(), kUpsertPath);
        upsert_node_ = Stmt(writer_.get(), kUpsertNode);
        upsert_segment_ = Stmt(writer_.get(), kUpsertSegment);
        insert_exporter_ = Stmt(writer_.get(), "INSERT INTO exporters(address,domain) VALUES(?,?)");
        insert_path_ = Stmt(writer_.get(), "INSERT INTO paths(namespace,path) VALUES(?,?)");
        insert_path_node_ =
            Stmt(writer_.get(), "INSERT OR IGNORE INTO path_nodes(node,path_id) VALUES(?,?)");
        clear_dictionaries();
        load_dictionaries();
    }

    void clear_dictionaries() {
        exporters_.clear();
        paths_.clear();
        record_paths_.clear();
        last_exporter_id_ = 0;
    }

    // Runs `body` in one transaction: all of a conversion or nothing.
    template <typename Body>
    void convert_from(std::int64_t version, Body&& body) {
        sqlite3* db = writer_.get();
        exec(db, "BEGIN IMMEDIATE");
        try {
            body(db);
            exec(db, "COMMIT");
        } catch (const std::exception& e) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw std::runtime_error("cannot convert " + path_ + " from schema version " +
                                     std::to_string(version) + ": " + e.what());
        }
    }

    // Versions 3 and 4 kept a row per record (3 also a DEX flow index): their records are
    // packed into blocks of the same ids and contents.
    void pack_records(std::int64_t version) {
        convert_from(version, [&](sqlite3* db) {
            exec(db,
                 "DROP INDEX IF EXISTS records_flow; ALTER TABLE records RENAME TO records_v4; "
                 "DROP TABLE blocks; DROP TABLE block_paths; DROP TABLE IF EXISTS block_flows;");
            exec(db, kBlockTables);
            prepare_writes();
            Stmt r(db,
                   "SELECT id,time_ns,kind,exporter,path,obs_domain,trace_type,node_len,flags,"
                   "ext_flags,flow_id,seq,raw,nodes FROM records_v4 ORDER BY id");
            sqlite::PackedRecord p;
            block_open_ = false;
            each_row(r, [&] {
                p.id = r.i64(0);
                RecordHeader& h = p.header;
                h.time_ns = static_cast<std::uint64_t>(r.i64(1));
                h.dex = r.i64(2) != 0;
                p.exporter = r.i64(3);
                p.path = r.i64(4);
                h.obs_domain = static_cast<std::uint32_t>(r.i64(5));
                h.trace_type = static_cast<std::uint32_t>(r.i64(6));
                h.node_len = static_cast<std::uint8_t>(r.i64(7));
                h.flags = static_cast<std::uint8_t>(r.i64(8));
                h.ext_flags = static_cast<std::uint8_t>(r.i64(9));
                h.flow_id = r.opt<std::uint32_t>(10);
                h.seq = r.opt<std::uint32_t>(11);
                p.raw = r.blob(12);
                p.nodes = r.blob(13);
                append(p);
            });
            end_block();
            exec(db, ("DROP TABLE records_v4; PRAGMA user_version=" +
                      std::to_string(kSqliteSchemaVersion))
                         .c_str());
        });
    }

    // Rewrites a version 1 or 2 database in place, in one transaction: every record keeps its
    // id; the per-hop rows become the raw data (or the compact nodes). No rollups: old
    // databases hold no correlated packets.
    void convert(std::int64_t version) {
        convert_from(version, [&](sqlite3* db) {
            exec(db,
                 "DROP INDEX IF EXISTS records_time; DROP INDEX IF EXISTS records_namespace; "
                 "DROP INDEX IF EXISTS records_flow; DROP INDEX IF EXISTS records_path; "
                 "DROP INDEX IF EXISTS hops_node; DROP INDEX IF EXISTS hops_node_wide; "
                 "ALTER TABLE records RENAME TO records_v2;");
            exec(db, kTables);
            exec(db, kBlockTables);
            prepare_writes();
            Stmt r(db,
                   "SELECT id,kind,time_ns,exporter,domain,namespace,trace_type,node_len,flags,"
                   "ext_flags,flow_id,seq,raw FROM records_v2 ORDER BY id");
            Stmt h(db, old_hops_query().c_str());
            Batch batch;
            const auto flush = [&] {
                insert_batch(batch);
                batch.records.clear();
            };
            each_row(r, [&] {
                const std::int64_t id = r.i64(0);
                batch.records.push_back({id, r.text(3), static_cast<std::uint32_t>(r.i64(4)),
                                         old_record(r, old_hops(h, id))});
                if (batch.records.size() == 4096) {
                    flush();
                }
            });
            flush();
            exec(db, ("DROP TABLE records_v2; DROP TABLE hops; PRAGMA user_version=" +
                      std::to_string(kSqliteSchemaVersion))
                         .c_str());
        });
    }

    // SQLite keeps writing to a deleted file, so the batch would be committed to nothing: a
    // replaced or deleted file fails this batch and the retry writes to a new file (ids go on
    // from the high-water mark kept in memory).
    void reopen_if_replaced() {
        if (writer_ && file_id(path_) == opened_ && opened_) {
            return;
        }
        const bool was_open = static_cast<bool>(writer_);
        {
            std::lock_guard lock(read_mu_);
            reset_statements();
            reader_.reset();
            writer_.reset();
        }
        if (was_open) {
            throw std::runtime_error("database file " + path_ + " was deleted or replaced");
        }
        std::lock_guard lock(read_mu_);
        open();
    }

    void reset_statements() {
        for (Stmt* s : {&insert_high_water_, &insert_block_, &insert_block_path_,
                        &insert_block_flow_, &upsert_path_, &upsert_node_, &upsert_segment_,
                        &insert_exporter_, &insert_path_, &insert_path_node_}) {
            *s = Stmt();
        }
    }

    void load_dictionaries() {
        Stmt e(writer_.get(), "SELECT id,address,domain FROM exporters");
        each_row(e, [&] {
            set_dict_key(key_, static_cast<std::uint32_t>(e.i64(2)), e.text(1));
            exporters_[key_] = e.i64(0);
        });
        Stmt p(writer_.get(), "SELECT id,namespace,path FROM paths");
        each_row(p, [&] {
            set_dict_key(key_, static_cast<std::uint32_t>(p.i64(1)), p.text(2));
            paths_[key_] = p.i64(0);
        });
    }

    std::int64_t exporter_id(const RecordEntry& e) {
        // A data set's records share their exporter: most records find it here.
        if (last_exporter_id_ != 0 && e.domain == last_domain_ && e.exporter == last_exporter_) {
            return last_exporter_id_;
        }
        set_dict_key(key_, e.domain, e.exporter);
        auto it = exporters_.find(key_);
        if (it == exporters_.end()) {
            step_done(writer_.get(), insert_exporter_.bind_text(1, e.exporter).bind(2, e.domain));
            it = exporters_.emplace(key_, sqlite3_last_insert_rowid(writer_.get())).first;
        }
        last_exporter_.assign(e.exporter);
        last_domain_ = e.domain;
        last_exporter_id_ = it->second;
        return last_exporter_id_;
    }

    std::int64_t path_id(std::uint16_t ns, std::string_view path, std::span<const NodeIds> nodes) {
        set_dict_key(key_, ns, path);
        if (auto it = paths_.find(key_); it != paths_.end()) {
            return it->second;
        }
        sqlite3* db = writer_.get();
        step_done(db, insert_path_.bind(1, ns).bind_text(2, path));
        const auto id = sqlite3_last_insert_rowid(db);
        for (const NodeIds& n : nodes) {
            for (const auto node : {identity(n), n.node_id_wide}) {
                if (node) {
                    step_done(
                        db,
                        insert_path_node_.bind(1, static_cast<std::int64_t>(*node)).bind(2, id));
                }
            }
        }
        paths_.emplace(key_, id);
        return id;
    }

    // Inside a transaction.
    void insert_batch(const Batch& batch) {
        block_open_ = false;  // a failed attempt may have left one
        for (const RecordEntry& e : batch.records) {
            insert(e);
        }
        end_block();
        if (!batch.records.empty()) {
            step_done(writer_.get(), insert_high_water_.bind(1, batch.records.back().id));
        }
        write_rollups(batch.rollups);
    }

    void insert(const RecordEntry& e) {
        sqlite::PackedRecord& p = packed_;
        p.id = e.id;
        p.header = header_of(e.record);
        p.path = record_path_id(p.header.namespace_id, e);
        p.exporter = exporter_id(e);
        p.raw = raw_of(e.record);
        compact_of(e.record, compact_, e.nodes_from_raw);
        p.nodes = compact_;
        append(p);
    }

    // Adds a record to the open block (opening one first), and writes the block once full.
    void append(const sqlite::PackedRecord& p) {
        if (!block_open_) {
            block_.start(p.id);
            block_paths_.clear();
            block_flows_.clear();
            block_open_ = true;
        }
        if (std::find(block_paths_.begin(), block_paths_.end(), p.path) == block_paths_.end()) {
            block_paths_.push_back(p.path);
        }
        const auto& flow = p.header.flow_id;
        if (flow &&
            std::find(block_flows_.begin(), block_flows_.end(), *flow) == block_flows_.end()) {
            block_flows_.push_back(*flow);
        }
        block_.add(p);
        if (block_.count() >= kBlockRecords || block_.size() >= kBlockOctets) {
            end_block();
        }
    }

    void end_block() {
        if (block_open_) {
            write_block();
            block_open_ = false;
        }
    }

    // A path is its node ids, read off the raw data when the nodes were not queued.
    std::int64_t record_path_id(std::uint16_t ns, const RecordEntry& e) {
        node_ids_of(e.record, e.nodes_from_raw, ids_scratch_);
        PathWords words{ns, ids_scratch_};
        words.hash = path_hash(words);
        if (auto it = record_paths_.find(words); it != record_paths_.end()) {
            return it->second;
        }
        path_scratch_ = path_text(ids_scratch_);
        const std::int64_t id = path_id(ns, path_scratch_, ids_scratch_);
        PathKey key{words.hash, {}};
        key.words.reserve(words.size());
        words.each([&](std::uint64_t w) {
            key.words.push_back(w);
            return true;
        });
        record_paths_.emplace(std::move(key), id);
        return id;
    }

    void write_block() {
        sqlite3* db = writer_.get();
        sqlite::BlockWriter& b = block_;
        const std::int64_t first = b.first_id();
        step_done(db, insert_block_.bind(1, first)
                          .bind(2, b.last_id())
                          .bind(3, b.min_time())
                          .bind(4, b.max_time())
                          .bind(5, b.count())
                          .bind_blob(6, b.compressed()));
        for (const auto path : block_paths_) {
            step_done(db, insert_block_path_.bind(1, first).bind(2, path));
        }
        for (const auto flow : block_flows_) {
            step_done(db, insert_block_flow_.bind(1, first).bind(2, flow));
        }
    }

    void write_rollups(const rollup::Delta& delta) {
        sqlite3* db = writer_.get();
        for (const auto& [k, r] : delta.paths) {
            const auto id = path_id(k.namespace_id, k.path, {});
            bind_seen(upsert_path_.bind(1, static_cast<std::int64_t>(k.minute)).bind(2, id), 3,
                      r.seen);
            upsert_path_.bind_real(6, r.lost);
            bind_moments(upsert_path_, 7, r.delay);
            hist_ = r.hist.encode();
            step_done(db, upsert_path_.bind_blob(11, hist_));
        }
        for (const auto& [k, r] : delta.nodes) {
            bind_seen(upsert_node_.bind(1, static_cast<std::int64_t>(k.minute))
                          .bind(2, static_cast<std::int64_t>(k.node)),
                      3, r.seen);
            bind_moments(upsert_node_, 6, r.transit);
            bind_moments(upsert_node_, 10, r.segment);
            bind_moments(upsert_node_, 14, r.queue);
            step_done(db, upsert_node_);
        }
        for (const auto& [k, r] : delta.segments) {
            bind_seen(upsert_segment_.bind(1, static_cast<std::int64_t>(k.minute))
                          .bind(2, static_cast<std::int64_t>(k.from))
                          .bind(3, static_cast<std::int64_t>(k.to)),
                      4, r.seen);
            upsert_segment_.bind_real(7, r.lost);
            bind_moments(upsert_segment_, 8, r.delay);
            hist_ = r.hist.encode();
            step_done(db, upsert_segment_.bind_blob(12, hist_));
        }
    }

    static Stmt& bind_seen(Stmt& s, int i, const rollup::Seen& v) {
        return s.bind_real(i, v.packets)
            .bind(i + 1, static_cast<std::int64_t>(v.first_ns == UINT64_MAX ? 0 : v.first_ns))
            .bind(i + 2, static_cast<std::int64_t>(v.last_ns));
    }

    static void bind_moments(Stmt& s, int i, const rollup::Moments& m) {
        s.bind(i, static_cast<std::int64_t>(m.count)).bind_real(i + 1, m.sum);
        s.bind(i + 2, m.count ? std::optional(m.min) : std::nullopt)
            .bind(i + 3, m.count ? std::optional(m.max) : std::nullopt);
    }

    static rollup::Seen seen(const Stmt& s, int i) {
        return {s.f64(i), static_cast<std::uint64_t>(s.i64(i + 1)),
                static_cast<std::uint64_t>(s.i64(i + 2))};
    }

    static rollup::Moments moments(const Stmt& s, int i) {
        return {static_cast<std::uint64_t>(s.i64(i)), s.f64(i + 1), s.i64(i + 2), s.i64(i + 3)};
    }

    Stmt window_stmt(const std::string& select, Window w) {
        const auto [first, last] = rollup::minutes(w);
        Stmt s(reader_.get(), select + " WHERE r.minute >= ? AND r.minute < ?");
        s.bind(1, static_cast<std::int64_t>(first)).bind(2, static_cast<std::int64_t>(last));
        return s;
    }

    static std::optional<std::int64_t> clamp_time(std::optional<std::uint64_t> v) {
        if (!v) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(std::min<std::uint64_t>(*v, INT64_MAX));
    }

    // Records observed before `cutoff`: whole blocks, and the older records of the blocks that
    // straddle it.
    std::uint64_t delete_older(std::int64_t cutoff) {
        sqlite3* db = writer_.get();
        std::vector<std::pair<std::int64_t, bool>> blocks;  // first id, whole
        Stmt select(db,
                    "SELECT first_id, max_time < ?1 FROM blocks WHERE min_time < ?1 ORDER BY "
                    "first_id");
        select.bind(1, cutoff);
        each_row(select, [&] { blocks.emplace_back(select.i64(0), select.i64(1) != 0); });
        if (blocks.empty()) {
            return 0;
        }
        exec(db, "BEGIN");
        std::uint64_t n = 0;
        for (const auto& [first, whole] : blocks) {
            n += whole ? drop_blocks(first, first)
                       : prune_block(first, [&](const sqlite::PackedRecord& r) {
                             return r.header.time_ns < static_cast<std::uint64_t>(cutoff);
                         });
        }
        exec(db, "COMMIT");
        return n;
    }

    // Records with ids below `id`.
    std::uint64_t delete_below(std::int64_t id) {
        sqlite3* db = writer_.get();
        exec(db, "BEGIN");
        std::uint64_t n = 0;
        Stmt straddling(db, "SELECT first_id FROM blocks WHERE first_id < ?1 AND last_id >= ?1");
        straddling.bind(1, id);
        std::optional<std::int64_t> first;
        each_row(straddling, [&] { first = straddling.i64(0); });
        n += drop_blocks(INT64_MIN, first ? *first - 1 : id - 1);
        if (first) {
            n += prune_block(*first, [&](const sqlite::PackedRecord& r) { return r.id < id; });
        }
        exec(db, "COMMIT");
        return n;
    }

    // Deletes the blocks whose first ids are in [lo, hi], and their records; returns how many
    // records.
    std::uint64_t drop_blocks(std::int64_t lo, std::int64_t hi) {
        sqlite3* db = writer_.get();
        Stmt count(db, "SELECT coalesce(sum(count), 0) FROM blocks WHERE first_id BETWEEN ? AND ?");
        count.bind(1, lo).bind(2, hi);
        const auto n = count.step() == SQLITE_ROW ? static_cast<std::uint64_t>(count.i64(0)) : 0;
        count.reset();
        for (const char* table : {"blocks", "block_paths", "block_flows"}) {
            Stmt del(db, "DELETE FROM " + std::string(table) + " WHERE first_id BETWEEN ? AND ?");
            step_done(db, del.bind(1, lo).bind(2, hi));
        }
        return n;
    }

    // Rewrites the block at `first` without the records `drop(record)` selects, keyed by its
    // first record left (so that the id range of the blocks says where records start); returns
    // how many it dropped. Its block_paths and block_flows rows stay: a superset only costs a
    // block decoded for nothing.
    template <typename Drop>
    std::uint64_t prune_block(std::int64_t first, Drop&& drop) {
        sqlite3* db = writer_.get();
        Stmt select(db, "SELECT data FROM blocks WHERE first_id = ?");
        select.bind(1, first);
        if (select.step() != SQLITE_ROW) {
            select.reset();
            return 0;
        }
        sqlite::BlockReader old(first, select.blob(0));
        std::vector<sqlite::PackedRecord> kept;  // views into `old`
        sqlite::PackedRecord r;
        std::uint64_t dropped = 0;
        while (old.next(r)) {
            if (drop(r)) {
                ++dropped;
            } else {
                kept.push_back(r);
            }
        }
        check_block(old, first);
        if (kept.empty()) {
            select.reset();
            return drop_blocks(first, first);
        }
        sqlite::BlockWriter block;
        block.start(kept.front().id);
        for (const auto& k : kept) {
            block.add(k);
        }
        Stmt update(db,
                    "UPDATE blocks SET first_id=?, last_id=?, min_time=?, max_time=?, count=?, "
                    "data=? WHERE first_id=?");
        update.bind(1, block.first_id())
            .bind(2, block.last_id())
            .bind(3, block.min_time())
            .bind(4, block.max_time())
            .bind(5, block.count())
            .bind_blob(6, block.compressed())
            .bind(7, first);
        select.reset();  // `kept` views its row: copied into `block` by now
        step_done(db, update);
        for (const char* table : {"block_paths", "block_flows"}) {
            Stmt rekey(db, "UPDATE " + std::string(table) + " SET first_id=? WHERE first_id=?");
            step_done(db, rekey.bind(1, block.first_id()).bind(2, first));
        }
        return dropped;
    }

    // Runs a read on the reader connection; a SQLite failure becomes an error result.
    template <typename F>
    auto read(F&& f) -> Result<std::invoke_result_t<F>> {
        std::lock_guard lock(read_mu_);
        try {
            if (!reader_) {
                throw std::runtime_error("database not open");
            }
            return f();
        } catch (const std::exception&) {
            return Errc::invalid_argument;
        }
    }

    const std::string path_;
    std::mutex read_mu_;  // reader_ and reopening
    Db writer_;
    Db reader_;
    std::optional<FileId> opened_;
    std::int64_t high_water_ = 0;
    Stmt insert_high_water_, insert_block_, insert_block_path_, insert_block_flow_, upsert_path_,
        upsert_node_, upsert_segment_, insert_exporter_, insert_path_, insert_path_node_;
    std::unordered_map<std::string, std::int64_t> exporters_;  // dict_key(domain, address)
    // The last record's exporter and its id (0: none since the dictionaries were loaded).
    std::string last_exporter_;
    std::uint32_t last_domain_ = 0;
    std::int64_t last_exporter_id_ = 0;
    std::unordered_map<std::string, std::int64_t> paths_;  // dict_key(namespace, path)
    // Node identities and wide ids of a record's path -> paths.id, so that the path text is
    // built only for a path not seen before.
    std::unordered_map<PathKey, std::int64_t, PathHash, PathEqual> record_paths_;
    sqlite::BlockWriter block_;  // the block being written
    bool block_open_ = false;
    sqlite::PackedRecord packed_;               // scratch
    std::vector<std::int64_t> block_paths_;     // the block's
    std::vector<std::uint32_t> block_flows_;    // the block's
    std::string key_, path_scratch_;            // scratch
    std::vector<std::uint8_t> compact_, hist_;  // scratch
    std::vector<NodeIds> ids_scratch_;
};

}  // namespace

std::unique_ptr<StoreBackend> open_sqlite_backend(const std::string& path) {
    return std::make_unique<SqliteBackend>(path);
}

std::unique_ptr<TraceReader> open_sqlite_reader(const std::string& path) {
    return std::make_unique<SqliteBackend>(path, SqliteBackend::ReadOnly{});
}

}  // namespace ioam::collector::store
