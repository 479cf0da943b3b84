// oneDNN backend conformance, FP32 ops: each case runs on oneDNN and on the reference backend
// and the outputs must agree (max-abs error relative to the output range).
#include <cstdio>

#include "onednn_test_util.h"

namespace qat::onednn_test {
namespace {

struct ConvCase {
    std::string name;
    std::vector<int64_t> x;  // N, C, spatial...
    int64_t m = 8;
    std::vector<int64_t> k{3, 3};
    std::vector<int64_t> strides, pads, dilations;
    int64_t group = 1;
    bool bias = true;
    std::string auto_pad;
};

void run_conv(const ConvCase& c, bool transpose) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(c.x));
    std::vector<int64_t> wd =
        transpose ? std::vector<int64_t>{c.x[1], c.m / c.group} : std::vector<int64_t>{c.m, c.x[1] / c.group};
    wd.insert(wd.end(), c.k.begin(), c.k.end());
    ir::Value* w = constant(g, "w", rand_f32(wd, 11, -0.5f, 0.5f));
    std::vector<ir::Value*> ins{x, w};
    if (c.bias) ins.push_back(constant(g, "b", rand_f32({c.m}, 12)));
    ir::Node* n = g.add_node(transpose ? "ConvTranspose" : "Conv", ins, {"y"}, "conv");
    if (!c.strides.empty()) n->set_attr("strides", ints(c.strides));
    if (!c.pads.empty()) n->set_attr("pads", ints(c.pads));
    if (!c.dilations.empty()) n->set_attr("dilations", ints(c.dilations));
    if (c.group != 1) n->set_attr("group", i64(c.group));
    if (!c.auto_pad.empty()) n->set_attr("auto_pad", str(c.auto_pad));
    g.add_output(n->output(0));
    SCOPED_TRACE(c.name);
    check_against_ref(g, {rand_f32(c.x, 13)}, {.tol = 1e-4f});
}

TEST(OnednnFp32, Conv) {
    QAT_REQUIRE_ONEDNN();
    const ConvCase cases[] = {
        {"3x3 pad 1", {1, 4, 9, 9}, 8, {3, 3}, {}, {1, 1, 1, 1}},
        {"stride 2, asymmetric pads", {2, 3, 10, 11}, 16, {3, 3}, {2, 2}, {0, 1, 2, 0}},
        {"dilation 2", {1, 8, 12, 12}, 8, {3, 3}, {}, {2, 2, 2, 2}, {2, 2}},
        {"grouped", {1, 8, 7, 7}, 12, {3, 3}, {}, {1, 1, 1, 1}, {}, 4},
        {"depthwise stride 2", {1, 16, 9, 9}, 16, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 16},
        {"1x1 no bias", {3, 32, 5, 5}, 64, {1, 1}, {}, {}, {}, 1, false},
        {"7x7 stem", {1, 3, 32, 32}, 16, {7, 7}, {2, 2}, {3, 3, 3, 3}},
        {"SAME_UPPER stride 2", {1, 4, 10, 10}, 8, {3, 3}, {2, 2}, {}, {}, 1, true, "SAME_UPPER"},
        {"1-D", {2, 4, 20}, 6, {5}, {2}, {2, 1}},
        {"3-D", {1, 2, 5, 6, 7}, 4, {3, 3, 3}, {}, {1, 1, 1, 1, 1, 1}},
    };
    for (const auto& c : cases) run_conv(c, false);
}

// FP32 3x3 stride-1 convolutions ask oneDNN for its Winograd kernels: the profile names the
// implementation, and the result still agrees with the direct reference loops to 1e-4 of the
// output range (Winograd's transforms re-associate the sums; measured ~1e-6 relative).
TEST(OnednnFp32, ConvWinograd) {
    QAT_REQUIRE_ONEDNN();
    const ConvCase cases[] = {
        {"64 channels, pad 1", {1, 64, 14, 14}, 64, {3, 3}, {}, {1, 1, 1, 1}},
        {"batch 2, 32 -> 48 channels, no pad, odd size", {2, 32, 11, 13}, 48, {3, 3}, {}, {0, 0, 0, 0}},
    };
    const auto& reg = backends::default_registry();
    for (const auto& c : cases) {
        run_conv(c, false);
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(c.x));
        ir::Node* n = g.add_node("Conv",
                                 {x, constant(g, "w", rand_f32({c.m, c.x[1], 3, 3}, 11, -0.5f, 0.5f)),
                                  constant(g, "b", rand_f32({c.m}, 12))},
                                 {"y"}, "conv");
        n->set_attr("pads", ints(c.pads));
        g.add_output(n->output(0));
        auto plan = runtime::Plan::compile(g, {.registry = &reg, .backends = {"onednn"}});
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        (*plan)->set_profiling(true);
        ASSERT_TRUE((*plan)->run({rand_f32(c.x, 13)}).ok());
        std::string impl;
        for (const auto& p : (*plan)->profile())
            if (p.node->name() == n->name()) impl = p.implementation;
        if (!__builtin_cpu_supports("avx512f")) {
            std::printf("[ note ] %s: no AVX-512 on this CPU, oneDNN 2.6 has no Winograd kernel for it (ran '%s')\n",
                        c.name.c_str(), impl.c_str());
            continue;
        }
        EXPECT_NE(impl.find("wino"), std::string::npos) << c.name << ": oneDNN ran '" << impl << "'";
    }
    // Not a Winograd shape (stride 2): the direct kernel, named too.
    ConvCase s2{"stride 2", {1, 64, 14, 14}, 64, {3, 3}, {2, 2}, {1, 1, 1, 1}};
    run_conv(s2, false);
}

