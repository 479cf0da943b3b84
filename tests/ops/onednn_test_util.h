// Helpers of the oneDNN conformance driver: build one-node (or small) graphs, run them on the
// oneDNN backend (ref filling in ops oneDNN does not take) and on the reference backend alone,
// and compare: float by max-abs error relative to the output's range, int8 within 1 LSB.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "ir/fused_ops.h"
#include "ir/graph.h"
#include "runtime/plan.h"

namespace qat::onednn_test {

inline bool onednn_available() { return backends::is_available("onednn"); }

#define QAT_REQUIRE_ONEDNN()                                                               \
    do {                                                                                   \
        if (!::qat::onednn_test::onednn_available())                                       \
            GTEST_SKIP() << "the oneDNN backend is not compiled in (QAT_WITH_ONEDNN=OFF)"; \
    } while (0)

inline Tensor rand_f32(std::vector<int64_t> dims, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(gen);
    return t;
}

// Integers uniform in [lo, hi] as int8 or uint8.
inline Tensor rand_q(DataType type, std::vector<int64_t> dims, uint32_t seed, int lo, int hi) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    Tensor t = Tensor::empty(type, std::move(dims));
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (type == DataType::kInt8)
            t.data<int8_t>()[i] = static_cast<int8_t>(d(gen));
        else
            t.data<uint8_t>()[i] = static_cast<uint8_t>(d(gen));
    }
    return t;
}

inline ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::from_ints(std::move(v)); }
inline ir::Attribute i64(int64_t v) { return ir::Attribute::from_int(v); }
inline ir::Attribute f32(float v) { return ir::Attribute::from_float(v); }
inline ir::Attribute floats(std::vector<float> v) { return ir::Attribute::from_floats(std::move(v)); }
inline ir::Attribute strs(std::vector<std::string> v) { return ir::Attribute::from_strings(std::move(v)); }
inline ir::Attribute str(std::string v) { return ir::Attribute::from_string(std::move(v)); }

struct Expect {
    // Nodes that must run on oneDNN (by name); empty = every node of the graph.
    std::vector<std::string> onednn_nodes;
    float tol = 1e-5f;  // float outputs: max |diff| <= tol * max(1, max |ref|)
    int lsb = 1;        // quantized outputs: max |diff| in integer steps
    // Quantized outputs: the largest share of elements that may differ at all (within lsb); a
    // kernel allowed one step off next to ties must not be one step off everywhere.
    double max_differ_share = 1.0;
    int threads = 1;
    // Extra runs with other inputs (same graph and plans): dynamic shapes, re-prepare.
    std::vector<std::vector<Tensor>> more_inputs;
    bool expect_blocked = false;  // some step must hand a non-plain layout to the next
    // (node name, text its implementation must contain), checked in the oneDNN plan's profile.
    std::vector<std::pair<std::string, std::string>> impls;
    // (node name, text its implementation must not contain), from the same profile.
    std::vector<std::pair<std::string, std::string>> not_impls;
    // (node name, text its output layout must contain, e.g. "acdb"), from the same profile.
    std::vector<std::pair<std::string, std::string>> layouts;
};

inline double max_abs(const Tensor& t) {
    double m = 0;
    for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.get_as_double(i)));
    return m;
}

inline void compare(const Tensor& got, const Tensor& want, const std::string& what, const Expect& e) {
    ASSERT_EQ(dtype_name(got.dtype()), std::string(dtype_name(want.dtype()))) << what;
    ASSERT_EQ(dims_to_string(got.dims()), dims_to_string(want.dims())) << what;
    double worst = 0;
    int64_t worst_i = -1, differ = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
        double a = got.get_as_double(i), b = want.get_as_double(i);
        double d = std::isnan(a) || std::isnan(b) ? (std::isnan(a) == std::isnan(b) ? 0 : 1e30) : std::fabs(a - b);
        differ += d != 0;
        if (d > worst) {
            worst = d;
            worst_i = i;
        }
    }
    if (is_float(want.dtype())) {
        double bound = e.tol * std::max(1.0, max_abs(want));
        EXPECT_LE(worst, bound) << what << ": element " << worst_i << " is " << got.get_as_double(worst_i)
                                << ", reference " << want.get_as_double(worst_i);
    } else {
        EXPECT_LE(worst, e.lsb) << what << ": element " << worst_i << " is " << got.get_as_double(worst_i)
                                << ", reference " << want.get_as_double(worst_i) << " (" << differ << " of "
                                << want.numel() << " differ)";
        EXPECT_LE(static_cast<double>(differ), e.max_differ_share * static_cast<double>(want.numel()))
            << what << ": " << differ << " of " << want.numel() << " elements differ from the reference";
    }
}

