#include "data/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

using namespace qat::data;

// The C++ standard fixes mt19937_64's 10000th output for the default seed ([rand.predef]).
TEST(Random, EngineIsTheStandardOne) {
    std::mt19937_64 e;
    e.discard(9999);
    EXPECT_EQ(e(), 9981545732273789042ull);
    Rng r(5489);
    for (int i = 0; i < 9999; ++i) r.next_u64();
    EXPECT_EQ(r.next_u64(), 9981545732273789042ull);
}

// An independent implementation (Python: mt19937_64 from its published definition, the same
// rejection rule and Fisher-Yates) must give the same subsets: this is what "the same indices on
// every machine" means.
namespace {
const char* kPython = R"PY(
M = (1 << 64) - 1
class MT:
    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & M
        for i in range(1, 312):
            p = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (p ^ (p >> 62)) + i) & M
        self.i = 312
    def next(self):
        if self.i >= 312:
            lo = (1 << 31) - 1
            for k in range(312):
                x = (self.mt[k] & (M ^ lo)) | (self.mt[(k + 1) % 312] & lo)
                xa = x >> 1
                if x & 1:
                    xa ^= 0xB5026F5AA96619E9
                self.mt[k] = self.mt[(k + 156) % 312] ^ xa
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & M
    def uniform(self, n):
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            x = self.next()
            if x < limit:
                return x % n
def shuffle_prefix(n, k, seed):
    a = list(range(n))
    r = MT(seed)
    for i in range(min(k, n - 1)):
        j = i + r.uniform(n - i)
        a[i], a[j] = a[j], a[i]
    return a
print(" ".join(map(str, shuffle_prefix(20, 20, 42))))
print(" ".join(map(str, sorted(shuffle_prefix(60000, 16, 1)[:16]))))
print(" ".join(map(str, sorted(shuffle_prefix(10000, 100, 123456789)[:100]))))
r = MT(7)
print(" ".join(str(r.uniform(3)) for _ in range(20)))
)PY";

std::vector<std::vector<int64_t>> run_python() {
    FILE* p = popen(("/usr/bin/python3 -c '" + std::string(kPython) + "'").c_str(), "r");
    std::vector<std::vector<int64_t>> out;
    if (!p) return out;
    char buf[1 << 16];
    while (fgets(buf, sizeof(buf), p)) {
        std::istringstream in(buf);
        std::vector<int64_t> row;
        int64_t v;
        while (in >> v) row.push_back(v);
        out.push_back(row);
    }
    pclose(p);
    return out;
}
}  // namespace

TEST(Random, SubsetsMatchAnIndependentImplementation) {
    if (std::system("/usr/bin/python3 -c 'pass' >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "/usr/bin/python3 not available: cannot cross-check the subset selection";
    auto py = run_python();
    ASSERT_EQ(py.size(), 4u);
    EXPECT_EQ(permutation(20, 42), py[0]);
    EXPECT_EQ(select_subset(60000, 16, 1), py[1]);
    EXPECT_EQ(select_subset(10000, 100, 123456789), py[2]);
    Rng r(7);
    std::vector<int64_t> u;
    for (int i = 0; i < 20; ++i) u.push_back(static_cast<int64_t>(r.uniform(3)));
    EXPECT_EQ(u, py[3]);
}

TEST(Random, SubsetProperties) {
    auto s = select_subset(1000, 50, 9);
    ASSERT_EQ(s.size(), 50u);
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_EQ(std::set<int64_t>(s.begin(), s.end()).size(), 50u);
    for (int64_t i : s) EXPECT_TRUE(i >= 0 && i < 1000);
    // A prefix of the full permutation with the same seed.
    auto perm = permutation(1000, 9);
    std::vector<int64_t> prefix(perm.begin(), perm.begin() + 50);
    std::sort(prefix.begin(), prefix.end());
    EXPECT_EQ(s, prefix);
    EXPECT_EQ(select_subset(1000, 50, 9), s);   // deterministic
    EXPECT_NE(select_subset(1000, 50, 10), s);  // and seed-dependent
    // k >= n: everything, in order.
    EXPECT_EQ(select_subset(5, 9, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(select_subset(0, 3, 1).empty());
    EXPECT_TRUE(select_subset(5, 0, 1).empty());
}

TEST(Random, PermutationIsAPermutationAndEpochsDiffer) {
    auto a = permutation(257, epoch_seed(3, 0));
    auto b = permutation(257, epoch_seed(3, 1));
    auto sa = a, sb = b;
    std::sort(sa.begin(), sa.end());
    std::sort(sb.begin(), sb.end());
    for (int64_t i = 0; i < 257; ++i) {
        EXPECT_EQ(sa[static_cast<size_t>(i)], i);
        EXPECT_EQ(sb[static_cast<size_t>(i)], i);
    }
    EXPECT_NE(a, b);
    EXPECT_EQ(permutation(257, epoch_seed(3, 1)), b);
    EXPECT_TRUE(permutation(0, 1).empty());
    EXPECT_EQ(permutation(1, 1), std::vector<int64_t>{0});
}

// Rejection sampling has no modulo bias: with n = 3 each value's frequency stays near 1/3.
TEST(Random, UniformIsRoughlyUniform) {
    Rng r(11);
    int counts[3] = {0, 0, 0};
    const int kN = 30000;
    for (int i = 0; i < kN; ++i) ++counts[r.uniform(3)];
    for (int c : counts) EXPECT_NEAR(c, kN / 3, 500);  // ~5.8 sigma
    for (int i = 0; i < 1000; ++i) {
        int64_t v = r.uniform_int(-2, 2);
        EXPECT_TRUE(v >= -2 && v <= 2);
        double u = r.uniform01();
        EXPECT_TRUE(u >= 0.0 && u < 1.0);
    }
    EXPECT_EQ(r.uniform(1), 0u);
}
