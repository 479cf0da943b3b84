// Gemm / MatMul on the reference backend against loops written here.
#include <gtest/gtest.h>

#include "ref_test_util.h"

namespace qat {
namespace {

using testing::float_attr;
using testing::int_attr;
using testing::random_tensor;
using testing::run_node;

// A[i,k] of a row-major [rows, cols] matrix, read transposed or not.
float at(const Tensor& t, int64_t i, int64_t j, bool trans) {
    return trans ? t.data<float>()[j * t.dim(1) + i] : t.data<float>()[i * t.dim(1) + j];
}

void check_gemm(bool ta, bool tb, float alpha, float beta, std::vector<int64_t> c_dims) {
    const int64_t m = 3, k = 5, n = 4;
    Tensor a = random_tensor(ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}, 50);
    Tensor b = random_tensor(tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, 51);
    Tensor c = random_tensor(c_dims, 52);
    auto got = run_node(
        "Gemm", {a, b, c},
        {{"transA", int_attr(ta)}, {"transB", int_attr(tb)}, {"alpha", float_attr(alpha)}, {"beta", float_attr(beta)}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    std::vector<float> want;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < k; ++p) acc += at(a, i, p, ta) * at(b, p, j, tb);
            // C broadcast: index its dims that are not 1.
            int64_t ci = 0;
            if (c_dims.size() == 2) ci = (c_dims[0] == 1 ? 0 : i) * c_dims[1] + (c_dims[1] == 1 ? 0 : j);
            if (c_dims.size() == 1) ci = c_dims[0] == 1 ? 0 : j;
            want.push_back(static_cast<float>(alpha * acc + beta * c.data<float>()[ci]));
        }
    testing::expect_near((*got)[0], {m, n}, want);
}

TEST(RefGemm, TransposesScalesAndBroadcastsC) {
    check_gemm(false, false, 1.0f, 1.0f, {3, 4});
    check_gemm(true, false, 0.5f, 2.0f, {4});
    check_gemm(false, true, -1.0f, 0.25f, {3, 1});
    check_gemm(true, true, 2.0f, -1.0f, {});
    check_gemm(true, true, 1.0f, 1.0f, {1, 4});
}

TEST(RefGemm, OptionalCAndErrors) {
    Tensor a = random_tensor({2, 3}, 53), b = random_tensor({3, 2}, 54);
    auto r = run_node("Gemm", {a, b});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    float want = 0;
    for (int p = 0; p < 3; ++p) want += a.data<float>()[p] * b.data<float>()[p * 2];
    EXPECT_NEAR((*r)[0].data<float>()[0], want, 1e-6f);

    auto inner = run_node("Gemm", {a, random_tensor({4, 2}, 55)});
    ASSERT_FALSE(inner.ok());
    EXPECT_NE(inner.status().message().find("inner dims 3 and 4"), std::string::npos) << inner.status().message();
    auto bad_c = run_node("Gemm", {a, b, random_tensor({3}, 56)});
    ASSERT_FALSE(bad_c.ok());
    EXPECT_NE(bad_c.status().message().find("not broadcastable"), std::string::npos) << bad_c.status().message();
}

// Reference matmul of one [m,k] x [k,n] pair.
std::vector<float> mm(const float* a, const float* b, int64_t m, int64_t k, int64_t n) {
    std::vector<float> y(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < k; ++p) acc += a[i * k + p] * b[p * n + j];
            y[i * n + j] = static_cast<float>(acc);
        }
    return y;
}

TEST(RefMatMul, BroadcastsBatchDims) {
    Tensor a = random_tensor({2, 1, 3, 4}, 57);
    Tensor b = random_tensor({3, 4, 5}, 58);
    auto r = run_node("MatMul", {a, b});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::vector<float> want;
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 3; ++j) {
            auto part = mm(a.data<float>() + i * 12, b.data<float>() + j * 20, 3, 4, 5);
            want.insert(want.end(), part.begin(), part.end());
        }
    testing::expect_near((*r)[0], {2, 3, 3, 5}, want);
}

TEST(RefMatMul, OneDimensionalOperands) {
    Tensor v = random_tensor({4}, 59);
    Tensor m = random_tensor({2, 4, 3}, 60);
    auto vm = run_node("MatMul", {v, m});  // [4] x [2,4,3] -> [2,3]
    ASSERT_TRUE(vm.ok()) << vm.status().to_string();
    std::vector<float> want;
    for (int64_t i = 0; i < 2; ++i) {
        auto part = mm(v.data<float>(), m.data<float>() + i * 12, 1, 4, 3);
        want.insert(want.end(), part.begin(), part.end());
    }
    testing::expect_near((*vm)[0], {2, 3}, want);

    Tensor a = random_tensor({3, 4}, 61);
    auto mv = run_node("MatMul", {a, v});  // [3,4] x [4] -> [3]
    ASSERT_TRUE(mv.ok()) << mv.status().to_string();
    testing::expect_near((*mv)[0], {3}, mm(a.data<float>(), v.data<float>(), 3, 4, 1));

    auto dot = run_node("MatMul", {v, v});  // [4] x [4] -> []
    ASSERT_TRUE(dot.ok()) << dot.status().to_string();
    testing::expect_near((*dot)[0], {}, mm(v.data<float>(), v.data<float>(), 1, 4, 1));
}

TEST(RefMatMul, Int32AndErrors) {
    Tensor a = Tensor::from_vector<int32_t>({2, 2}, {1, -2, 3, 4});
    Tensor b = Tensor::from_vector<int32_t>({2, 1}, {100000, 7});
    auto r = run_node("MatMul", {a, b});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<int32_t>(), (std::vector<int32_t>{100000 - 14, 300000 + 28}));

    auto bad = run_node("MatMul", {random_tensor({2, 3, 4}, 62), random_tensor({3, 5}, 63)});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("[2,3,4]"), std::string::npos) << bad.status().message();
    EXPECT_NE(bad.status().message().find("[3,5]"), std::string::npos) << bad.status().message();
    auto batch = run_node("MatMul", {random_tensor({2, 3, 4}, 64), random_tensor({3, 4, 5}, 65)});
    ASSERT_FALSE(batch.ok());
    EXPECT_NE(batch.status().message().find("batch dims"), std::string::npos) << batch.status().message();
}

}  // namespace
}  // namespace qat