// FP32 1x1 convolutions of a 1x1 input (Conv, and FusedConv with its activations) run on
// pointwise_gemv.h's loop: float sums in another order than the reference, bound 1e-5 of the
// output range; > 256 outputs stay on oneDNN.
TEST(OnednnFp32, PointwiseGemv) {
    QAT_REQUIRE_ONEDNN();
    struct Case {
        std::string name;
        std::vector<int64_t> x;
        int64_t m;
        std::vector<std::string> post_ops;  // empty: a plain Conv
        const char* impl;
    };
    const Case cases[] = {
        {"Conv 40 -> 24", {1, 40, 1, 1}, 24, {}, "qat:gemv"},
        {"Conv batch 3", {3, 40, 1, 1}, 24, {}, "qat:gemv"},
        {"FusedConv swish (reduce)", {1, 96, 1, 1}, 4, {"swish"}, "qat:gemv"},
        {"FusedConv sigmoid (expand)", {1, 4, 1, 1}, 96, {"sigmoid"}, "qat:gemv"},
        {"FusedConv relu, clip", {2, 16, 1, 1}, 32, {"relu", "clip"}, "qat:gemv"},
        {"1152 outputs: oneDNN", {1, 48, 1, 1}, 1152, {"sigmoid"}, "brgconv"},
    };
    uint32_t seed = 300;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(c.x));
        std::vector<ir::Value*> ins{x, constant(g, "w", rand_f32({c.m, c.x[1], 1, 1}, seed++, -0.3f, 0.3f)),
                                    constant(g, "b", rand_f32({c.m}, seed++))};
        const bool fused = !c.post_ops.empty();
        ir::Node* n = fused ? g.add_node(ir::fused::kFusedConv, ins, {"y"}, "conv", ir::fused::kDomain)
                            : g.add_node("Conv", ins, {"y"}, "conv");
        if (fused) {
            n->set_attr("post_ops", strs(c.post_ops));
            n->set_attr("clip_min", f32(-0.5f));
            n->set_attr("clip_max", f32(0.75f));
            n->output(0)->set_dtype(DataType::kFloat32);
        }
        g.add_output(n->output(0));
        check_against_ref(g, {rand_f32(c.x, seed++, -2, 2)}, {.tol = 1e-5f, .impls = {{"conv", c.impl}}});
    }
}

// com.qat::FusedConv: the FP32 conv with post-ops in oneDNN's epilogue (eltwise chain, residual
// as a sum post-op) against the reference kernel (float conv, then the post-ops one by one).
TEST(OnednnFp32, FusedConvPostOps) {
    QAT_REQUIRE_ONEDNN();
    struct Case {
        std::string name;
        std::vector<int64_t> x;
        int64_t m, k, stride, group;
        std::vector<std::string> post_ops;
    };
    const Case cases[] = {
        {"1x1 relu", {2, 16, 7, 7}, 32, 1, 1, 1, {"relu"}},
        {"3x3 (Winograd) relu, residual, relu", {1, 64, 14, 14}, 64, 3, 1, 1, {"relu", "add", "relu"}},
        {"3x3 stride 2 clip", {1, 8, 9, 9}, 16, 3, 2, 1, {"clip"}},
        {"depthwise swish", {1, 16, 8, 8}, 16, 3, 1, 16, {"swish"}},
        {"residual then leaky relu", {1, 8, 6, 6}, 8, 3, 1, 1, {"add", "leaky_relu"}},
        {"hard swish, sigmoid", {1, 8, 6, 6}, 24, 1, 1, 1, {"hard_swish", "sigmoid"}},
        // swish last runs on swish.h's loop after the primitive: split between the threads, with a
        // tail off the 16-float vector (2 x 37 x 30 x 30 floats), after a residual and a sigmoid.
        {"1x1 residual then swish", {2, 24, 30, 30}, 37, 1, 1, 1, {"add", "swish"}},
        {"3x3 sigmoid then swish", {1, 8, 6, 6}, 8, 3, 1, 1, {"sigmoid", "swish"}},
    };
    uint32_t seed = 100;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(c.x));
        const int64_t pad = c.k / 2, oh = (c.x[2] + 2 * pad - c.k) / c.stride + 1;
        const std::vector<int64_t> out{c.x[0], c.m, oh, oh};
        std::vector<ir::Value*> ins{x,
                                    constant(g, "w", rand_f32({c.m, c.x[1] / c.group, c.k, c.k}, seed++, -0.3f, 0.3f)),
                                    constant(g, "b", rand_f32({c.m}, seed++))};
        const bool residual = std::find(c.post_ops.begin(), c.post_ops.end(), "add") != c.post_ops.end();
        if (residual) ins.push_back(g.add_input("r", DataType::kFloat32, Shape::from_dims(out)));
        ir::Node* n = g.add_node(ir::fused::kFusedConv, ins, {"y"}, "fconv", ir::fused::kDomain);
        n->set_attr("kernel_shape", ints({c.k, c.k}));
        n->set_attr("strides", ints({c.stride, c.stride}));
        n->set_attr("pads", ints({pad, pad, pad, pad}));
        if (c.group != 1) n->set_attr("group", i64(c.group));
        n->set_attr("post_ops", strs(c.post_ops));
        n->set_attr("clip_min", f32(-0.5f));
        n->set_attr("clip_max", f32(0.75f));
        n->set_attr("alpha", f32(0.25f));
        n->output(0)->set_dtype(DataType::kFloat32);
        g.add_output(n->output(0));
        std::vector<Tensor> inputs{rand_f32(c.x, seed++)};
        if (residual) inputs.push_back(rand_f32(out, seed++, -2.0f, 2.0f));
        Expect e{.onednn_nodes = {"fconv"}, .tol = 1e-4f, .threads = 2};
        if (c.post_ops.back() == "swish") e.impls = {{"fconv", "qat:swish"}};
        check_against_ref(g, inputs, e);
    }
}

