#include "collector/store/batching_store.hpp"
#include "common/util/counter.hpp"
#include "common/util/thread_name.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include <spdlog/spdlog.h>

namespace ioam::collector::store {

namespace {

using Clock = std::chrono::steady_clock;

// Exporters beyond this many share one drop counter, so that spoofed sources cannot grow it.
constexpr std::size_t kMaxDropExporters = 1024;
constexpr const char* kOtherExporters = "other";
constexpr auto kLogEvery = std::chrono::seconds(10);
constexpr auto kMinBackoff = std::chrono::milliseconds(10);
constexpr std::chrono::milliseconds kMaxBackoff{2000};
// take() swaps the queue into the batch when at most 1/kSwapDivisor of the batch's records
// queued after it have to be moved back (more would be moved than taken with a backlog).
constexpr std::size_t kSwapDivisor = 4;
// Part of the queue that exporters without back-pressure share equally, the rest being kept
// for exporters that have nothing queued yet (1/8 of records and of bytes).
constexpr std::size_t kReserveDivisor = 8;

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// Swaps a taken trace's contents with an entry's. Nodes that its raw data rebuilds stay with the
// caller: the writer decodes them again if it needs them, and the ingest thread keeps decoding
// into the same memory rather than into the entries' (last touched by the writer's core).
void take_trace(IoamTrace& entry, IoamTrace& taken, bool nodes_from_raw) {
    std::swap(entry, taken);
    if (nodes_from_raw) {
        std::swap(entry.nodes, taken.nodes);
        entry.nodes.clear();
    }
}

// RecordEntry::record's alternative of a Record.
template <typename Record>
constexpr std::size_t kind_of =
    std::is_same_v<Record, std::variant_alternative_t<0, decltype(RecordEntry::record)>> ? 0 : 1;

std::size_t node_bytes(const IoamNode& n) {
    return sizeof(IoamNode) + (n.opaque_state ? n.opaque_state->data.size() : 0);
}

// Heap and queue memory of one queued record, near enough to bound RSS.
std::size_t estimate_bytes(const Origin& o, const IoamTrace& t) {
    std::size_t bytes = sizeof(RecordEntry) + o.exporter.size() + t.raw_data.size();
    for (const IoamNode& n : t.nodes) {
        bytes += node_bytes(n);
    }
    return bytes;
}

std::size_t estimate_bytes(const Origin& o, const DexReport& d) {
    return sizeof(RecordEntry) + o.exporter.size() + node_bytes(d.node) - sizeof(IoamNode);
}

// Logs the first event at once, then at most every kLogEvery with the count in between.
class RateLimitedLog {
  public:
    void warn(const std::string& what) {
        suppressed_++;
        const auto now = Clock::now();
        if (last_ && now - *last_ < kLogEvery) {
            return;
        }
        spdlog::warn("store: {} ({} time(s) since the last message)", what, suppressed_);
        suppressed_ = 0;
        last_ = now;
    }

  private:
    // Empty until the first message (time_point::min() would overflow the subtraction).
    std::optional<Clock::time_point> last_;
    std::uint64_t suppressed_ = 0;
};

}  // namespace

struct BatchingStore::Impl {
    struct Share {
        std::size_t records = 0;
        std::size_t bytes = 0;
    };
    // What a queued record holds of the queue and of its exporter's share.
    struct Slot {
        std::size_t bytes = 0;
        Share* share = nullptr;  // its exporter's, in `shares` (node addresses are stable)
    };
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    Impl(const StoreConfig& c, std::unique_ptr<StoreBackend> b) : config(c), backend(std::move(b)) {
        next_id = backend->high_water() + 1;
        db_bytes = backend->size_bytes();
    }

    bool full(std::size_t bytes) const {
        return depth() >= config.queue_capacity ||
               (depth() > 0 && queued_bytes + bytes > config.queue_bytes);
    }

    std::size_t depth() const { return queue.size() - head; }  // under mu

