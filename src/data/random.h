// Portable randomness for data: subset selection, per-epoch shuffling and augmentation.
//
// Everything here gives the same numbers on every machine and standard library. The engine is
// std::mt19937_64 (its output sequence is fixed by the C++ standard); bounded integers and
// uniform floats are derived from it by our own code, because std::uniform_int_distribution,
// std::uniform_real_distribution and std::shuffle are implementation-defined and differ between
// libstdc++, libc++ and MSVC. A calibration set chosen with `--calib-samples 512 --seed 1` is
// therefore the same 512 images everywhere.
//
//   std::vector<int64_t> idx = data::select_subset(dataset.size(), 512, seed);  // sorted indices
//   std::vector<int64_t> order = data::permutation(n, data::epoch_seed(seed, epoch));
//   data::Rng rng(seed);
//   if (rng.bernoulli(0.5)) flip(...);
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace qat::data {

class Rng {
  public:
    explicit Rng(uint64_t seed = 0) : engine_(seed) {}

    // Raw 64-bit output of mt19937_64.
    uint64_t next_u64() { return engine_(); }
    // Uniform integer in [0, n) by rejection (no modulo bias); n must be > 0. Draws one or more
    // engine outputs: x is rejected while x >= 2^64 - (2^64 mod n), then x mod n is returned.
    uint64_t uniform(uint64_t n);
    // Uniform integer in [lo, hi] (inclusive); lo <= hi.
    int64_t uniform_int(int64_t lo, int64_t hi);
    // Uniform double in [0, 1): the top 53 bits of one output times 2^-53.
    double uniform01() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
    // True with probability p (one engine output).
    bool bernoulli(double p) { return uniform01() < p; }

  private:
    std::mt19937_64 engine_;
};

// splitmix64 finaliser: decorrelates nearby seeds (seed, seed+1) before they seed an engine.
uint64_t mix_seed(uint64_t x);
// The seed for epoch `epoch` of a run seeded with `seed` (so epochs shuffle differently but
// reproducibly).
inline uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
    return mix_seed(seed ^ mix_seed(static_cast<uint64_t>(epoch)));
}

// A permutation of 0..n-1: Fisher-Yates (Durstenfeld), i = 0..n-2 swaps a[i] with
// a[i + uniform(n - i)], with Rng(seed).
std::vector<int64_t> permutation(int64_t n, uint64_t seed);
// k distinct indices out of 0..n-1, chosen by the first k steps of the same Fisher-Yates as
// permutation() (so they are a prefix of permutation(n, seed)), returned sorted ascending for
// sequential reads. k >= n returns all of 0..n-1.
std::vector<int64_t> select_subset(int64_t n, int64_t k, uint64_t seed);

}  // namespace qat::data
