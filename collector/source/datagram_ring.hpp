#pragma once
// UDP datagrams on their way from the socket reader to the I/O thread: one fixed block of
// octets, one producer, one consumer, no lock on either side. The reader only copies what the
// kernel hands it, so the socket buffer is emptied at the pace of a memcpy and a burst waits
// here (bounded in octets) rather than in the kernel, where it is dropped at SO_RCVBUF.
//
// An entry is never split: one that does not fit before the end of the block starts over at
// the front. The consumer reads entries in place and frees them in groups (commit()), so the
// producer's view of the free room costs one shared-line access per group, not per datagram.
//
// Waiting is the ring's too, on the producer's side only: wait_for_room() sleeps until the
// consumer commits (or a timeout); the consumer's wake-up (an eventfd) is the caller's.
//
// Threading: push(), wait_for_room() on the producer thread; front(), pop(), commit() on the
// consumer thread; used_bytes(), capacity() from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

namespace ioam::collector::source {

struct DatagramMeta {
    std::array<std::uint8_t, 16> address{};  // IPv6, or IPv4-mapped
    std::uint32_t scope = 0;                 // IPv6 scope id
    std::uint16_t port = 0;
    std::uint64_t received_ns = 0;  // wall clock, UNIX epoch
};

class DatagramRing {
  public:
    // The largest payload an entry holds (a UDP datagram's).
    static constexpr std::size_t kMaxPayload = 65535;
    // `capacity` octets, rounded down to a multiple of 8, at least two largest entries.
    explicit DatagramRing(std::size_t capacity);
    DatagramRing(const DatagramRing&) = delete;
    DatagramRing& operator=(const DatagramRing&) = delete;

    static std::size_t min_capacity() noexcept;

    // Copies one datagram in (at most kMaxPayload octets); false when it does not fit until
    // the consumer frees room.
    bool push(const DatagramMeta& meta, std::span<const std::uint8_t> payload) noexcept;
    // Sleeps until a payload of `octets` would fit, or `timeout` passed; true if it fits.
    bool wait_for_room(std::size_t octets, std::chrono::milliseconds timeout);

    struct Entry {
        const DatagramMeta& meta;
        std::span<const std::uint8_t> payload;
    };
    // The oldest entry not popped yet; valid until the next commit().
    std::optional<Entry> front() noexcept;
    void pop() noexcept;
    // Gives the popped entries' octets back to the producer.
    void commit() noexcept;

    std::size_t used_bytes() const noexcept;
    std::size_t capacity() const noexcept { return capacity_; }

  private:
    struct Header;
    bool fits(std::uint64_t head, std::size_t need) const noexcept;
    std::size_t place(std::uint64_t head, std::size_t need) const noexcept;

    const std::size_t capacity_;
    const std::unique_ptr<std::uint8_t[]> block_;
    // Octets ever written (producer) and ever freed (consumer): both only grow.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::uint64_t producer_tail_ = 0;  // the producer's last view of tail_
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    std::uint64_t read_ = 0;           // consumer: end of the popped entries (tail_ once committed)
    std::uint64_t consumer_head_ = 0;  // the consumer's last view of head_
    alignas(64) std::atomic<bool> producer_waiting_{false};
    std::mutex wait_mu_;
    std::condition_variable room_;
};

}  // namespace ioam::collector::source