    // True when an exporter that cannot be back-pressured (UDP) would hold more than its
    // share: the queue less a reserve, divided by the exporters that have records queued.
    // Without it, one sender of tiny records at line rate fills the queue and every other
    // exporter's records are dropped. Its first record always fits, however large.
    bool over_share(const Share* share, std::size_t bytes) const {  // under mu
        if (share == nullptr) {
            return false;
        }
        const std::size_t k = shares.size();
        const std::size_t records =
            (config.queue_capacity - config.queue_capacity / kReserveDivisor) / k;
        const std::size_t room = (config.queue_bytes - config.queue_bytes / kReserveDivisor) / k;
        return share->records + 1 > records || share->bytes + bytes > room;
    }

    Share* find_share(std::string_view exporter) {  // under mu
        const auto it = shares.find(exporter);
        return it == shares.end() ? nullptr : &it->second;
    }

    void release_share(const Slot& q, const std::string& exporter) {  // under mu
        q.share->records--;
        q.share->bytes -= q.bytes;
        if (q.share->records == 0) {
            shares.erase(exporter);
        }
    }

    // One lock for the whole batch. A record is admitted (or dropped) before it is copied,
    // into an entry the writer has finished with when there is one: its buffers are reused,
    // so the ingest thread does not allocate per record.
    // Taken records (non-const Record) are swapped with the reused entry's: the caller gets
    // its buffers back.
    template <typename Record>
    void enqueue(const Origin& origin, std::span<Record> records) {
        using Kind = std::remove_const_t<Record>;
        std::unique_lock lock(mu);
        Share* share = find_share(origin.exporter);
        for (Record& record : records) {
            const std::size_t bytes = estimate_bytes(origin, record);
            if (!admit(lock, origin, share, bytes)) {
                continue;
            }
            if (share == nullptr) {
                share = &shares.try_emplace(std::string(origin.exporter)).first->second;
            }
            share->records++;
            share->bytes += bytes;
            auto& pool = unused[kind_of<Kind>];
            if (pool.empty()) {
                queue.emplace_back().record.template emplace<Kind>();
            } else {
                queue.push_back(std::move(spare[pool.back()]));
                pool.pop_back();
            }
            Kind& kept = std::get<Kind>(queue.back().record);
            if constexpr (std::is_const_v<Record>) {
                kept = record;
            } else {
                take_trace(kept, record, origin.nodes_from_raw);
            }
            slots.push_back({bytes, share});
            RecordEntry& e = queue.back();
            e.id = next_id++;  // here, where the entry is written anyway, not by the writer
            e.exporter.assign(origin.exporter);
            e.domain = origin.domain;
            e.nodes_from_raw = origin.nodes_from_raw;
            queued_bytes += bytes;
            // The writer waits for a first record, then for a full batch: no wake-up between.
            if (depth() == 1 || depth() == config.batch_size) {
                cv.notify_one();
            }
        }
        queued.store(depth(), std::memory_order_relaxed);
        queued_bytes_now.store(queued_bytes, std::memory_order_relaxed);
    }

    // Whether a record of `bytes` may be queued now; a reliable one waits for room (the lock
    // is released meanwhile, so `share` is looked up again). A refused record is counted.
    bool admit(std::unique_lock<std::mutex>& lock, const Origin& origin, Share*& share,
               std::size_t bytes) {  // under mu
        if (stopped || (full(bytes) && (!origin.reliable || !running))) {
            count_drop(origin.exporter);  // nobody would write it
            return false;
        }
        if (!origin.reliable && over_share(share, bytes)) {
            count_drop(origin.exporter);
            return false;
        }
        if (!full(bytes)) {
            return true;
        }
        blocked++;
        queued.store(depth(), std::memory_order_relaxed);
        queued_bytes_now.store(queued_bytes, std::memory_order_relaxed);
        const auto room = [&] { return !full(bytes) || stopped || stop_begun; };
        room_cv.wait(lock, room);
        if (stop_begun && !stopped && full(bytes)) {
            room_cv.wait_until(lock, wait_deadline, [&] { return !full(bytes) || stopped; });
        }
        share = find_share(origin.exporter);
        if (stopped || full(bytes)) {
            count_drop(origin.exporter);
            return false;
        }
        return true;
    }

    void count_drop(std::string_view exporter) {  // under mu
        add_single_writer(dropped);
        auto it = drops.find(std::string(exporter));
        if (it == drops.end()) {
            it = drops
                     .emplace(
                         drops.size() < kMaxDropExporters ? std::string(exporter) : kOtherExporters,
                         0)
                     .first;
        }
        it->second++;
    }

