#pragma once
// Counters that one thread writes (or threads that take turns under a lock) and any thread
// reads: a plain load and store, no locked read-modify-write on the per-record path.

#include <atomic>
#include <cstdint>

namespace ioam {

// Threading: the caller is the counter's only writer at this time.
inline void add_single_writer(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace ioam
