#include "collector/source/datagram_ring.hpp"

#include <algorithm>
#include <cstring>

namespace ioam::collector::source {

namespace {

constexpr std::uint32_t kWrap = ~std::uint32_t{0};  // length of the marker: go on at offset 0

constexpr std::size_t align8(std::size_t n) noexcept {
    return (n + 7) & ~std::size_t{7};
}

}  // namespace

struct DatagramRing::Header {
    std::uint32_t length = 0;  // payload octets, or kWrap
    std::uint32_t reserved = 0;
    DatagramMeta meta;
};

static_assert(sizeof(DatagramMeta) % 8 == 0);

std::size_t DatagramRing::min_capacity() noexcept {
    return 2 * align8(sizeof(Header) + kMaxPayload);
}

DatagramRing::DatagramRing(std::size_t capacity)
    // Not value-initialised: pages stay untouched (not resident) until datagrams reach them.
    : capacity_(std::max(capacity, min_capacity()) & ~std::size_t{7}),
      block_(new std::uint8_t[capacity_]) {}

// Octets from `head` that an entry of `need` octets takes: the rest of the block first when it
// does not fit before the end.
std::size_t DatagramRing::place(std::uint64_t head, std::size_t need) const noexcept {
    const std::size_t to_end = capacity_ - static_cast<std::size_t>(head % capacity_);
    return need <= to_end ? need : to_end + need;
}

bool DatagramRing::fits(std::uint64_t head, std::size_t need) const noexcept {
    return head + place(head, need) - producer_tail_ <= capacity_;
}

bool DatagramRing::push(const DatagramMeta& meta, std::span<const std::uint8_t> payload) noexcept {
    if (payload.size() > kMaxPayload) {
        return false;
    }
    const std::size_t need = align8(sizeof(Header) + payload.size());
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (!fits(head, need)) {
        producer_tail_ = tail_.load(std::memory_order_acquire);
        if (!fits(head, need)) {
            return false;
        }
    }
    std::size_t at = static_cast<std::size_t>(head % capacity_);
    if (need > capacity_ - at) {
        const std::uint32_t wrap = kWrap;
        std::memcpy(block_.get() + at, &wrap, sizeof wrap);
        head += capacity_ - at;
        at = 0;
    }
    Header h;
    h.length = static_cast<std::uint32_t>(payload.size());
    h.meta = meta;
    std::memcpy(block_.get() + at, &h, sizeof h);
    if (!payload.empty()) {
        std::memcpy(block_.get() + at + sizeof h, payload.data(), payload.size());
    }
    // seq_cst: the consumer's idle flag is read after this (see the listener's wake-up).
    head_.store(head + need, std::memory_order_seq_cst);
    return true;
}

bool DatagramRing::wait_for_room(std::size_t octets, std::chrono::milliseconds timeout) {
    const std::size_t need = align8(sizeof(Header) + std::min(octets, kMaxPayload));
    std::unique_lock lock(wait_mu_);
    producer_waiting_.store(true, std::memory_order_seq_cst);
    const bool ok = room_.wait_for(lock, timeout, [&] {
        producer_tail_ = tail_.load(std::memory_order_seq_cst);
        return fits(head_.load(std::memory_order_relaxed), need);
    });
    producer_waiting_.store(false, std::memory_order_relaxed);
    return ok;
}

std::optional<DatagramRing::Entry> DatagramRing::front() noexcept {
    if (read_ == consumer_head_) {
        // seq_cst: the listener's consumer raises its idle flag, then looks here (Dekker).
        consumer_head_ = head_.load(std::memory_order_seq_cst);
        if (read_ == consumer_head_) {
            return std::nullopt;
        }
    }
    std::size_t at = static_cast<std::size_t>(read_ % capacity_);
    auto* h = reinterpret_cast<const Header*>(block_.get() + at);
    if (h->length == kWrap) {  // the producer published the entry after it with the marker
        read_ += capacity_ - at;
        h = reinterpret_cast<const Header*>(block_.get());
        at = 0;
    }
    return Entry{h->meta, {block_.get() + at + sizeof(Header), h->length}};
}

void DatagramRing::pop() noexcept {
    const auto* h = reinterpret_cast<const Header*>(block_.get() + read_ % capacity_);
    read_ += align8(sizeof(Header) + h->length);
}

void DatagramRing::commit() noexcept {
    if (tail_.load(std::memory_order_relaxed) == read_) {
        return;
    }
    // seq_cst pairs with wait_for_room(): either the producer sees the new tail, or this sees
    // it waiting.
    tail_.store(read_, std::memory_order_seq_cst);
    if (producer_waiting_.load(std::memory_order_seq_cst)) {
        { const std::lock_guard lock(wait_mu_); }
        room_.notify_one();
    }
}

std::size_t DatagramRing::used_bytes() const noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    return static_cast<std::size_t>(head >= tail ? head - tail : 0);
}

}  // namespace ioam::collector::source