// Runs `g` on oneDNN (+ ref for what oneDNN declines) and on ref alone; compares every output.
inline void check_against_ref(const ir::Graph& g, const std::vector<Tensor>& inputs, const Expect& e = {}) {
    const auto& reg = backends::default_registry();
    auto fast = runtime::Plan::compile(g, {.registry = &reg, .backends = {"onednn", "ref"}, .num_threads = e.threads});
    ASSERT_TRUE(fast.ok()) << fast.status().to_string();
    auto ref = runtime::Plan::compile(g, {.registry = &reg, .backends = {"ref"}});
    ASSERT_TRUE(ref.ok()) << ref.status().to_string();
    for (const auto& st : (*fast)->steps()) {
        bool must = e.onednn_nodes.empty() ? st.backend != "constant"
                                           : std::find(e.onednn_nodes.begin(), e.onednn_nodes.end(), st.node->name()) !=
                                                 e.onednn_nodes.end();
        if (!must) continue;
        std::string why;
        for (const auto& r : st.refusals) why += r.backend + ": " + r.reason + "; ";
        EXPECT_EQ(st.backend, "onednn") << st.node->desc() << " did not run on oneDNN: " << why;
    }
    (*fast)->set_profiling(true);
    std::vector<std::vector<Tensor>> all{inputs};
    all.insert(all.end(), e.more_inputs.begin(), e.more_inputs.end());
    for (size_t k = 0; k < all.size(); ++k) {
        auto got = (*fast)->run(all[k]);
        ASSERT_TRUE(got.ok()) << "oneDNN plan, run " << k << ": " << got.status().to_string();
        auto want = (*ref)->run(all[k]);
        ASSERT_TRUE(want.ok()) << "ref plan, run " << k << ": " << want.status().to_string();
        ASSERT_EQ(got->size(), want->size());
        for (size_t i = 0; i < got->size(); ++i)
            compare((*got)[i], (*want)[i], "run " + std::to_string(k) + " output '" + (*fast)->output_names()[i] + "'",
                    e);
    }
    for (const auto& [node, text] : e.impls) {
        std::string impl = "(node not found)";
        for (const auto& p : (*fast)->profile())
            if (p.node->name() == node) impl = p.implementation;
        EXPECT_NE(impl.find(text), std::string::npos) << node << " ran '" << impl << "', expected '" << text << "'";
    }
    for (const auto& [node, text] : e.not_impls) {
        std::string impl = "(node not found)";
        for (const auto& p : (*fast)->profile())
            if (p.node->name() == node) impl = p.implementation;
        EXPECT_EQ(impl.find(text), std::string::npos) << node << " ran '" << impl << "', not expected";
    }
    for (const auto& [node, text] : e.layouts) {
        std::string layout = "(node not found)";
        for (const auto& p : (*fast)->profile())
            if (p.node->name() == node) layout = p.out_layout;
        EXPECT_NE(layout.find(text), std::string::npos)
            << node << " handed on '" << layout << "', expected '" << text << "'";
    }
    if (e.expect_blocked) {
        bool any = false;
        for (const auto& p : (*fast)->profile()) any = any || !p.out_layout.empty();
        EXPECT_TRUE(any) << "no step produced a non-plain layout: the hand-off path was not exercised";
    }
}

inline ir::Value* constant(ir::Graph& g, const std::string& name, Tensor t) {
    return g.add_initializer(name, std::move(t));
}

}  // namespace qat::onednn_test
