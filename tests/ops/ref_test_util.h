// Helpers for the reference-kernel tests: run one node on the reference backend, and small
// seeded data generators. Expected values are always computed independently in the tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/ref/ref_backend.h"
#include "ir/graph.h"
#include "runtime/plan.h"

namespace qat::testing {

inline const runtime::KernelRegistry& ref_registry() {
    static const runtime::KernelRegistry reg = [] {
        runtime::KernelRegistry r;
        ref::register_kernels(r);
        return r;
    }();
    return reg;
}

// One node `op` over graph inputs in0, in1, ... (an undefined Tensor = omitted optional input),
// with the given attributes and opset; returns its outputs or the Plan's error.
inline Result<std::vector<Tensor>> run_node(const std::string& op, const std::vector<Tensor>& inputs,
                                            const std::map<std::string, ir::Attribute>& attrs = {}, int64_t opset = 13,
                                            size_t num_outputs = 1) {
    ir::Graph g;
    g.info().set_opset("", opset);
    std::vector<ir::Value*> ins;
    std::vector<Tensor> feed;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) {
            ins.push_back(nullptr);
            continue;
        }
        ins.push_back(g.add_input("in" + std::to_string(i), inputs[i].dtype(), inputs[i].shape()));
        feed.push_back(inputs[i]);
    }
    std::vector<std::string> outs;
    for (size_t i = 0; i < num_outputs; ++i) outs.push_back("out" + std::to_string(i));
    ir::Node* n = g.add_node(op, ins, outs, "node");
    for (const auto& [k, v] : attrs) n->set_attr(k, v);
    for (size_t i = 0; i < num_outputs; ++i) g.add_output(n->output(i));
    QAT_ASSIGN_OR_RETURN(auto plan, runtime::Plan::compile(g, {.registry = &ref_registry(), .backends = {"ref"}}));
    return plan->run(feed);
}

inline ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::from_ints(std::move(v)); }
inline ir::Attribute int_attr(int64_t v) { return ir::Attribute::from_int(v); }
inline ir::Attribute float_attr(float v) { return ir::Attribute::from_float(v); }
inline ir::Attribute str(std::string v) { return ir::Attribute::from_string(std::move(v)); }

// Uniform floats in [lo, hi) from a fixed seed.
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(gen);
    return v;
}

inline Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    auto v = random_floats(static_cast<size_t>(numel_of(dims)), seed, lo, hi);
    return Tensor::from_vector<float>(std::move(dims), v);
}

// Element-wise comparison of float tensors with a relative + absolute tolerance.
inline void expect_near(const Tensor& got, const std::vector<int64_t>& dims, const std::vector<float>& want,
                        float tol = 1e-5f) {
    ASSERT_EQ(got.dims(), dims);
    ASSERT_EQ(static_cast<size_t>(got.numel()), want.size());
    for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got.data<float>()[i], want[i], tol * (1.0f + std::fabs(want[i]))) << "element " << i;
}

}  // namespace qat::testing