// A depthwise 3x3 FusedConv (node "dw", padding 1, one post-op) on x of dims `dims`: on oneDNN its
// output is channels-last, the layout the gate and pool loops read (the tests assert it).
ir::Value* depthwise_3x3(ir::Graph& g, ir::Value* x, const std::vector<int64_t>& dims, const char* post_op,
                         uint32_t seed) {
    const int64_t c = dims[1];
    ir::Node* d = g.add_node(ir::fused::kFusedConv, {x, constant(g, "wd", rand_f32({c, 1, 3, 3}, seed, -0.5f, 0.5f))},
                             {"xd"}, "dw", ir::fused::kDomain);
    d->set_attr("kernel_shape", ints({3, 3}));
    d->set_attr("pads", ints({1, 1, 1, 1}));
    d->set_attr("group", i64(c));
    d->set_attr("post_ops", strs({post_op}));
    d->output(0)->set_dtype(DataType::kFloat32);
    d->output(0)->set_shape(Shape::from_dims(dims));
    return d->output(0);
}

// FusedConv with a gate (input 4, the squeeze-and-excitation Mul taken in by fuse-fp32-gate):
// with one gate for the whole batch and an activation >= 4 x M x k the kernel scales a copy of
// the weights (conv(x, w * g): one more float rounding per weight than the reference's
// conv(x * g, w)), else it scales the input (the same float products as the reference, in place
// when it may). Bound 1e-4 of the output range, as FusedConvPostOps. The "dw" cases feed the
// gated conv from a depthwise conv, whose channels-last output (checked) the gate reads as NHWC.
TEST(OnednnFp32, FusedConvGate) {
    QAT_REQUIRE_ONEDNN();
    struct Case {
        std::string name;
        std::vector<int64_t> x;
        int64_t m, k;
        std::vector<std::string> post_ops;
        bool shared_gate = false;  // [1, C, 1, 1] for the whole batch
        bool dw = false;           // a depthwise FusedConv (swish) produces the gated input
    };
    const Case cases[] = {
        {"batch 1, 1x1, weights scaled", {1, 16, 28, 28}, 24, 1, {}},
        {"batch 1, residual and relu, weights scaled", {1, 32, 16, 16}, 16, 1, {"add", "relu"}},
        {"batch 1, 3x3, weights scaled", {1, 8, 20, 20}, 8, 3, {"relu"}},
        {"batch 1, small plane, input scaled", {1, 64, 4, 4}, 32, 1, {}},
        {"batch 3, a gate per image: input scaled", {3, 16, 10, 10}, 8, 1, {"relu"}},
        {"batch 2, NCHW, 3x3, input scaled", {2, 8, 20, 20}, 8, 3, {}},
        {"batch 3, one gate for the batch, weights scaled once", {3, 16, 10, 10}, 8, 1, {}, true},
        {"batch 3, small plane, input scaled", {3, 64, 4, 4}, 32, 1, {"relu"}},
        {"batch 2, one gate, small plane, input scaled", {2, 64, 2, 2}, 32, 1, {}, true},
        {"after a depthwise conv, batch 1", {1, 32, 24, 24}, 16, 1, {}, false, true},
        {"after a depthwise conv, batch 2, residual", {2, 32, 12, 12}, 16, 1, {"add"}, false, true},
        {"after a depthwise conv, batch 1, small plane", {1, 64, 4, 4}, 32, 1, {"add"}, false, true},
    };
    uint32_t seed = 700;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        ir::Graph g;
        const int64_t n = c.x[0], ch = c.x[1], h = c.x[2];
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(c.x));
        ir::Value* gate = g.add_input("g", DataType::kFloat32, Shape::from_dims({c.shared_gate ? 1 : n, ch, 1, 1}));
        const std::vector<int64_t> out{n, c.m, h, h};
        if (c.dw) x = depthwise_3x3(g, x, c.x, "swish", seed++);
        std::vector<ir::Value*> ins{x, constant(g, "w", rand_f32({c.m, ch, c.k, c.k}, seed++, -0.3f, 0.3f)),
                                    constant(g, "b", rand_f32({c.m}, seed++))};
        const bool residual = std::find(c.post_ops.begin(), c.post_ops.end(), "add") != c.post_ops.end();
        ins.push_back(residual ? g.add_input("r", DataType::kFloat32, Shape::from_dims(out)) : nullptr);
        ins.push_back(gate);
        ir::Node* f = g.add_node(ir::fused::kFusedConv, ins, {"y"}, "gated", ir::fused::kDomain);
        f->set_attr("kernel_shape", ints({c.k, c.k}));
        f->set_attr("pads", ints({c.k / 2, c.k / 2, c.k / 2, c.k / 2}));
        if (!c.post_ops.empty()) f->set_attr("post_ops", strs(c.post_ops));
        f->output(0)->set_dtype(DataType::kFloat32);
        g.add_output(f->output(0));
        std::vector<Tensor> inputs{rand_f32(c.x, seed++, -2.0f, 2.0f),
                                   rand_f32({c.shared_gate ? 1 : n, ch, 1, 1}, seed++, 0.0f, 1.0f)};
        if (residual) inputs.push_back(rand_f32(out, seed++, -2.0f, 2.0f));
        Expect e{.onednn_nodes = {"gated"}, .tol = 1e-4f};
        if (c.dw) e.layouts = {{"dw", "acdb"}};
        check_against_ref(g, inputs, e);
    }
}

