// Helpers for the engine pass tests: building Q/DQ graphs by hand, running graphs on the
// reference backend, and comparing outputs (float by relative error, int8 within N steps).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/qmath.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/text_form.h"
#include "ir/verify.h"
#include "models/zoo.h"
#include "passes/pass.h"
#include "passes/pipelines.h"
#include "quant/quantize.h"
#include "runtime/plan.h"

namespace qat::test {

// Whether this build has the oneDNN backend (tests that need it skip with a reason otherwise).
inline bool has_onednn() { return backends::is_available("onednn"); }

// A path in the temporary folder for an engine file of this test process: <stem>_<pid>.engine.
inline std::string temp_engine_file(const std::string& stem) {
    return (std::filesystem::temp_directory_path() / (stem + "_" + std::to_string(::getpid()) + ".engine")).string();
}

// Uniform values in [lo, hi) from a fixed seed.
inline Tensor random_tensor(std::vector<int64_t> dims, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937_64 rng(seed);
    Tensor t = Tensor::empty(DataType::kFloat32, dims);
    for (int64_t i = 0; i < t.numel(); ++i) {
        double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
        t.data<float>()[i] = static_cast<float>(lo + (hi - lo) * u);
    }
    return t;
}

// Runs a graph on the reference backend.
inline std::vector<Tensor> run_ref(const ir::Graph& g, const std::vector<Tensor>& inputs) {
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = {"ref"};
    auto plan = runtime::Plan::compile(g, po);
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    if (!plan.ok()) return {};
    auto out = (*plan)->run(inputs);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : std::vector<Tensor>{};
}

inline ir::Value* scalar_f32(ir::Graph& g, const std::string& name, float v) {
    return g.add_initializer(g.unique_value_name(name), Tensor::scalar<float>(v));
}
inline ir::Value* scalar_q(ir::Graph& g, const std::string& name, int32_t zp, DataType t = DataType::kInt8) {
    Tensor z = Tensor::zeros(t, {});
    z.set_from_double(0, zp);
    return g.add_initializer(g.unique_value_name(name), z);
}

// x -> QuantizeLinear(scale, zp) -> DequantizeLinear: returns the DQ output.
inline ir::Value* qdq(ir::Graph& g, ir::Value* x, float scale, int32_t zp, const std::string& name,
                      DataType t = DataType::kInt8) {
    ir::Value* s = scalar_f32(g, name + ".scale", scale);
    ir::Value* z = scalar_q(g, name + ".zp", zp, t);
    ir::Node* q = g.add_node("QuantizeLinear", {x, s, z}, {name + ".q"}, name + "_q");
    q->output(0)->set_dtype(t);
    q->output(0)->set_shape(x->shape());
    ir::Node* d = g.add_node("DequantizeLinear", {q->output(0), s, z}, {name + ".dq"}, name + "_dq");
    d->output(0)->set_dtype(DataType::kFloat32);
    d->output(0)->set_shape(x->shape());
    return d->output(0);
}

// A quantized weight: int8 initializer (symmetric, per channel along `axis` of `w`, values in
// [-127, 127]) -> DequantizeLinear. Returns the DQ output.
inline ir::Value* weight_dq(ir::Graph& g, const Tensor& w, int axis, const std::string& name, bool per_channel = true) {
    const int64_t ch = per_channel ? w.dim(static_cast<size_t>(axis)) : 1;
    std::vector<float> amax(static_cast<size_t>(ch), 0.0f);
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < w.rank(); ++d) inner *= w.dim(d);
    auto chan = [&](int64_t i) { return per_channel ? (i / inner) % ch : 0; };
    for (int64_t i = 0; i < w.numel(); ++i) amax[chan(i)] = std::max(amax[chan(i)], std::fabs(w.data<float>()[i]));
    std::vector<float> scale(amax.size());
    for (size_t c = 0; c < amax.size(); ++c) scale[c] = amax[c] > 0 ? amax[c] / 127.0f : 1.0f;
    Tensor wq = Tensor::empty(DataType::kInt8, w.dims());
    for (int64_t i = 0; i < w.numel(); ++i) {
        float q = qmath::round_half_even(w.data<float>()[i] / scale[chan(i)]);
        wq.data<int8_t>()[i] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, q)));
    }
    ir::Value* wv = g.add_initializer(g.unique_value_name(name + ".wq"), wq);
    ir::Value* s =
        per_channel ? g.add_initializer(g.unique_value_name(name + ".wscale"), Tensor::from_vector<float>({ch}, scale))
                    : scalar_f32(g, name + ".wscale", scale[0]);
    ir::Value* z = per_channel
                       ? g.add_initializer(g.unique_value_name(name + ".wzp"), Tensor::zeros(DataType::kInt8, {ch}))
                       : scalar_q(g, name + ".wzp", 0);
    ir::Node* d = g.add_node("DequantizeLinear", {wv, s, z}, {name + ".wdq"}, name + "_wdq");
    if (per_channel) d->set_attr("axis", ir::Attribute::from_int(axis));
    d->output(0)->set_dtype(DataType::kFloat32);
    d->output(0)->set_shape(w.shape());
    return d->output(0);
}

