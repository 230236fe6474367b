#include "collector/source/datagram_ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace ioam::collector::source {
namespace {

// Datagram i: its length and every octet follow from i, so a reader can check what it got.
std::vector<std::uint8_t> datagram(std::uint32_t i, std::size_t max_len) {
    std::vector<std::uint8_t> d((i * 7919u) % max_len);
    for (std::size_t k = 0; k < d.size(); ++k) {
        d[k] = static_cast<std::uint8_t>(i + k * 31);
    }
    return d;
}

DatagramMeta meta(std::uint32_t i) {
    DatagramMeta m;
    m.address[15] = static_cast<std::uint8_t>(i);
    m.port = static_cast<std::uint16_t>(i);
    m.scope = i;
    m.received_ns = std::uint64_t{i} * 1000;
    return m;
}

void expect_entry(const DatagramRing::Entry& e, std::uint32_t i, std::size_t max_len) {
    const auto want = datagram(i, max_len);
    ASSERT_EQ(e.payload.size(), want.size()) << "datagram " << i;
    EXPECT_TRUE(std::equal(want.begin(), want.end(), e.payload.begin())) << "datagram " << i;
    EXPECT_EQ(e.meta.port, static_cast<std::uint16_t>(i));
    EXPECT_EQ(e.meta.scope, i);
    EXPECT_EQ(e.meta.address[15], static_cast<std::uint8_t>(i));
    EXPECT_EQ(e.meta.received_ns, std::uint64_t{i} * 1000);
}

TEST(DatagramRing, KeepsOrderAndContentAcrossManyWrapsAndRefusesWhenFull) {
    DatagramRing ring(DatagramRing::min_capacity());
    constexpr std::size_t kMaxLen = 3000;
    std::uint32_t pushed = 0;
    std::uint32_t popped = 0;
    int refusals = 0;
    while (popped < 5000) {
        // Fill until refused, then take about half: positions move around the block.
        while (ring.push(meta(pushed), datagram(pushed, kMaxLen))) {
            ++pushed;
        }
        ++refusals;
        EXPECT_GT(ring.used_bytes(), ring.capacity() - 2 * (kMaxLen + 64));
        const std::size_t used = ring.used_bytes();
        const std::uint32_t target = popped + (pushed - popped + 1) / 2;
        while (popped < target) {
            const auto e = ring.front();
            ASSERT_TRUE(e.has_value());
            expect_entry(*e, popped, kMaxLen);
            ring.pop();
            ++popped;
        }
        EXPECT_EQ(ring.used_bytes(), used);  // popped, not committed: not the producer's yet
        ring.commit();
        EXPECT_LT(ring.used_bytes(), used);
    }
    EXPECT_GT(refusals, 100);
    while (const auto e = ring.front()) {
        expect_entry(*e, popped, kMaxLen);
        ring.pop();
        ++popped;
    }
    ring.commit();
    EXPECT_EQ(popped, pushed);
    EXPECT_EQ(ring.used_bytes(), 0u);
}

TEST(DatagramRing, TakesTheLargestDatagramAndNothingLarger) {
    DatagramRing ring(0);  // rounded up to its minimum
    EXPECT_EQ(ring.capacity(), DatagramRing::min_capacity());
    const std::vector<std::uint8_t> largest(DatagramRing::kMaxPayload, 0xab);
    const std::vector<std::uint8_t> too_large(DatagramRing::kMaxPayload + 1);
    EXPECT_FALSE(ring.push(meta(1), too_large));
    EXPECT_TRUE(ring.push(meta(1), largest));
    EXPECT_TRUE(ring.push(meta(2), largest));
    EXPECT_FALSE(ring.push(meta(3), {}));  // two largest entries fill it
    const auto e = ring.front();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->payload.size(), DatagramRing::kMaxPayload);
    ring.pop();
    ring.commit();
    EXPECT_TRUE(ring.push(meta(3), largest));  // after the wrap
}

TEST(DatagramRing, AProducerWaitingForRoomWakesWhenTheConsumerCommits) {
    DatagramRing ring(DatagramRing::min_capacity());
    const std::vector<std::uint8_t> large(40000);
    ASSERT_TRUE(ring.push(meta(0), large));
    ASSERT_TRUE(ring.push(meta(1), large));
    ASSERT_TRUE(ring.push(meta(2), large));
    ASSERT_FALSE(ring.push(meta(3), large));
    EXPECT_FALSE(ring.wait_for_room(large.size(), std::chrono::milliseconds(1)));
    std::atomic<bool> woke{false};
    std::thread producer([&] { woke = ring.wait_for_room(large.size(), std::chrono::hours(1)); });
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(ring.front().has_value());
        ring.pop();
    }
    ring.commit();
    producer.join();  // an hour's timeout: only the commit ends it in time
    EXPECT_TRUE(woke);
    EXPECT_TRUE(ring.push(meta(3), large));
}

// One producer and one consumer thread, as in the listener: every datagram arrives, in order,
// intact, whatever the interleaving of pushes, waits and group commits.
TEST(DatagramRing, ConcurrentProducerAndConsumerLoseNothing) {
    DatagramRing ring(DatagramRing::min_capacity() + 4096);
    constexpr std::uint32_t kCount = 200000;
    constexpr std::size_t kMaxLen = 1500;
    std::thread producer([&] {
        for (std::uint32_t i = 0; i < kCount; ++i) {
            const auto d = datagram(i, kMaxLen);
            while (!ring.push(meta(i), d)) {
                ring.wait_for_room(d.size(), std::chrono::milliseconds(50));
            }
        }
    });
    std::uint32_t next = 0;
    std::uint32_t since_commit = 0;
    bool intact = true;
    while (next < kCount) {
        const auto e = ring.front();
        if (!e) {
            ring.commit();
            std::this_thread::yield();
            continue;
        }
        const auto want = datagram(next, kMaxLen);
        intact = intact && e->payload.size() == want.size() &&
                 std::equal(want.begin(), want.end(), e->payload.begin()) &&
                 e->meta.received_ns == std::uint64_t{next} * 1000;
        ring.pop();
        ++next;
        if (++since_commit == 32) {
            ring.commit();
            since_commit = 0;
        }
    }
    ring.commit();
    producer.join();
    EXPECT_TRUE(intact);
    EXPECT_FALSE(ring.front().has_value());
    EXPECT_EQ(ring.used_bytes(), 0u);
}

}  // namespace
}  // namespace ioam::collector::source
