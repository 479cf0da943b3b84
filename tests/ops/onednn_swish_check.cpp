// The INT8 epilogues' swish (swish16_quantized, backends/onednn/swish.h) against the formula in
// double: its absolute error, and how often it moves a quantized output by a step compared with
// the exp-based swish16 the float path keeps. The convolution tests bound each output by one step,
// which a table several times less accurate still passes; this bounds the function itself.
// Compiled into qat_ops_tests only with the oneDNN backend (tests/ops/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "backends/onednn/swish.h"

namespace qat::onednn {
namespace {

#if defined(__x86_64__)
__attribute__((target("avx512f"))) void apply(const std::vector<float>& x, std::vector<float>* table,
                                              std::vector<float>* expo) {
    for (size_t i = 0; i < x.size(); i += 16) {
        const __m512 v = _mm512_loadu_ps(x.data() + i);
        _mm512_storeu_ps(table->data() + i, swish16_quantized(v));
        _mm512_storeu_ps(expo->data() + i, swish16(v));
    }
}
#endif

TEST(OnednnSwish, QuantizedFormWithinSixTenMillionthsOfTheFormula) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "no AVX-512 on this machine: swish16_quantized not used";
    // A dense grid over [-40, 40) (both signs, the table's end at 16, far tails).
    const size_t n = size_t{1} << 21;
    std::vector<float> x(n), table(n), expo(n);
    for (size_t i = 0; i < n; ++i) x[i] = -40.0f + 80.0f * (static_cast<float>(i) + 0.31f) / static_cast<float>(n);
    apply(x, &table, &expo);
    double worst = 0;
    size_t worst_i = 0, flips_table = 0, flips_expo = 0;
    for (size_t i = 0; i < n; ++i) {
        const double v = x[i], want = v / (1 + std::exp(-v));
        // Float rounding of the result itself (|swish(v)| ~ |v| for large v) is allowed for.
        // From |v| = 16 on the table gives h = 0, h(16) = 1.8e-6 off at most.
        const double err = std::fabs(table[i] - want) - 6e-8 * std::fabs(v) - (std::fabs(v) >= 16 ? 1.5e-6 : 0);
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
        // Output steps of 0.01 (a small scale for a swish output).
        const double q = std::nearbyint(want / 0.01);
        flips_table += std::nearbyint(table[i] / 0.01) != q;
        flips_expo += std::nearbyint(expo[i] / 0.01) != q;
    }
    EXPECT_LE(worst, 6e-7) << "at x = " << x[worst_i] << ": " << table[worst_i];
    // Measured: 25 and 29 of the 2M points (float rounding next to ties).
    std::printf("[ INFO     ] steps moved at scale 0.01: table %zu, exp-based %zu of %zu\n", flips_table, flips_expo,
                n);
    EXPECT_LE(flips_table, 2 * flips_expo + 20);
#else
    GTEST_SKIP() << "not an x86-64 build: swish16_quantized is AVX-512 only";
#endif
}

}  // namespace
}  // namespace qat::onednn