    void add_packets(std::span<const Packet> batch) {
        std::lock_guard lock(mu);
        for (const Packet& p : batch) {
            if (delta.keys() + rollup::Delta::keys_needed(p) > config.rollup_keys) {
                packets_dropped++;
                continue;
            }
            if (delta.empty() && depth() == 0) {
                cv.notify_one();  // the writer waits for a first record or packet
            }
            delta.add(p);
            add_single_writer(packets);  // under mu
        }
    }

    // The written batch becomes the entries enqueue() reuses (those of the batch before that,
    // not reused meanwhile, go), listed by kind: no entry is moved here.
    void recycle(std::vector<RecordEntry>& done) {  // under mu
        std::swap(spare, done);
        done.clear();
        for (auto& pool : unused) {
            pool.clear();
        }
        for (std::uint32_t i = 0; i < spare.size(); ++i) {
            unused[spare[i].record.index()].push_back(i);
        }
    }

    // Takes up to batch_size records and every pending rollup.
    bool take(Batch& batch) {  // under mu
        recycle(batch.records);
        const std::size_t n = std::min(depth(), config.batch_size);
        for (std::size_t i = head; i < head + n; ++i) {
            queued_bytes -= slots[i].bytes;
            release_share(slots[i], queue[i].exporter);
        }
        if (head == 0 && queue.size() - n <= n / kSwapDivisor) {
            // What came after the batch (little: the writer keeps up) goes back to the queue.
            std::swap(batch.records, queue);
            const auto rest = batch.records.begin() + static_cast<std::ptrdiff_t>(n);
            std::move(rest, batch.records.end(), std::back_inserter(queue));
            batch.records.erase(rest, batch.records.end());
            slots.erase(slots.begin(), slots.begin() + static_cast<std::ptrdiff_t>(n));
        } else {
            batch.records.reserve(n);
            std::move(queue.begin() + static_cast<std::ptrdiff_t>(head),
                      queue.begin() + static_cast<std::ptrdiff_t>(head + n),
                      std::back_inserter(batch.records));
            head += n;
        }
        if (head == queue.size()) {
            queue.clear();
            slots.clear();
            head = 0;
        } else if (head >= config.batch_size && 2 * head >= queue.size()) {
            const auto taken = static_cast<std::ptrdiff_t>(head);
            queue.erase(queue.begin(), queue.begin() + taken);
            slots.erase(slots.begin(), slots.begin() + taken);
            head = 0;
        }
        batch.rollups = std::move(delta);
        delta = {};
        queued.store(depth(), std::memory_order_relaxed);
        queued_bytes_now.store(queued_bytes, std::memory_order_relaxed);
        in_flight = !batch.records.empty() || !batch.rollups.empty();
        return in_flight;
    }

    void run() {
        Batch batch;
        auto next_retention = Clock::now();
        for (;;) {
            {
                std::unique_lock lock(mu);
                cv.wait_until(lock,
                              std::min(next_retention, Clock::now() + std::chrono::seconds(1)),
                              [&] { return depth() > 0 || !delta.empty() || stopping; });
                // Fewer, larger transactions: a batch waits up to batch_delay_ms to fill.
                cv.wait_for(lock, std::chrono::milliseconds(config.batch_delay_ms), [&] {
                    return depth() >= config.batch_size || stopping || flushing > 0;
                });
                if (!take(batch) && stopping) {
                    return;  // everything queued before stop() is written
                }
            }
            room_cv.notify_all();
            if (in_flight && !write_with_retry(batch)) {
                return;  // gave up at stop(): counted and logged
            }
            {
                std::lock_guard lock(mu);
                in_flight = false;
            }
            flushed_cv.notify_all();
            if (Clock::now() >= next_retention) {
                apply_retention();
                next_retention = Clock::now() + std::chrono::seconds(std::max<std::uint64_t>(
                                                    1, config.retention_interval_s));
            }
        }
    }