// Element-wise comparison of two int8/uint8 tensors: max |a - b| in steps, and the count of
// differing elements.
struct QuantDiff {
    int max_steps = 0;
    int64_t differing = 0;
};
inline QuantDiff quant_diff(const Tensor& a, const Tensor& b) {
    QuantDiff d;
    EXPECT_EQ(a.dtype(), b.dtype());
    EXPECT_EQ(a.dims(), b.dims());
    if (a.dims() != b.dims() || a.dtype() != b.dtype()) {
        d.max_steps = 1 << 20;
        return d;
    }
    for (int64_t i = 0; i < a.numel(); ++i) {
        int s = static_cast<int>(std::llround(std::fabs(a.get_as_double(i) - b.get_as_double(i))));
        d.max_steps = std::max(d.max_steps, s);
        if (s) ++d.differing;
    }
    return d;
}

// max |a - b| / max(|b|_inf, tiny): relative to the reference's scale.
inline double rel_diff(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.dims(), b.dims());
    if (a.dims() != b.dims()) return 1e30;
    double num = 0, den = 1e-12;
    for (int64_t i = 0; i < a.numel(); ++i) {
        num = std::max(num, std::fabs(a.get_as_double(i) - b.get_as_double(i)));
        den = std::max(den, std::fabs(b.get_as_double(i)));
    }
    return num / den;
}

// Max abs difference of float tensors.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.dims(), b.dims());
    if (a.dims() != b.dims()) return 1e30;
    double m = 0;
    for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.get_as_double(i) - b.get_as_double(i)));
    return m;
}

// Runs one pass with verify on; fails the test on error.
inline bool run_pass(passes::Pass& p, ir::Graph& g) {
    passes::PassContext ctx;
    ctx.verify_each = true;
    ctx.max_iterations = 10000;
    auto r = p.run(g, ctx);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return false;
    Status v = ir::verify(g);
    EXPECT_TRUE(v.ok()) << v.to_string() << "\n" << ir::print_graph(g);
    return *r;
}

// The engine pipeline (passes/pipelines.h) on a copy of g, verifying after every pass.
inline std::unique_ptr<ir::Graph> engine_graph(const ir::Graph& g) {
    auto e = g.clone();
    passes::PassManager pm = passes::make_engine_pipeline();
    passes::PassContext ctx;
    ctx.verify_each = true;
    ctx.max_iterations = 10000;
    auto r = pm.run(*e, ctx);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return e;
}

inline int count_ops(const ir::Graph& g, const std::string& op) {
    int n = 0;
    for (const ir::Node* node : g.nodes()) n += node->op_type() == op;
    return n;
}

inline std::unique_ptr<ir::Graph> parse_or_die(const std::string& text, uint64_t seed = 0) {
    ir::ParseOptions po;
    po.fill = ir::ParseOptions::Fill::kSeeded;
    po.seed = seed;
    auto g = ir::parse_graph(text, po);
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return g.ok() ? std::move(g).value() : std::make_unique<ir::Graph>();
}

// amax of every requested tensor over one run of the float graph on `input`.
inline quant::ActivationRangeFn ranges_from(const Tensor& input) {
    return
        [input](const ir::Graph& g, const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
            std::set<std::string> want(tensors.begin(), tensors.end());
            std::map<std::string, float> amax;
            auto absmax = [](const Tensor& t) {
                float m = 0;
                if (t.dtype() != DataType::kFloat32) return m;
                for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
                return m;
            };
            for (const ir::Value* in : g.inputs())
                if (want.count(in->name())) amax[in->name()] = absmax(input);
            runtime::PlanOptions po;
            po.registry = &backends::default_registry();
            po.backends = {"ref"};
            QAT_ASSIGN_OR_RETURN(auto plan, runtime::Plan::compile(g, po));
            auto hook = [&](const ir::Node& n, const std::vector<Tensor>& outs) -> Status {
                for (size_t i = 0; i < outs.size(); ++i)
                    if (n.output(i) && want.count(n.output(i)->name()))
                        amax[n.output(i)->name()] = std::max(amax[n.output(i)->name()], absmax(outs[i]));
                return OkStatus();
            };
            QAT_RETURN_IF_ERROR(plan->run(std::vector<Tensor>{input}, hook).status());
            return amax;
        };
}

// A zoo model at half width with random BatchNormalization statistics (numerical tests).
inline std::unique_ptr<ir::Graph> zoo_model(const std::string& name, uint64_t seed) {
    models::ZooOptions o;
    o.width_mult = 0.5;
    o.seed = seed;
    o.random_bn_stats = true;
    auto g = models::build_zoo_model(name, o);
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return g.ok() ? std::move(g).value() : nullptr;
}

// zoo_model(name, 5) quantized TensorRT-style with `preset`, calibrated on `calib`.
inline std::unique_ptr<ir::Graph> quantized_zoo_model(const std::string& name, const std::string& preset,
                                                      const Tensor& calib) {
    auto g = zoo_model(name, 5);
    if (!g) return nullptr;
    quant::QuantizeOptions qo;
    qo.preset = preset;
    qo.activation_ranges = ranges_from(calib);
    auto s = quant::quantize_graph(*g, qo);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(g) : nullptr;
}

}  // namespace qat::test
