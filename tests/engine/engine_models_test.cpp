// Whole models through the engine: the zoo's ResNet v1 / v2, MobileNetV2, EfficientNet (SE,
// swish) and Inception, quantized by `qat quantize`'s library (calibrated on random data), built
// into an engine on the reference backend and compared with the reference backend running the
// unfused Q/DQ graph. FP32 models must come out of the engine passes unchanged within 1e-4
// relative.
//
// Bounds for the Q/DQ models: each fused op, fed the unfused graph's own input values, matches
// that graph's output within one int8 step on fewer than 1% of its elements (the two differ only
// in float re-association: exact integer accumulation vs float conv of dequantized values, which
// moves a rounding by one step where the value sits next to a rounding boundary). End to end the
// logits are within 3% of their largest magnitude with the same top-1 (see the test for why).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "backends/registry.h"
#include "engine/engine.h"
#include "ir/fused_ops.h"
#include "models/zoo.h"
#include "passes/engine_test_util.h"
#include "quant/quantize.h"

namespace qat {
namespace {

using test::random_tensor;

struct ZooCase {
    std::string model;
    std::string preset;
};

std::unique_ptr<ir::Graph> zoo(const std::string& name) { return test::zoo_model(name, 7); }

engine::Engine build_ref(const ir::Graph& g) {
    engine::EngineOptions eo;
    eo.backends = {"ref"};
    eo.threads = 1;
    auto e = engine::build_engine(g, eo);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return std::move(e).value();
}

int64_t argmax_row(const Tensor& t, int64_t row) {
    const int64_t k = t.dim(1);
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
        if (t.data<float>()[row * k + j] > t.data<float>()[row * k + best]) best = j;
    return best;
}

class QdqZooModels : public ::testing::TestWithParam<ZooCase> {};

TEST_P(QdqZooModels, EngineMatchesUnfusedReference) {
    const ZooCase& c = GetParam();
    auto g = zoo(c.model);
    ASSERT_TRUE(g);
    Tensor calib = random_tensor({4, 1, 28, 28}, 11, 0.0f, 1.0f);
    quant::QuantizeOptions qo;
    qo.preset = c.preset;
    qo.activation_ranges = test::ranges_from(calib);
    auto summary = quant::quantize_graph(*g, qo);
    ASSERT_TRUE(summary.ok()) << summary.status().to_string();
    ASSERT_TRUE(summary->calibrated);

    engine::Engine e = build_ref(*g);
    int fused = 0, fp32_convs = 0;
    for (const ir::Node* n : e.graph().nodes()) {
        fused += ir::fused::is_fused_op(*n);
        fp32_convs += n->op_type() == "Conv" || n->op_type() == "Gemm" || n->op_type() == "MatMul";
    }
    EXPECT_GT(fused, 0);
    RecordProperty("fused_ops", fused);
    RecordProperty("fp32_mac_ops", fp32_convs);
    if (c.model == "resnet_v1" || c.model == "mobilenet_v2" || c.model == "inception") {
        EXPECT_EQ(fp32_convs, 0) << "every Conv/Gemm should run INT8\n" << ir::print_graph(e.graph());
    }

    Tensor x = random_tensor({3, 1, 28, 28}, 12, 0.0f, 1.0f);
    // The unfused graph's every tensor, by name.
    std::map<std::string, Tensor> ref_vals;
    ref_vals["input"] = x;
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = {"ref"};
    auto ref_plan = runtime::Plan::compile(*g, po);
    ASSERT_TRUE(ref_plan.ok()) << ref_plan.status().to_string();
    auto ref_out = (*ref_plan)->run(std::vector<Tensor>{x}, [&](const ir::Node& n, const std::vector<Tensor>& outs) {
        for (size_t i = 0; i < outs.size(); ++i)
            if (n.output(i) && outs[i].defined()) ref_vals[n.output(i)->name()] = outs[i].clone();
        return OkStatus();
    });
    ASSERT_TRUE(ref_out.ok()) << ref_out.status().to_string();
    const std::vector<Tensor> ref = *ref_out;

    // Layer by layer: each fused op, fed the unfused graph's own values of its inputs (the fused
    // op's inputs and output keep the names of the tensors they replace), gives that graph's
    // output within one int8 step, on fewer than 1% of the elements.
    int isolated = 0, no_counterpart = 0;
    for (const ir::Node* n : e.graph().nodes()) {
        if (!ir::fused::is_fused_op(*n)) continue;
        ir::Graph one;
        one.info() = e.graph().info();
        std::vector<ir::Value*> ins;
        std::vector<Tensor> feeds;
        bool complete = true;
        for (const ir::Value* v : n->inputs()) {
            if (!v) {
                ins.push_back(nullptr);
            } else if (v->is_constant()) {
                ins.push_back(one.add_initializer(v->name(), v->constant()));
            } else if (ref_vals.count(v->name())) {
                ins.push_back(one.add_input(v->name(), ref_vals[v->name()].dtype(), Shape::unknown_rank()));
                feeds.push_back(ref_vals[v->name()]);
            } else {
                complete = false;
            }
        }
        auto want = ref_vals.find(n->output(0)->name());
        if (!complete || want == ref_vals.end()) {
            // A tensor the unfused graph never computes (e.g. a Q that propagation moved before a
            // Flatten quantizes the pooled tensor itself).
            ++no_counterpart;
            continue;
        }
        ir::Node* c = one.add_node(n->op_type(), ins, {n->output(0)->name()}, n->name(), n->domain());
        for (const auto& [k, a] : n->attrs()) c->set_attr(k, a);
        one.add_output(c->output(0));
        auto out = test::run_ref(one, feeds);
        ASSERT_EQ(out.size(), 1u) << n->desc();
        ASSERT_EQ(out[0].dtype(), want->second.dtype()) << n->desc();
        ++isolated;
        if (is_quantized_type(out[0].dtype())) {
            test::QuantDiff d = test::quant_diff(out[0], want->second);
            EXPECT_LE(d.max_steps, 1) << n->desc();
            EXPECT_LE(d.differing * 100, out[0].numel())
                << n->desc() << ": " << d.differing << " of " << out[0].numel() << " elements differ";
        } else {
            EXPECT_LE(test::rel_diff(out[0], want->second), 1e-5) << n->desc();
        }
    }
    EXPECT_EQ(isolated + no_counterpart, fused);
    EXPECT_LE(no_counterpart, 1) << "fused ops should be checkable against the unfused graph's tensors";

    // End to end, those rare one-step differences propagate and can grow through the layers
    // (one step at the input of a conv moves its outputs by |w| * s_in / s_out steps), so the
    // logits get a looser bound: within 3% of their largest magnitude, the same top-1.
    auto got = e.run(std::vector<Tensor>{x});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    ASSERT_EQ(ref.size(), got->size());
    EXPECT_LE(test::rel_diff((*got)[0], ref[0]), 3e-2);
    for (int64_t i = 0; i < x.dim(0); ++i) EXPECT_EQ(argmax_row((*got)[0], i), argmax_row(ref[0], i)) << "sample " << i;
}

// The same quantized models on every compiled-in backend (oneDNN first when built): the engine
// must agree with the engine on the reference backend. Both run the same fused graph, and the
// fast kernels may differ from the reference kernels by one int8 step per fused op (their
// contract, ir/fused_ops.h), so the end-to-end bound is the one above: logits within 3% of
// their largest magnitude and the same top-1.
TEST_P(QdqZooModels, EveryBackendMatchesTheReferenceEngine) {
    if (backends::available_backends().size() < 2)
        GTEST_SKIP() << "only the reference backend is compiled in (build with oneDNN to run this)";
    const ZooCase& c = GetParam();
    auto g = zoo(c.model);
    ASSERT_TRUE(g);
    quant::QuantizeOptions qo;
    qo.preset = c.preset;
    qo.activation_ranges = test::ranges_from(random_tensor({4, 1, 28, 28}, 11, 0.0f, 1.0f));
    ASSERT_TRUE(quant::quantize_graph(*g, qo).ok());
    engine::Engine ref = build_ref(*g);
    engine::EngineOptions fast;
    fast.threads = 2;
    auto e = engine::build_engine(*g, fast);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    Tensor x = random_tensor({3, 1, 28, 28}, 12, 0.0f, 1.0f);
    auto a = ref.run(std::vector<Tensor>{x});
    auto b = e->run(std::vector<Tensor>{x});
    ASSERT_TRUE(a.ok() && b.ok()) << (a.ok() ? b.status().to_string() : a.status().to_string());
    EXPECT_LE(test::rel_diff((*b)[0], (*a)[0]), 3e-2);
    for (int64_t i = 0; i < x.dim(0); ++i) EXPECT_EQ(argmax_row((*b)[0], i), argmax_row((*a)[0], i)) << "sample " << i;
}

INSTANTIATE_TEST_SUITE_P(Zoo, QdqZooModels,
                         ::testing::Values(ZooCase{"resnet_v1", "resnet_v1"}, ZooCase{"resnet_v2", "resnet_v2"},
                                           ZooCase{"mobilenet_v2", "mobilenet"},
                                           ZooCase{"efficientnet_b0", "efficientnet"},
                                           ZooCase{"inception", "inception"}),
                         [](const auto& info) { return info.param.model; });

class Fp32ZooModels : public ::testing::TestWithParam<std::string> {};

TEST_P(Fp32ZooModels, EnginePassesKeepFloatModelsWithin1e4) {
    auto g = zoo(GetParam());
    ASSERT_TRUE(g);
    engine::Engine e = build_ref(*g);
    // BN folded into every Conv it alone reads (ResNet v2's pre-activation BNs read Adds, or a
    // stem Conv that also feeds the shortcut, and stay), nothing quantized.
    for (const ir::Node* n : e.graph().nodes()) {
        if (n->op_type() == "BatchNormalization") {
            const ir::Node* p = n->input(0)->producer();
            EXPECT_TRUE(!p || p->op_type() != "Conv" || p->output(0)->uses().size() > 1)
                << n->desc() << " is the only reader of a Conv but was not folded";
        }
        EXPECT_FALSE(ir::fused::is_fused_op(*n));
    }
    Tensor x = random_tensor({2, 1, 28, 28}, 13, 0.0f, 1.0f);
    auto ref = test::run_ref(*g, {x});
    auto got = e.run(std::vector<Tensor>{x});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_LE(test::rel_diff((*got)[0], ref[0]), 1e-4);
}

// The same float models on the fast backends (oneDNN: fused FP32 convolutions, EfficientNet's
// squeeze-and-excitation gates folded into the projection weights at batch 1 and applied to the
// input at batch 3) against the reference run of the original graph, within 1e-4 as above; in
// both FP32 convolution layouts (engine/layout_choice.h: oneDNN's own, and nChw16c asked for).
TEST_P(Fp32ZooModels, EveryBackendKeepsFloatModelsWithin1e4) {
    if (backends::available_backends().size() < 2)
        GTEST_SKIP() << "only the reference backend is compiled in (build with oneDNN to run this)";
    auto g = zoo(GetParam());
    ASSERT_TRUE(g);
    for (engine::Fp32Layout layout : {engine::Fp32Layout::kBackend, engine::Fp32Layout::kBlocked}) {
        SCOPED_TRACE(std::string("layout ") + engine::fp32_layout_name(layout));
        engine::EngineOptions fast;
        fast.threads = 2;
        fast.fp32_layout = layout;
        auto e = engine::build_engine(*g, fast);
        ASSERT_TRUE(e.ok()) << e.status().to_string();
        EXPECT_EQ(e->options().fp32_layout, layout);
        e->plan().set_profiling(true);
        for (int64_t n : {1, 3}) {
            SCOPED_TRACE("batch " + std::to_string(n));
            Tensor x = random_tensor({n, 1, 28, 28}, 14 + static_cast<uint64_t>(n), 0.0f, 1.0f);
            auto ref = test::run_ref(*g, {x});
            auto got = e->run(std::vector<Tensor>{x});
            ASSERT_TRUE(got.ok()) << got.status().to_string();
            EXPECT_LE(test::rel_diff((*got)[0], ref[0]), 1e-4);
        }
        // The hint reached the convolutions: nChw16c outputs when asked for.
        int blocked = 0;
        for (const auto& p : e->plan().profile()) blocked += p.out_layout.find("aBcd16b") != std::string::npos;
        if (layout == engine::Fp32Layout::kBlocked) {
            EXPECT_GT(blocked, 0);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Zoo, Fp32ZooModels,
                         ::testing::Values("resnet_v1", "resnet_v2", "mobilenet_v2", "efficientnet_b0", "inception"));

}  // namespace
}  // namespace qat
