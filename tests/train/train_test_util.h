// Helpers shared by the training tests: random inputs, the reference backend as the oracle, and
// tensor comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backends/ref/ref_backend.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/ref_test_util.h"
#include "runtime/plan.h"

namespace qat::train_test {

inline Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
    return t;
}

using qat::testing::ref_registry;

// The graph's outputs on the reference backend (the oracle), inputs in graph-input order.
inline std::vector<Tensor> run_ref(const ir::Graph& g, const std::vector<Tensor>& inputs) {
    auto plan = runtime::Plan::compile(g, {.registry = &ref_registry()});
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    if (!plan.ok()) return {};
    auto out = (*plan)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : std::vector<Tensor>{};
}

// max |a - b| / max |b| over float tensors of equal dims (b is the reference).
inline double max_rel_error(const Tensor& a, const Tensor& b) {
    if (a.dims() != b.dims()) return INFINITY;
    Tensor af = a.dtype() == DataType::kFloat32 ? a : a.cast(DataType::kFloat32);
    Tensor bf = b.dtype() == DataType::kFloat32 ? b : b.cast(DataType::kFloat32);
    double diff = 0.0, ref = 0.0;
    for (int64_t i = 0; i < af.numel(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(af.data<float>()[i]) - bf.data<float>()[i]));
        ref = std::max(ref, std::fabs(static_cast<double>(bf.data<float>()[i])));
    }
    return ref > 0.0 ? diff / ref : diff;
}

}  // namespace qat::train_test
