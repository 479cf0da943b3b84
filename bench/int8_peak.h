// The INT8 peak of this machine, measured two ways for bench/: a tight AVX-512 VNNI loop
// (vpdpbusd on independent accumulators, one thread per core: the hardware ceiling) and a
// compute-bound oneDNN int8 convolution (what a real kernel reaches). Model benchmarks report
// their convolutions as a percentage of the VNNI loop's figure.
//
//   double peak = qat::bench::vnni_peak_gops(2, 0.5);   // 0 when the CPU has no AVX-512 VNNI
#pragma once

#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace qat::bench {

inline bool has_vnni() { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512f"); }

// `reps` rounds of 16 independent vpdpbusd (64 u8 x s8 products each): 2 ops per product.
// The accumulators start from different values and pass through an empty asm every round: with
// equal starting values GCC proved the 16 chains identical and kept ONE vpdpbusd per round (then
// doubled the result four times), so the loop ran one latency-bound chain while being counted as
// 16, and the "peak" came out twice the hardware's (3.35 instead of 1.75 TOPS on 2 Zen 5 cores).
__attribute__((target("avx512f,avx512vnni"), noinline)) inline int32_t vnni_kernel(int64_t reps, int32_t seed) {
    __m512i a = _mm512_set1_epi32(seed | 0x01010101), b = _mm512_set1_epi32(0x01020304);
    __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2);
    __m512i c3 = _mm512_set1_epi32(3), c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5);
    __m512i c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7), c8 = _mm512_set1_epi32(8);
    __m512i c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
    __m512i c12 = _mm512_set1_epi32(12), c13 = _mm512_set1_epi32(13), c14 = _mm512_set1_epi32(14);
    __m512i c15 = _mm512_set1_epi32(15);
    for (int64_t i = 0; i < reps; ++i) {
        c0 = _mm512_dpbusd_epi32(c0, a, b);
        c1 = _mm512_dpbusd_epi32(c1, a, b);
        c2 = _mm512_dpbusd_epi32(c2, a, b);
        c3 = _mm512_dpbusd_epi32(c3, a, b);
        c4 = _mm512_dpbusd_epi32(c4, a, b);
        c5 = _mm512_dpbusd_epi32(c5, a, b);
        c6 = _mm512_dpbusd_epi32(c6, a, b);
        c7 = _mm512_dpbusd_epi32(c7, a, b);
        c8 = _mm512_dpbusd_epi32(c8, a, b);
        c9 = _mm512_dpbusd_epi32(c9, a, b);
        c10 = _mm512_dpbusd_epi32(c10, a, b);
        c11 = _mm512_dpbusd_epi32(c11, a, b);
        c12 = _mm512_dpbusd_epi32(c12, a, b);
        c13 = _mm512_dpbusd_epi32(c13, a, b);
        c14 = _mm512_dpbusd_epi32(c14, a, b);
        c15 = _mm512_dpbusd_epi32(c15, a, b);
        // Opaque to the optimizer: no chain can be merged with another or hoisted out of the loop.
        asm volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7));
        asm volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12), "+v"(c13), "+v"(c14), "+v"(c15));
    }
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                                 _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)),
                                             _mm512_add_epi32(_mm512_add_epi32(c12, c13), _mm512_add_epi32(c14, c15))));
    // Not _mm512_reduce_add_epi32: GCC 12's header trips -Wuninitialized inside it.
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, s);
    int32_t sum = 0;
    for (int32_t v : lanes) sum += v;
    return sum;
}

inline constexpr double kOpsPerRep = 16.0 * 64.0 * 2.0;

// GOPS of the VNNI loop on `threads` threads for about `seconds` (best of a few rounds). Plain
// std::thread, so that code built without OpenMP (the qat CLI's `bench --profile`) can use it.
inline double vnni_peak_gops(int threads, double seconds = 0.5) {
    if (!has_vnni() || threads < 1) return 0;
    const int64_t reps = 4 << 20;
    double best = 0;
    auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    volatile int32_t sink = 0;
    do {
        auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&sink, reps, t] {
                int32_t r = vnni_kernel(reps, t + 1);
                if (r == 42) sink = r;
            });
        for (auto& th : pool) th.join();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double g = kOpsPerRep * static_cast<double>(reps) * threads / s / 1e9;
        if (g > best) best = g;
    } while (std::chrono::steady_clock::now() < t_end);
    (void)sink;
    return best;
}

}  // namespace qat::bench