    // False when stop() gave up on a failing back end.
    bool write_with_retry(const Batch& batch) {
        std::chrono::milliseconds backoff = kMinBackoff;
        for (;;) {
            const auto t0 = Clock::now();
            std::string why;
            if (backend->write(batch, why)) {
                if (failing.exchange(false)) {
                    spdlog::info("store: writing again");
                }
                db_bytes = backend->size_bytes();
                written += batch.records.size();
                batches++;
                std::function<void(double, std::size_t)> fn;
                {
                    std::lock_guard lock(mu);
                    fn = batch_observer;
                }
                if (fn) {
                    fn(std::chrono::duration<double>(Clock::now() - t0).count(),
                       batch.records.size());
                }
                return true;
            }
            errors++;
            failing = true;
            log.warn("writing a batch of " + std::to_string(batch.records.size()) +
                     " records failed, retrying: " + why);
            std::unique_lock lock(mu);
            if (stopping && Clock::now() >= stop_deadline) {
                const auto left = batch.records.size() + depth();
                lost += left;
                spdlog::error(
                    "store: stopping with a failing back end ({}): {} records not written", why,
                    left);
                queue.clear();
                slots.clear();
                head = 0;
                shares.clear();
                queued_bytes = 0;
                queued.store(0, std::memory_order_relaxed);
                queued_bytes_now.store(0, std::memory_order_relaxed);
                in_flight = false;
                flushed_cv.notify_all();
                return false;
            }
            cv.wait_for(lock, backoff, [&] { return stopping && !stop_seen; });
            stop_seen = stopping;
            backoff = std::min(backoff * 2, kMaxBackoff);
        }
    }

    void apply_retention() {
        std::string why;
        const std::uint64_t now = now_ns();
        const std::uint64_t age_ns = config.retention_age_s * 1'000'000'000;
        const std::uint64_t cutoff = config.retention_age_s == 0 ? 0 : now - std::min(now, age_ns);
        auto deleted = backend->retain(cutoff, config.retention_max_bytes, why);
        if (deleted) {
            retained_deleted += *deleted;
        } else {
            errors++;
            log.warn("retention failed: " + why);
        }
        db_bytes = backend->size_bytes();
    }

    const StoreConfig config;
    std::unique_ptr<StoreBackend> backend;

    mutable std::mutex mu;               // everything up to the atomics
    std::condition_variable cv;          // writer: work or stop
    std::condition_variable room_cv;     // reliable producers: room in the queue
    std::condition_variable flushed_cv;  // flush(): a batch was committed
    // A FIFO in one vector from `head` on (a deque allocates every entry or two of this size).
    std::vector<RecordEntry> queue;
    std::vector<Slot> slots;  // queue[i]'s in slots[i]
    std::size_t head = 0;
    // The last written batch: enqueue() reuses its entries' buffers.
    std::vector<RecordEntry> spare;
    // The indices in `spare` of its entries not reused yet, by kind (variant index).
    std::array<std::vector<std::uint32_t>, std::variant_size_v<decltype(RecordEntry::record)>>
        unused;
    std::size_t queued_bytes = 0;
    // What each exporter with queued records holds, for over_share().
    std::unordered_map<std::string, Share, StringHash, std::equal_to<>> shares;
    rollup::Delta delta;
    std::int64_t next_id = 1;  // of the next record queued
    bool in_flight = false;
    int flushing = 0;      // flush() callers waiting: no batch delay
    bool running = false;  // start() .. stop()
    bool stopped = false;  // the writer is gone: nothing queued now would be written
    bool stopping = false;
    bool stop_seen = false;
    Clock::time_point stop_deadline;
    bool stop_begun = false;  // begin_stop(): waits for room are bounded from now on
    Clock::time_point wait_deadline;
    std::unordered_map<std::string, std::uint64_t> drops;
    std::function<void(double, std::size_t)> batch_observer;
    std::thread writer;
    RateLimitedLog log;  // writer only

