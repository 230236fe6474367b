#include "common/util/result.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ioam {
namespace {

TEST(Result, HoldsValueOrError) {
    Result<int> good = 7;
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 7);

    Result<int> bad = Errc::truncated;
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), Errc::truncated);
}

TEST(Result, EveryErrorHasADistinctName) {
    std::set<std::string> names;
    for (int e = static_cast<int>(Errc::truncated); e <= static_cast<int>(Errc::invalid_argument);
         ++e) {
        auto name = std::string(to_string(static_cast<Errc>(e)));
        EXPECT_NE(name, "unknown_error") << e;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(Errc::invalid_argument) -
                                static_cast<size_t>(Errc::truncated) + 1);
}

}  // namespace
}  // namespace ioam