// A gate of the wrong shape at run time (the graph leaves its shape open) is an error naming the
// gate, on oneDNN as on the reference, not a wrong result or a crash.
TEST(OnednnFp32, FusedConvGateOfTheWrongShape) {
    QAT_REQUIRE_ONEDNN();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims({1, 8, 6, 6}));
    ir::Value* gate = g.add_input("g", DataType::kFloat32, Shape::unknown_rank());
    ir::Node* f =
        g.add_node(ir::fused::kFusedConv, {x, constant(g, "w", rand_f32({4, 8, 1, 1}, 801)), nullptr, nullptr, gate},
                   {"y"}, "gated", ir::fused::kDomain);
    f->set_attr("kernel_shape", ints({1, 1}));
    f->output(0)->set_dtype(DataType::kFloat32);
    g.add_output(f->output(0));
    for (const char* backend : {"onednn", "ref"}) {
        SCOPED_TRACE(backend);
        auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry(), .backends = {backend}});
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        for (const auto& dims : std::vector<std::vector<int64_t>>{{1, 8, 2, 2}, {1, 4, 1, 1}, {2, 8, 1, 1}}) {
            auto r = (*plan)->run(std::vector<Tensor>{rand_f32({1, 8, 6, 6}, 802), rand_f32(dims, 803)});
            ASSERT_FALSE(r.ok()) << dims_to_string(dims);
            EXPECT_NE(r.status().message().find("gate"), std::string::npos) << r.status().to_string();
        }
    }
}

// Float GlobalAveragePool of a channels-last input (here the output of a depthwise conv, layout
// checked) runs on global_pool.h's loop: float sums in another order than the reference's double
// ones, bound 1e-5 of the output range. Two threads: images split between them (batch >= 2), the
// pixels of one image split (batch 1, >= 32k floats), or one thread (small images); channel
// counts off the vector width and pixel counts off the 4-pixel step.
TEST(OnednnFp32, GlobalAveragePoolChannelsLast) {
    QAT_REQUIRE_ONEDNN();
    const std::vector<std::vector<int64_t>> shapes = {{1, 64, 32, 32}, {1, 24, 7, 7},   {3, 16, 9, 9},
                                                      {1, 40, 30, 31}, {2, 1152, 7, 7}, {1, 5, 3, 3}};
    uint32_t seed = 900;
    for (const auto& x_dims : shapes) {
        SCOPED_TRACE(dims_to_string(x_dims));
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(x_dims));
        ir::Node* p = g.add_node("GlobalAveragePool", {depthwise_3x3(g, x, x_dims, "relu", seed++)}, {"y"}, "gap");
        g.add_output(p->output(0));
        check_against_ref(
            g, {rand_f32(x_dims, seed++, -2.0f, 2.0f)},
            {.tol = 1e-5f, .threads = 2, .impls = {{"gap", "qat:gap_nhwc"}}, .layouts = {{"dw", "acdb"}}});
    }
}

// With the blocked FP32 layout (the engine's --fp32-layout blocked), a global pool's nChw16c
// output of whole 16-channel blocks has the row-major bytes: the Flatten after it reads them as
// they are (no reorder), while 24 channels (a padded last block) are reordered. Both equal the
// reference (bound 1e-5 of the output range), batch 1 and 3.
TEST(OnednnFp32, BlockedPoolOutputReadAsPlain) {
    QAT_REQUIRE_ONEDNN();
    for (int64_t c : {32, 24})
        for (int64_t n : {1, 3}) {
            SCOPED_TRACE(std::to_string(c) + " channels, batch " + std::to_string(n));
            const std::vector<int64_t> dims{n, 8, 6, 5};
            ir::Graph g;
            ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(dims));
            ir::Node* conv =
                g.add_node(ir::fused::kFusedConv, {x, constant(g, "w", rand_f32({c, 8, 3, 3}, 41, -0.5f, 0.5f))},
                           {"xc"}, "conv", ir::fused::kDomain);
            conv->set_attr("kernel_shape", ints({3, 3}));
            conv->set_attr("pads", ints({1, 1, 1, 1}));
            conv->set_attr("post_ops", strs({"relu"}));
            conv->output(0)->set_dtype(DataType::kFloat32);
            conv->output(0)->set_shape(Shape::from_dims({n, c, 6, 5}));
            ir::Node* gap = g.add_node("GlobalAveragePool", {conv->output(0)}, {"p"}, "gap");
            ir::Node* flat = g.add_node("Flatten", {gap->output(0)}, {"y"}, "flatten");
            g.add_output(flat->output(0));
            const auto& reg = backends::default_registry();
            runtime::PlanOptions o{.registry = &reg, .backends = {"onednn", "ref"}, .num_threads = 2};
            o.hints.fp32_conv_blocked = true;
            auto fast = runtime::Plan::compile(g, o);
            auto ref = runtime::Plan::compile(g, {.registry = &reg, .backends = {"ref"}});
            ASSERT_TRUE(fast.ok() && ref.ok());
            const std::vector<Tensor> in{rand_f32(dims, 43, -1.0f, 1.0f)};
            (*fast)->set_profiling(true);
            auto got = (*fast)->run(in);
            auto want = (*ref)->run(in);
            ASSERT_TRUE(got.ok() && want.ok()) << got.status().to_string();
            compare((*got)[0], (*want)[0], "y", Expect{.tol = 1e-5f});
            bool saw_blocked = false;
            for (const auto& st : (*fast)->profile())
                if (st.node && st.node->name() == "gap") saw_blocked = st.out_layout.find("16b") != std::string::npos;
            EXPECT_TRUE(saw_blocked) << "the pool's output was not blocked: the case tests nothing";
        }
}

