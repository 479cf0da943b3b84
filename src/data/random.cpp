#include "data/random.h"

#include <algorithm>
#include <numeric>

#include "core/status.h"

namespace qat::data {

uint64_t Rng::uniform(uint64_t n) {
    QAT_ASSERT(n > 0, "Rng::uniform(0)");
    // 2^64 mod n computed without 128-bit arithmetic: (2^64 - n) mod n == 2^64 mod n.
    const uint64_t rem = (0 - n) % n;
    const uint64_t limit = rem == 0 ? 0 : 0 - rem;  // accept x < limit; limit 0 means accept all
    for (;;) {
        uint64_t x = engine_();
        if (limit == 0 || x < limit) return x % n;
    }
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
    QAT_ASSERT(lo <= hi, "Rng::uniform_int(", lo, ", ", hi, ")");
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + uniform(span));
}

uint64_t mix_seed(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

namespace {
// The first k steps of Durstenfeld's shuffle over 0..n-1.
std::vector<int64_t> partial_shuffle(int64_t n, int64_t k, uint64_t seed) {
    std::vector<int64_t> a(static_cast<size_t>(n));
    std::iota(a.begin(), a.end(), int64_t{0});
    Rng rng(seed);
    for (int64_t i = 0; i < k && i + 1 < n; ++i) {
        int64_t j = i + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n - i)));
        std::swap(a[static_cast<size_t>(i)], a[static_cast<size_t>(j)]);
    }
    return a;
}
}  // namespace

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
    if (n <= 0) return {};
    return partial_shuffle(n, n, seed);
}

std::vector<int64_t> select_subset(int64_t n, int64_t k, uint64_t seed) {
    if (n <= 0 || k <= 0) return {};
    if (k >= n) {
        std::vector<int64_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), int64_t{0});
        return all;
    }
    std::vector<int64_t> a = partial_shuffle(n, k, seed);
    a.resize(static_cast<size_t>(k));
    std::sort(a.begin(), a.end());
    return a;
}

}  // namespace qat::data
