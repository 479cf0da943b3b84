// The INT8 epilogues' swish (swish16_quantized and swish16_to_output from registers or memory: backends/onednn/swish.h)
// against the formula in double: its absolute error, and how often its output form moves a
// quantized output by a step compared with the exp-based swish16 the float path keeps. The convolution tests bound each
// output by one step, which a table several times less accurate still passes; this bounds the function itself. Compiled
// into qat_ops_tests only with the oneDNN backend (tests/ops/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "backends/onednn/swish.h"

namespace qat::onednn {
namespace {

#if defined(__x86_64__)
constexpr float kStep = 0.01f;  // an output scale (a small one for a swish output)
constexpr int32_t kZp = -7;     // an output zero point, which the folded form keeps in its table

// The table form as a value, and rounded to output steps of kStep; the output form's (zero point
// kZp, taken off again) with its table in registers and in memory; and the exp-based swish16
// rounded the same way.
__attribute__((target("avx512f,avx512dq"))) void apply(const std::vector<float>& x, std::vector<float>* table,
                                                       std::vector<int32_t>* table_q, std::vector<int32_t>* folded_q,
                                                       std::vector<int32_t>* memory_q, std::vector<int32_t>* expo_q) {
    const __m512 iy = _mm512_set1_ps(1 / kStep);
    const SwishOutput form(kStep, static_cast<float>(kZp));
    const SwishOutputRegs regs = swish_output_regs(form);
    for (size_t i = 0; i < x.size(); i += 16) {
        const __m512 v = _mm512_loadu_ps(x.data() + i), v2 = _mm512_add_ps(v, v);
        const __m512 t = swish16_quantized(v);
        _mm512_storeu_ps(table->data() + i, t);
        _mm512_storeu_si512(table_q->data() + i, _mm512_cvtps_epi32(_mm512_mul_ps(t, iy)));
        const __m512i folded = _mm512_cvtps_epi32(swish16_to_output(v2, regs));
        _mm512_storeu_si512(folded_q->data() + i, _mm512_sub_epi32(folded, _mm512_set1_epi32(kZp)));
        const __m512i memory = _mm512_cvtps_epi32(swish16_to_output(v2, form));
        _mm512_storeu_si512(memory_q->data() + i, _mm512_sub_epi32(memory, _mm512_set1_epi32(kZp)));
        _mm512_storeu_si512(expo_q->data() + i, _mm512_cvtps_epi32(_mm512_mul_ps(swish16(v), iy)));
    }
}
#endif

TEST(OnednnSwish, QuantizedFormWithinFourTenMillionthsOfTheFormula) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq"))
        GTEST_SKIP() << "no AVX-512 F / DQ on this machine: swish16_quantized not used";
    // A dense grid over [-40, 40) (both signs, the table's end at 16, far tails).
    const size_t n = size_t{1} << 21;
    std::vector<float> x(n), table(n);
    std::vector<int32_t> table_q(n), folded_q(n), memory_q(n), expo_q(n);
    for (size_t i = 0; i < n; ++i) x[i] = -40.0f + 80.0f * (static_cast<float>(i) + 0.31f) / static_cast<float>(n);
    apply(x, &table, &table_q, &folded_q, &memory_q, &expo_q);
    double worst = 0;
    size_t worst_i = 0, flips_table = 0, flips_folded = 0, flips_expo = 0;
    for (size_t i = 0; i < n; ++i) {
        const double v = x[i], want = v / (1 + std::exp(-v));
        // Float rounding of the result itself (|swish(v)| ~ |v| for large v) is allowed for;
        // from |v| = 15.5 on the table gives h = 0, h(15.5) = 2.9e-6 at most.
        const double err = std::fabs(table[i] - want) - 6e-8 * std::fabs(v) - (std::fabs(v) >= 15.5 ? 2.9e-6 : 0);
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
        const double q = std::nearbyint(want / kStep);
        flips_table += table_q[i] != q;
        flips_folded += folded_q[i] != q;
        flips_expo += expo_q[i] != q;
    }
    EXPECT_LE(worst, 4e-7) << "at x = " << x[worst_i] << ": " << table[worst_i];
    // Measured: 103 (table), 110 (output form) and 107 (exp-based) of the 2M points (float rounding
    // next to ties).
    std::printf("[ INFO     ] steps moved at scale %g: table form %zu, folded %zu, exp-based %zu of %zu\n", kStep,
                flips_table, flips_folded, flips_expo, n);
    EXPECT_LE(flips_table, flips_expo + 10);
    EXPECT_LE(flips_folded, flips_expo + 10);
    // The same instructions on the same table, its operands from memory instead of registers.
    EXPECT_EQ(memory_q, folded_q);
#else
    GTEST_SKIP() << "not an x86-64 build: swish16_quantized is AVX-512 only";
#endif
}

}  // namespace
}  // namespace qat::onednn