TEST(OnednnFp32, ConvTranspose) {
    QAT_REQUIRE_ONEDNN();
    const ConvCase cases[] = {
        {"stride 2", {1, 8, 5, 5}, 4, {3, 3}, {2, 2}, {1, 1, 1, 1}},
        {"grouped", {2, 8, 4, 4}, 6, {2, 2}, {2, 2}, {}, {}, 2},
        {"no pads", {1, 3, 6, 6}, 5, {3, 3}},
    };
    for (const auto& c : cases) run_conv(c, true);
}

TEST(OnednnFp32, ConvTransposeOutputPadding) {
    QAT_REQUIRE_ONEDNN();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{1, 4, 5, 5});
    ir::Node* n = g.add_node("ConvTranspose", {x, constant(g, "w", rand_f32({4, 3, 3, 3}, 2))}, {"y"}, "deconv");
    n->set_attr("strides", ints({2, 2}));
    n->set_attr("pads", ints({1, 1, 1, 1}));
    n->set_attr("output_padding", ints({1, 1}));
    g.add_output(n->output(0));
    check_against_ref(g, {rand_f32({1, 4, 5, 5}, 3)}, {.tol = 1e-4f});
}

// An FP32 Gemm of 1 to 4 rows against constant weights of 64k+ multiply-adds per row (a
// classifier at small batch) runs on gemv_f32.h's loop: both weight orientations, alpha / beta,
// C per output, as one value, or none, K off the 16-float step; float sums re-associated, bound
// 1e-5 of the output range. Five rows, a runtime C, a transposed A, or too few multiply-adds stay
// on oneDNN's matmul.
TEST(OnednnFp32, GemmSmallBatchLoop) {
    QAT_REQUIRE_ONEDNN();
    struct G {
        int64_t m;
        bool tb;
        float alpha, beta;
        std::vector<int64_t> c;
        bool loop;  // expected on the loop
        bool ta = false;
        int64_t k = 301, n = 250;
    };
    for (const G& t : {G{1, true, 1, 1, {250}, true}, G{3, false, 0.5f, 2, {1, 250}, true}, G{4, true, 2, 1, {}, true},
                       G{2, true, 1, 0.5f, {1}, true}, G{5, true, 1, 1, {250}, false},
                       G{1, true, 1, 1, {250}, false, true}, G{1, true, 1, 1, {250}, false, false, 30, 20}}) {
        SCOPED_TRACE("m " + std::to_string(t.m) + ", transB " + std::to_string(t.tb) + ", k " + std::to_string(t.k));
        ir::Graph g;
        const std::vector<int64_t> ad = t.ta ? std::vector<int64_t>{t.k, t.m} : std::vector<int64_t>{t.m, t.k};
        const std::vector<int64_t> bd = t.tb ? std::vector<int64_t>{t.n, t.k} : std::vector<int64_t>{t.k, t.n};
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape::from_dims(ad));
        std::vector<ir::Value*> ins{a, constant(g, "b", rand_f32(bd, 51))};
        if (!t.c.empty()) {
            std::vector<int64_t> cd = t.c;
            if (cd.back() == 250) cd.back() = t.n;
            ins.push_back(constant(g, "c", rand_f32(cd, 52)));
        }
        ir::Node* node = g.add_node("Gemm", ins, {"y"}, "gemm");
        node->set_attr("transA", i64(t.ta));
        node->set_attr("transB", i64(t.tb));
        node->set_attr("alpha", f32(t.alpha));
        node->set_attr("beta", f32(t.beta));
        g.add_output(node->output(0));
        Expect e{.tol = 1e-5f, .threads = 2};
        if (t.loop)
            e.impls = {{"gemm", "qat:gemv_f32"}};
        else
            e.not_impls = {{"gemm", "qat:gemv_f32"}};
        check_against_ref(g, {rand_f32(ad, 53)}, e);
    }
}