    std::atomic<bool> failing{false};
    std::atomic<std::uint64_t> queued{0};
    std::atomic<std::uint64_t> queued_bytes_now{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> blocked{0};
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> lost{0};
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> packets_dropped{0};
    std::atomic<std::uint64_t> retained_deleted{0};
    std::atomic<std::uint64_t> db_bytes{0};
};

BatchingStore::BatchingStore(const StoreConfig& config, std::unique_ptr<StoreBackend> backend)
    : impl_(std::make_unique<Impl>(config, std::move(backend))) {}

BatchingStore::~BatchingStore() {
    stop();
}

void BatchingStore::start() {
    std::lock_guard lock(impl_->mu);
    if (!impl_->writer.joinable() && !impl_->stopped) {
        impl_->running = true;
        impl_->writer = std::thread([this] {
            name_this_thread("ioam-store");
            impl_->run();
        });
    }
}

void BatchingStore::begin_stop() {
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stop_begun) {
            return;
        }
        impl_->stop_begun = true;
        impl_->wait_deadline = Clock::now() + std::chrono::seconds(impl_->config.stop_timeout_s);
    }
    impl_->room_cv.notify_all();
}

void BatchingStore::stop() {
    {
        std::lock_guard lock(impl_->mu);
        if (!impl_->writer.joinable()) {
            return;
        }
        impl_->stopping = true;
        impl_->stop_deadline = Clock::now() + std::chrono::seconds(impl_->config.stop_timeout_s);
    }
    impl_->cv.notify_all();
    impl_->writer.join();
    std::lock_guard lock(impl_->mu);
    impl_->running = false;
    impl_->stopped = true;
    impl_->room_cv.notify_all();
}

void BatchingStore::flush() {
    std::unique_lock lock(impl_->mu);
    impl_->flushing++;
    impl_->cv.notify_all();
    impl_->flushed_cv.wait(lock, [&] {
        return (impl_->depth() == 0 && impl_->delta.empty() && !impl_->in_flight) ||
               !impl_->running;
    });
    impl_->flushing--;
}

StoreStats BatchingStore::stats() const {
    const Impl& m = *impl_;
    return {
        m.queued.load(),  m.queued_bytes_now.load(), m.dropped.load(),          m.blocked.load(),
        m.written.load(), m.batches.load(),          m.errors.load(),           m.lost.load(),
        m.packets.load(), m.packets_dropped.load(),  m.retained_deleted.load(), m.db_bytes.load()};
}

bool BatchingStore::ready() const {
    std::lock_guard lock(impl_->mu);
    return impl_->running && !impl_->stopping && !impl_->failing;
}

std::vector<std::pair<std::string, std::uint64_t>> BatchingStore::dropped_by_exporter() const {
    std::lock_guard lock(impl_->mu);
    std::vector<std::pair<std::string, std::uint64_t>> out(impl_->drops.begin(),
                                                           impl_->drops.end());
    std::sort(out.begin(), out.end());
    return out;
}

void BatchingStore::set_batch_observer(std::function<void(double, std::size_t)> fn) {
    std::lock_guard lock(impl_->mu);
    impl_->batch_observer = std::move(fn);
}

void BatchingStore::consume(const Origin& origin, const IoamTrace& trace) {
    impl_->enqueue(origin, std::span(&trace, 1));
}

void BatchingStore::consume(const Origin& origin, const DexReport& report) {
    impl_->enqueue(origin, std::span(&report, 1));
}

void BatchingStore::consume(const Origin& origin, std::span<const IoamTrace> traces) {
    impl_->enqueue(origin, traces);
}

void BatchingStore::consume(const Origin& origin, std::span<const DexReport> reports) {
    impl_->enqueue(origin, reports);
}

void BatchingStore::take(const Origin& origin, std::span<IoamTrace> traces) {
    impl_->enqueue(origin, traces);
}

void BatchingStore::consume(const Packet& packet) {
    impl_->add_packets(std::span(&packet, 1));
}

void BatchingStore::consume(std::span<const Packet> packets) {
    impl_->add_packets(packets);
}

Result<std::vector<StoredRecord>> BatchingStore::query(const TraceQuery& q) {
    return impl_->backend->query(q);
}

Result<std::optional<StoredRecord>> BatchingStore::get(std::int64_t id) {
    return impl_->backend->get(id);
}

Result<std::vector<NodeSummary>> BatchingStore::nodes(Window w, std::size_t limit) {
    return impl_->backend->nodes(w, limit);
}

Result<std::vector<PathSummary>> BatchingStore::paths(Window w, std::size_t limit) {
    return impl_->backend->paths(w, limit);
}

Result<std::vector<SegmentSummary>> BatchingStore::segments(Window w, std::size_t limit) {
    return impl_->backend->segments(w, limit);
}

}  // namespace ioam::collector::store