TEST(OnednnFp32, GemmAndMatMul) {
    QAT_REQUIRE_ONEDNN();
    struct G {
        bool ta, tb;
        float alpha, beta;
        std::vector<int64_t> c;
    };
    for (const G& k : {G{false, false, 1, 1, {16}}, G{true, false, 0.5f, 2, {5, 16}}, G{false, true, 1, 0.5f, {1, 16}},
                       G{true, true, 2, 1, {}}, G{false, true, 1, 1, {5, 1}}}) {
        ir::Graph g;
        std::vector<int64_t> ad = k.ta ? std::vector<int64_t>{12, 5} : std::vector<int64_t>{5, 12};
        std::vector<int64_t> bd = k.tb ? std::vector<int64_t>{16, 12} : std::vector<int64_t>{12, 16};
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape::from_dims(ad));
        std::vector<ir::Value*> ins{a, constant(g, "b", rand_f32(bd, 5))};
        if (!k.c.empty()) ins.push_back(constant(g, "c", rand_f32(k.c, 6)));
        ir::Node* n = g.add_node("Gemm", ins, {"y"}, "gemm");
        n->set_attr("transA", i64(k.ta));
        n->set_attr("transB", i64(k.tb));
        n->set_attr("alpha", f32(k.alpha));
        n->set_attr("beta", f32(k.beta));
        g.add_output(n->output(0));
        SCOPED_TRACE(std::to_string(k.ta) + std::to_string(k.tb));
        check_against_ref(g, {rand_f32(ad, 7)}, {.tol = 1e-5f});
    }
    {
        // C as a runtime input (beta 1): added by a binary post-op.
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{4, 8});
        ir::Value* c = g.add_input("c", DataType::kFloat32, Shape{4, 6});
        ir::Node* n = g.add_node("Gemm", {a, constant(g, "b", rand_f32({8, 6}, 1)), c}, {"y"}, "gemm");
        g.add_output(n->output(0));
        check_against_ref(g, {rand_f32({4, 8}, 2), rand_f32({4, 6}, 3)});
    }
    {
        // MatMul: constant 2-D weights with 3-D activations (folded into one GEMM).
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{Dim::symbolic("N"), 7, 10});
        ir::Node* n = g.add_node("MatMul", {a, constant(g, "b", rand_f32({10, 3}, 4))}, {"y"}, "mm");
        g.add_output(n->output(0));
        check_against_ref(g, {rand_f32({2, 7, 10}, 5)}, {.more_inputs = {{rand_f32({5, 7, 10}, 6)}}});
    }
    {
        // MatMul of two activations with a broadcast batch dim.
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{3, 4, 5});
        ir::Value* b = g.add_input("b", DataType::kFloat32, Shape{1, 5, 6});
        ir::Node* n = g.add_node("MatMul", {a, b}, {"y"}, "mm");
        g.add_output(n->output(0));
        check_against_ref(g, {rand_f32({3, 4, 5}, 7), rand_f32({1, 5, 6}, 8)});
    }
}

ir::Node* pool_node(ir::Graph& g, const std::string& op, DataType t, std::vector<int64_t> xd,
                    const std::map<std::string, ir::Attribute>& attrs) {
    ir::Value* x = g.add_input("x", t, Shape::from_dims(xd));
    ir::Node* n = g.add_node(op, {x}, {"y"}, "pool");
    for (const auto& [k, v] : attrs) n->set_attr(k, v);
    g.add_output(n->output(0));
    return n;
}

TEST(OnednnFp32, Pooling) {
    QAT_REQUIRE_ONEDNN();
    struct P {
        std::string op;
        std::map<std::string, ir::Attribute> attrs;
    };
    const std::vector<P> cases = {
        {"MaxPool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}},
        {"MaxPool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", i64(1)}}},
        {"MaxPool", {{"kernel_shape", ints({3, 3})}, {"dilations", ints({2, 2})}}},
        {"MaxPool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"auto_pad", str("SAME_UPPER")}}},
        {"AveragePool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}},
        {"AveragePool", {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 0, 1, 2})}, {"count_include_pad", i64(1)}}},
        {"AveragePool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", i64(1)}}},
        {"GlobalAveragePool", {}},
        {"GlobalMaxPool", {}},
    };
    for (const auto& c : cases) {
        ir::Graph g;
        pool_node(g, c.op, DataType::kFloat32, {2, 5, 11, 11}, c.attrs);
        SCOPED_TRACE(c.op);
        check_against_ref(g, {rand_f32({2, 5, 11, 11}, 21)});
    }
}

TEST(OnednnFp32, MaxPoolInt8) {
    QAT_REQUIRE_ONEDNN();
    for (DataType t : {DataType::kInt8, DataType::kUint8}) {
        ir::Graph g;
        pool_node(g, "MaxPool", t, {1, 6, 9, 9},
                  {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
        check_against_ref(
            g, {rand_q(t, {1, 6, 9, 9}, 3, t == DataType::kInt8 ? -128 : 0, t == DataType::kInt8 ? 127 : 255)},
            {.lsb = 0});
    }
}

TEST(OnednnFp32, Eltwise) {
    QAT_REQUIRE_ONEDNN();
    for (const char* op :
         {"Relu", "LeakyRelu", "Sigmoid", "HardSwish", "HardSigmoid", "Tanh", "Exp", "Abs", "Neg", "Elu"}) {
        ir::Graph g;
        g.info().set_opset("", 14);
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 3, 4, 5});
        ir::Node* n = g.add_node(op, {x}, {"y"}, "act");
        if (std::string(op) == "LeakyRelu") n->set_attr("alpha", f32(0.2f));
        if (std::string(op) == "HardSigmoid") {
            n->set_attr("alpha", f32(0.3f));
            n->set_attr("beta", f32(0.4f));
        }
        g.add_output(n->output(0));
        SCOPED_TRACE(op);
        check_against_ref(g, {rand_f32({2, 3, 4, 5}, 9, -4, 4)}, {.tol = 1e-5f});
    }
    for (const char* op : {"Sqrt", "Log"}) {
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{7, 9});
        g.add_output(g.add_node(op, {x}, {"y"}, "act")->output(0));
        SCOPED_TRACE(op);
        check_against_ref(g, {rand_f32({7, 9}, 9, 0.1f, 5)});
    }
    {
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4, 6});
        ir::Node* n = g.add_node(
            "Clip",
            {x, constant(g, "lo", Tensor::scalar<float>(-0.5f)), constant(g, "hi", Tensor::scalar<float>(0.75f))},
            {"y"}, "clip");
        g.add_output(n->output(0));
        check_against_ref(g, {rand_f32({4, 6}, 10, -2, 2)});
    }
}

TEST(OnednnFp32, BatchNormalization) {
    QAT_REQUIRE_ONEDNN();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 6, 5, 5});
    ir::Node* n = g.add_node("BatchNormalization",
                             {x, constant(g, "s", rand_f32({6}, 1, 0.5f, 1.5f)), constant(g, "b", rand_f32({6}, 2)),
                              constant(g, "m", rand_f32({6}, 3)), constant(g, "v", rand_f32({6}, 4, 0.5f, 2))},
                             {"y"}, "bn");
    n->set_attr("epsilon", f32(1e-3f));
    g.add_output(n->output(0));
    check_against_ref(g, {rand_f32({2, 6, 5, 5}, 5)});
}

TEST(OnednnFp32, BinaryBroadcast) {
    QAT_REQUIRE_ONEDNN();
    struct B {
        const char* op;
        std::vector<int64_t> a, b;
    };
    for (const B& c : {B{"Add", {2, 3, 4, 5}, {2, 3, 4, 5}}, B{"Mul", {2, 8, 4, 4}, {2, 8, 1, 1}},
                       B{"Sub", {2, 3, 4, 5}, {5}}, B{"Div", {3, 4}, {1, 4}}, B{"Max", {2, 3}, {}},
                       B{"Min", {1, 3, 1, 5}, {1, 3, 4, 5}},             // first input broadcasts: swapped
                       B{"Add", {8}, {2, 8}}, B{"Sub", {1, 4}, {3, 4}},  // swapped, negated
                       B{"Div", {2, 1, 5}, {2, 3, 5}}}) {                // swapped, reciprocal
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape::from_dims(c.a));
        ir::Value* b = g.add_input("b", DataType::kFloat32, Shape::from_dims(c.b));
        g.add_output(g.add_node(c.op, {a, b}, {"y"}, "bin")->output(0));
        SCOPED_TRACE(std::string(c.op) + " " + dims_to_string(c.a) + " " + dims_to_string(c.b));
        check_against_ref(g, {rand_f32(c.a, 1, 0.5f, 2), rand_f32(c.b, 2, 0.5f, 2)});
    }
}

TEST(OnednnFp32, BinaryDeclinesWhenBothInputsBroadcast) {
    QAT_REQUIRE_ONEDNN();
    ir::Graph g;
    ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{1, 4});
    ir::Value* b = g.add_input("b", DataType::kFloat32, Shape{3, 1});
    g.add_output(g.add_node("Sub", {a, b}, {"y"}, "sub")->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry()});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    auto steps = (*plan)->steps();
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].backend, "ref");
    ASSERT_FALSE(steps[0].refusals.empty());
    EXPECT_NE(steps[0].refusals[0].reason.find("both inputs broadcast"), std::string::npos)
        << steps[0].refusals[0].reason;
    check_against_ref(g, {rand_f32({1, 4}, 1), rand_f32({3, 1}, 2)}, {.onednn_nodes = {"none"}});
}

TEST(OnednnFp32, SoftmaxAndConcat) {
    QAT_REQUIRE_ONEDNN();
    for (int64_t opset : {11, 13})
        for (int64_t axis : {1, -1}) {
            for (const char* op : {"Softmax"}) {
                ir::Graph g;
                g.info().set_opset("", opset);
                ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 3, 4});
                ir::Node* n = g.add_node(op, {x}, {"y"}, "sm");
                n->set_attr("axis", i64(axis));
                g.add_output(n->output(0));
                SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + " axis " + std::to_string(axis));
                check_against_ref(g, {rand_f32({2, 3, 4}, 4, -3, 3)});
            }
        }
    for (DataType t : {DataType::kFloat32, DataType::kInt8}) {
        ir::Graph g;
        ir::Value* a = g.add_input("a", t, Shape{2, 3, 4, 4});
        ir::Value* b = g.add_input("b", t, Shape{2, 5, 4, 4});
        ir::Node* n = g.add_node("Concat", {a, b, a}, {"y"}, "cat");
        n->set_attr("axis", i64(1));
        g.add_output(n->output(0));
        auto mk = [&](std::vector<int64_t> d, uint32_t s) {
            return t == DataType::kFloat32 ? rand_f32(d, s) : rand_q(t, d, s, -128, 127);
        };
        check_against_ref(g, {mk({2, 3, 4, 4}, 1), mk({2, 5, 4, 4}, 2)}, {.lsb = 0});
    }
}

TEST(OnednnFp32, QuantizeDequantize) {
    QAT_REQUIRE_ONEDNN();
    for (DataType t : {DataType::kInt8, DataType::kUint8}) {
        for (int zp : {0, 3}) {
            ir::Graph g;
            ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 4, 5, 5});
            Tensor z = t == DataType::kInt8 ? Tensor::scalar<int8_t>(static_cast<int8_t>(zp))
                                            : Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp + 100));
            ir::Node* q =
                g.add_node("QuantizeLinear", {x, constant(g, "s", Tensor::scalar<float>(0.013f)), constant(g, "z", z)},
                           {"q"}, "q");
            ir::Node* d = g.add_node(
                "DequantizeLinear",
                {q->output(0), constant(g, "s2", Tensor::scalar<float>(0.013f)), constant(g, "z2", z)}, {"y"}, "dq");
            g.add_output(q->output(0));
            g.add_output(d->output(0));
            SCOPED_TRACE(std::string(dtype_name(t)) + " zp " + std::to_string(zp));
            // Q: x * (1/s) vs x / s may round a tie differently: 1 step; DQ of that step: one scale.
            check_against_ref(g, {rand_f32({2, 4, 5, 5}, 7, -2, 2)}, {.tol = 0.013f / 2, .lsb = 1});
        }
    }
    {
        // Per-axis dequantization of a weight-like tensor.
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kInt8, Shape{4, 3, 2, 2});
        ir::Node* d =
            g.add_node("DequantizeLinear",
                       {x, constant(g, "s", Tensor::from_vector<float>({4}, {0.1f, 0.2f, 0.3f, 0.4f}))}, {"y"}, "dq");
        d->set_attr("axis", i64(0));
        g.add_output(d->output(0));
        check_against_ref(g, {rand_q(DataType::kInt8, {4, 3, 2, 2}, 3, -127, 127)});
    }
}

TEST(OnednnFp32, ChainKeepsBlockedLayoutsAndHandsOff) {
    QAT_REQUIRE_ONEDNN();
    // Conv -> Relu -> MaxPool -> Conv -> Add(residual) -> Relu -> GAP -> Flatten (ref) -> Gemm ->
    // Softmax, plus the blocked Add output as a second graph output.
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 16, 16});
    auto conv = [&](ir::Value* in, int64_t cin, int64_t cout, const std::string& name) {
        ir::Node* n = g.add_node("Conv",
                                 {in, constant(g, name + ".w", rand_f32({cout, cin, 3, 3}, cout + cin, -0.3f, 0.3f)),
                                  constant(g, name + ".b", rand_f32({cout}, cout))},
                                 {name}, name);
        n->set_attr("pads", ints({1, 1, 1, 1}));
        return n->output(0);
    };
    ir::Value* c1 = conv(x, 3, 16, "c1");
    ir::Value* r1 = g.add_node("Relu", {c1}, {"r1"}, "r1")->output(0);
    ir::Node* mp = g.add_node("MaxPool", {r1}, {"mp"}, "mp");
    mp->set_attr("kernel_shape", ints({2, 2}));
    mp->set_attr("strides", ints({2, 2}));
    ir::Value* c2 = conv(mp->output(0), 16, 16, "c2");
    // Hand-built graphs carry no shape inference: declare what Add's broadcast check reads.
    for (ir::Value* v : {c2, mp->output(0)}) {
        v->set_dtype(DataType::kFloat32);
        v->set_shape(Shape{Dim::symbolic("N"), 16, 8, 8});
    }
    ir::Value* add = g.add_node("Add", {c2, mp->output(0)}, {"add"}, "add")->output(0);
    ir::Value* r2 = g.add_node("Relu", {add}, {"r2"}, "r2")->output(0);
    ir::Value* gap = g.add_node("GlobalAveragePool", {r2}, {"gap"}, "gap")->output(0);
    ir::Node* fl = g.add_node("Flatten", {gap}, {"flat"}, "flat");
    fl->set_attr("axis", i64(1));
    ir::Node* fc = g.add_node(
        "Gemm", {fl->output(0), constant(g, "fc.w", rand_f32({10, 16}, 3)), constant(g, "fc.b", rand_f32({10}, 4))},
        {"logits"}, "fc");
    fc->set_attr("transB", i64(1));
    ir::Node* sm = g.add_node("Softmax", {fc->output(0)}, {"prob"}, "sm");
    g.add_output(sm->output(0));
    g.add_output(add);
    Expect e;
    e.onednn_nodes = {"c1", "r1", "mp", "c2", "add", "r2", "gap", "fc", "sm"};
    e.tol = 1e-4f;
    e.expect_blocked = true;
    e.threads = 2;
    e.more_inputs = {{rand_f32({3, 3, 16, 16}, 2)}, {rand_f32({1, 3, 16, 16}, 3)}};  // dynamic batch: re-prepare
    check_against_ref(g, {rand_f32({1, 3, 16, 16}, 1)}, e);
}

}  // namespace
}  // namespace qat::onednn_test
