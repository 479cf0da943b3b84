// oneDNN backend conformance, the com.qat INT8 ops (ir/fused_ops.h): each case runs on oneDNN and
// on the reference backend. Bound: quantized outputs within 1 int8 step (oneDNN rounds
// acc * (xs*ws/ys) in float where ref rounds the double-precision real value; a value within
// float rounding of a .5 boundary may land one step apart), float outputs within 1e-5 of the
// output range (float re-association of scale and bias).
#include "onednn_test_util.h"

namespace qat::onednn_test {
namespace {

namespace fused = ir::fused;

struct QCase {
    std::string name;
    std::vector<int64_t> x{1, 8, 9, 9};
    int64_t m = 16;
    std::vector<int64_t> k{3, 3};
    std::vector<int64_t> strides, pads, dilations, output_padding;
    int64_t group = 1;
    DataType xt = DataType::kInt8;
    int xzp = 0;
    int out = fused::kOnnxInt8;
    int yzp = 0;
    std::vector<std::string> post_ops;
    DataType residual = DataType::kUndefined;
    int rzp = 0;
    bool bias = true;
    bool per_channel = true;
    bool transpose = false;
};

int64_t prod(const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (auto e : v) p *= e;
    return p;
}

std::vector<int64_t> conv_out_dims(const QCase& c) {
    size_t sp = c.k.size();
    std::vector<int64_t> o{c.x[0], c.m};
    for (size_t i = 0; i < sp; ++i) {
        int64_t s = c.strides.empty() ? 1 : c.strides[i];
        int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
        int64_t pb = c.pads.empty() ? 0 : c.pads[i], pe = c.pads.empty() ? 0 : c.pads[sp + i];
        int64_t op = c.output_padding.empty() ? 0 : c.output_padding[i];
        int64_t in = c.x[2 + i];
        o.push_back(c.transpose ? s * (in - 1) + op + (c.k[i] - 1) * d + 1 - pb - pe
                                : (in + pb + pe - ((c.k[i] - 1) * d + 1)) / s + 1);
    }
    return o;
}

// Scales chosen so that the real output has a standard deviation of about 3 (hard_swish and
// sigmoid see both their flat and curved parts) and y_scale saturates only the far tails.
struct Scales {
    float xs, ys;
    std::vector<float> ws;
};
Scales pick_scales(int64_t fan_in, int64_t m, bool per_channel) {
    Scales s;
    for (int64_t c = 0; c < (per_channel ? m : 1); ++c)
        s.ws.push_back(0.01f * (1.0f + 0.15f * static_cast<float>(c % 7)));
    float xstd = 74.0f, wstd = 73.0f;
    s.xs = 3.0f / (std::sqrt(static_cast<float>(fan_in)) * xstd * wstd * 0.01f * 1.4f);
    s.ys = 4.0f * 3.0f / 127.0f;
    return s;
}

void set_q_attrs(ir::Node* n, const QCase& c, const Scales& s) {
    n->set_attr("x_scale", f32(s.xs));
    n->set_attr("x_zero_point", i64(c.xzp));
    n->set_attr("w_scales", floats(s.ws));
    n->set_attr("out_dtype", i64(c.out));
    if (c.out != fused::kOnnxFloat) {
        n->set_attr("y_scale", f32(s.ys));
        n->set_attr("y_zero_point", i64(c.yzp));
    }
    if (!c.post_ops.empty()) n->set_attr("post_ops", strs(c.post_ops));
    if (std::find(c.post_ops.begin(), c.post_ops.end(), "clip") != c.post_ops.end()) {
        n->set_attr("clip_min", f32(-1.5f));
        n->set_attr("clip_max", f32(2.5f));
    }
    n->set_attr("alpha", f32(0.1f));
    if (c.residual != DataType::kUndefined) {
        n->set_attr("residual_scale", f32(s.ys * 1.3f));
        n->set_attr("residual_zero_point", i64(c.rzp));
    }
}

Tensor residual_tensor(DataType t, const std::vector<int64_t>& dims, int zp) {
    if (t == DataType::kFloat32) return rand_f32(dims, 77, -4, 4);
    if (t == DataType::kUint8) return rand_q(t, dims, 77, std::max(0, zp - 60), std::min(255, zp + 60));
    return rand_q(t, dims, 77, -60 + zp, 60 + zp);
}

Tensor q_input(DataType t, const std::vector<int64_t>& dims, int zp, uint32_t seed) {
    if (t == DataType::kUint8) return rand_q(t, dims, seed, 0, 255);
    return rand_q(t, dims, seed, std::max(-128, -128 + zp), 127);
}

void run_qconv(const QCase& c, const Expect& expect = {.tol = 1e-5f, .lsb = 1}) {
    SCOPED_TRACE(c.name);
    ir::Graph g;
    ir::Value* x = g.add_input("x", c.xt, Shape::from_dims(c.x));
    std::vector<int64_t> wd =
        c.transpose ? std::vector<int64_t>{c.x[1], c.m / c.group} : std::vector<int64_t>{c.m, c.x[1] / c.group};
    wd.insert(wd.end(), c.k.begin(), c.k.end());
    Scales s = pick_scales(c.x[1] / c.group * prod(c.k) / (c.transpose ? 1 : 1), c.m, c.per_channel);
    std::vector<ir::Value*> ins{x, constant(g, "w", rand_q(DataType::kInt8, wd, 31, -127, 127))};
    ins.push_back(c.bias ? constant(g, "b", rand_f32({c.m}, 32, -1, 1)) : nullptr);
    std::vector<Tensor> feed{q_input(c.xt, c.x, c.xzp, 33)};
    if (c.residual != DataType::kUndefined) {
        auto od = conv_out_dims(c);
        ins.push_back(g.add_input("r", c.residual, Shape::from_dims(od)));
        feed.push_back(residual_tensor(c.residual, od, c.rzp));
    }
    ir::Node* n = g.add_node(c.transpose ? fused::kQConvTranspose : fused::kQConv, ins, {"y"}, "qconv", fused::kDomain);
    if (!c.strides.empty()) n->set_attr("strides", ints(c.strides));
    if (!c.pads.empty()) n->set_attr("pads", ints(c.pads));
    if (!c.dilations.empty()) n->set_attr("dilations", ints(c.dilations));
    if (!c.output_padding.empty()) n->set_attr("output_padding", ints(c.output_padding));
    if (c.group != 1) n->set_attr("group", i64(c.group));
    set_q_attrs(n, c, s);
    g.add_output(n->output(0));
    check_against_ref(g, feed, expect);
}

// add("name", edit): appends `base` with that name, changed by edit(QCase&), to `cases`.
auto case_adder(std::vector<QCase>& cases, QCase base) {
    return [&cases, base](std::string name, auto edit) {
        QCase c = base;
        c.name = std::move(name);
        edit(c);
        cases.push_back(std::move(c));
    };
}

TEST(OnednnInt8, QConvPostOps) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.pads = {1, 1, 1, 1};
    auto add = case_adder(cases, base);
    add("plain s8 -> s8", [](QCase&) {});
    add("relu (u8 storage)", [](QCase& c) { c.post_ops = {"relu"}; });
    add("relu, per-tensor weights, no bias", [](QCase& c) {
        c.post_ops = {"relu"};
        c.per_channel = false;
        c.bias = false;
    });
    add("float out", [](QCase& c) { c.out = fused::kOnnxFloat; });
    add("float out relu", [](QCase& c) {
        c.out = fused::kOnnxFloat;
        c.post_ops = {"relu"};
    });
    add("clip", [](QCase& c) { c.post_ops = {"clip"}; });
    add("leaky_relu", [](QCase& c) { c.post_ops = {"leaky_relu"}; });
    add("hard_swish", [](QCase& c) { c.post_ops = {"hard_swish"}; });
    add("swish", [](QCase& c) { c.post_ops = {"swish"}; });
    add("sigmoid", [](QCase& c) { c.post_ops = {"sigmoid"}; });
    add("hard_swish float out", [](QCase& c) {
        c.post_ops = {"hard_swish"};
        c.out = fused::kOnnxFloat;
    });
    add("y zero point", [](QCase& c) { c.yzp = -7; });
    add("uint8 out with zero point", [](QCase& c) {
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("uint8 input with zero point 128", [](QCase& c) {
        c.xt = D::kUint8;
        c.xzp = 128;
        c.post_ops = {"relu"};
    });
    add("int8 input with zero point 5", [](QCase& c) { c.xzp = 5; });
    add("add s8 residual, relu", [](QCase& c) {
        c.residual = D::kInt8;
        c.post_ops = {"add", "relu"};
    });
    add("add s8 residual with zero point", [](QCase& c) {
        c.residual = D::kInt8;
        c.rzp = 4;
        c.post_ops = {"add"};
    });
    add("add u8 residual, relu", [](QCase& c) {
        c.residual = D::kUint8;
        c.rzp = 128;
        c.post_ops = {"add", "relu"};
    });
    add("relu then add", [](QCase& c) {
        c.residual = D::kInt8;
        c.post_ops = {"relu", "add"};
    });
    add("add f32 residual, float out", [](QCase& c) {
        c.residual = D::kFloat32;
        c.out = fused::kOnnxFloat;
        c.post_ops = {"add", "relu"};
    });
    add("add f32 residual, int8 out", [](QCase& c) {
        c.residual = D::kFloat32;
        c.post_ops = {"add", "relu"};
    });
    add("add s8 residual, float out", [](QCase& c) {
        c.residual = D::kInt8;
        c.out = fused::kOnnxFloat;
        c.post_ops = {"add"};
    });
    add("add then hard_swish", [](QCase& c) {
        c.residual = D::kInt8;
        c.post_ops = {"add", "hard_swish"};
    });
    // Large residuals (16 x 512 x 520 bytes), which once took the binary add post-op: the sum's
    // in-place accumulation over them.
    auto large = [](QCase& c, DataType residual, int rzp, std::vector<std::string> post_ops) {
        c.x = {1, 4, 512, 520};
        c.k = {1, 1};
        c.pads = {};
        c.residual = residual;
        c.rzp = rzp;
        c.post_ops = std::move(post_ops);
    };
    add("large s8 residual, relu", [&](QCase& c) { large(c, D::kInt8, 0, {"add", "relu"}); });
    add("large u8 residual with zero point", [&](QCase& c) { large(c, D::kUint8, 128, {"add"}); });
    for (const auto& c : cases) run_qconv(c);
}

// A large INT8 residual that arrives channels-last from the convolutions before it, as in
// MobileNetV2 / ResNet blocks: x -> c1 -> y1 -> c2 -> y2, out = c3(y2) + y1 (4.3 MB of residual).
// oneDNN 2.6's binary add post-op, which these once took above 4 MB, gave saturated values here
// (-128 / 127 throughout); the in-place sum gives the reference's.
TEST(OnednnInt8, LargeChannelsLastResidual) {
    QAT_REQUIRE_ONEDNN();
    const std::vector<int64_t> dims{1, 16, 512, 520};
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kInt8, Shape::from_dims(dims));
    QCase c;
    c.x = dims;
    c.k = {1, 1};
    c.pads = {};
    c.m = 16;
    const Scales s = pick_scales(16, 16, true);
    auto conv = [&](const std::string& name, ir::Value* in, ir::Value* residual, uint32_t seed) {
        std::vector<ir::Value*> ins{in,
                                    constant(g, name + ".w", rand_q(DataType::kInt8, {16, 16, 1, 1}, seed, -127, 127)),
                                    constant(g, name + ".b", rand_f32({16}, seed + 1, -1, 1))};
        QCase qc = c;
        if (residual) {
            ins.push_back(residual);
            qc.residual = DataType::kInt8;
            qc.post_ops = {"add"};
        }
        ir::Node* n = g.add_node(fused::kQConv, ins, {name + ".y"}, name, fused::kDomain);
        Scales sc = s;
        sc.xs = s.ys;  // c3's input in c2's output units
        set_q_attrs(n, qc, residual ? sc : s);
        if (residual) n->set_attr("residual_scale", f32(s.ys));
        return n->output(0);
    };
    ir::Value* y1 = conv("c1", x, nullptr, 41);
    ir::Value* y2 = conv("c2", y1, nullptr, 43);
    g.add_output(conv("c3", y2, y1, 45));
    // Each conv may be one step off the reference, and c3 sums the steps of c2's output and of
    // the residual it reads: a bound of 4 (the binary form was off by up to 116).
    check_against_ref(g, {q_input(DataType::kInt8, dims, 0, 47)},
                      {.tol = 1e-5f, .lsb = 4, .threads = 2, .layouts = {{"c1", "acdb"}}});
}

TEST(OnednnInt8, QConvGeometry) {
    QAT_REQUIRE_ONEDNN();
    std::vector<QCase> cases;
    QCase base;
    base.post_ops = {"relu"};
    auto add = case_adder(cases, base);
    add("1x1", [](QCase& c) {
        c.k = {1, 1};
        c.x = {2, 32, 7, 7};
        c.m = 64;
    });
    add("stride 2 asymmetric pads", [](QCase& c) {
        c.strides = {2, 2};
        c.pads = {0, 1, 1, 0};
        c.x = {1, 8, 10, 11};
    });
    add("dilation 2", [](QCase& c) {
        c.dilations = {2, 2};
        c.pads = {2, 2, 2, 2};
        c.x = {1, 8, 12, 12};
    });
    add("grouped", [](QCase& c) {
        c.group = 4;
        c.x = {1, 16, 8, 8};
        c.m = 8;
        c.pads = {1, 1, 1, 1};
    });
    add("depthwise", [](QCase& c) {
        c.group = 16;
        c.x = {2, 16, 9, 9};
        c.m = 16;
        c.pads = {1, 1, 1, 1};
    });
    add("depthwise stride 2 (MobileNet)", [](QCase& c) {
        c.group = 32;
        c.x = {1, 32, 14, 14};
        c.m = 32;
        c.strides = {2, 2};
        c.pads = {1, 1, 1, 1};
    });
    add("3 input channels stem 7x7/2", [](QCase& c) {
        c.x = {1, 3, 32, 32};
        c.k = {7, 7};
        c.strides = {2, 2};
        c.pads = {3, 3, 3, 3};
        c.m = 16;
    });
    add("1-D", [](QCase& c) {
        c.x = {2, 8, 20};
        c.k = {3};
        c.pads = {1, 1};
    });
    add("transpose stride 2", [](QCase& c) {
        c.transpose = true;
        c.x = {1, 8, 5, 5};
        c.m = 8;
        c.strides = {2, 2};
        c.pads = {1, 1, 1, 1};
        c.output_padding = {1, 1};
    });
    add("transpose grouped, float out", [](QCase& c) {
        c.transpose = true;
        c.x = {1, 8, 4, 4};
        c.m = 6;
        c.group = 2;
        c.k = {2, 2};
        c.strides = {2, 2};
        c.out = fused::kOnnxFloat;
    });
    for (const auto& c : cases) run_qconv(c);
}

// The output quantization cases of the own kernels' lists: uint8 with a zero point, int8 with a
// zero point and per-tensor weights without bias.
template <typename Add>
void add_output_cases(Add& add) {
    add("uint8 output with zero point 128", [](QCase& c) {
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("int8 output with zero point -7, per-tensor weights, no bias", [](QCase& c) {
        c.yzp = -7;
        c.per_channel = false;
        c.bias = false;
    });
}

// Whether this machine runs pointwise_int8.h (the kernel for INT8 1x1 convolutions with swish or
// sigmoid). Checked here on its own rather than through pointwise_int8_available(): the tests'
// expectation of which kernel runs must not come from the code that picks it (and this file
// builds without oneDNN).
bool has_vnni_kernel() {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
#else
    return false;
#endif
}

// 1x1 convolutions of a 1x1 input (the squeeze-and-excitation reduce / expand) run on
// pointwise_gemv.h's loop, which evaluates the reference's own formula (exact integer sums, the
// real value in double, the same post-op and quantization code): outputs equal the reference
// exactly. Shapes outside its limits (residual, > 256 outputs) stay on oneDNN, within 1 step.
// Chains with swish or sigmoid go to pointwise_int8.h where it runs (the next test; input
// channels that are not a multiple of 4 in rows padded to whole dwords); here where it does not.
TEST(OnednnInt8, QConvPointwiseGemv) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.x = {1, 48, 1, 1};
    base.k = {1, 1};
    base.m = 24;
    auto add = case_adder(cases, base);
    add("plain s8 -> s8", [](QCase&) {});
    add("relu", [](QCase& c) { c.post_ops = {"relu"}; });
    if (!has_vnni_kernel()) {
        add("swish (reduce), 46 -> 24", [](QCase& c) {
            c.x = {1, 46, 1, 1};
            c.post_ops = {"swish"};
        });
        add("sigmoid (expand), 6 -> 200", [](QCase& c) {
            c.x = {1, 6, 1, 1};
            c.m = 200;
            c.post_ops = {"sigmoid"};
        });
    }
    add("hard_swish, clip", [](QCase& c) { c.post_ops = {"hard_swish", "clip"}; });
    add("leaky_relu, batch 3", [](QCase& c) {
        c.post_ops = {"leaky_relu"};
        c.x = {3, 48, 1, 1};
    });
    add("float out", [](QCase& c) { c.out = fused::kOnnxFloat; });
    add_output_cases(add);
    add("uint8 input with zero point 128", [](QCase& c) {
        c.xt = D::kUint8;
        c.xzp = 128;
    });
    add("int8 input with zero point 5", [](QCase& c) { c.xzp = 5; });
    add("1-D", [](QCase& c) {
        c.x = {2, 48, 1};
        c.k = {1};
    });
    add("600 input channels (int32 sums)", [](QCase& c) {
        c.x = {1, 600, 1, 1};
        c.m = 100;
        c.post_ops = {"relu"};
    });
    for (const auto& c : cases) run_qconv(c, {.tol = 0, .lsb = 0, .impls = {{"qconv", "qat:gemv"}}});

    // Outside the loop's limits: oneDNN's kernel, the usual bound.
    QCase big;
    big.name = "1152 outputs, hard_swish (oneDNN)";
    big.x = {1, 46, 1, 1};
    big.k = {1, 1};
    big.m = 1152;
    big.post_ops = {"hard_swish"};
    run_qconv(big, {.tol = 1e-5f, .lsb = 1, .impls = {{"qconv", "brgconv"}}});
    QCase res = big;
    res.name = "residual (oneDNN)";
    res.m = 16;
    res.residual = D::kInt8;
    res.post_ops = {"add", "relu"};
    run_qconv(res, {.tol = 1e-5f, .lsb = 1});
}

// Each case on 1 and 2 threads against the reference, within one step, on the kernel of ours
// named `impl` where this machine has AVX-512 VNNI (else on oneDNN, said so).
void run_on_own_kernel(const std::vector<QCase>& cases, const char* impl) {
    const bool own = has_vnni_kernel();
    if (!own) std::printf("[ INFO     ] no AVX-512 VNNI here: the cases run on oneDNN, impl not checked\n");
    for (const auto& c : cases)
        for (int threads : {1, 2}) {
            Expect e{.tol = 1e-5f, .lsb = 1, .threads = threads};
            if (own) e.impls = {{"qconv", impl}};
            e.max_differ_share = 0.01;
            run_qconv(c, e);
        }
}

// INT8 1x1 convolutions whose post-ops include swish or sigmoid run on pointwise_int8.h (a VNNI
// product of our own with the epilogue in registers; a swish or sigmoid alone with 64+ outputs on
// its requantizing path): within 1 step of the reference, on 1 and 2
// threads, tails of pixels (not a multiple of the 6-pixel tile) and of channels (not a multiple of
// 16), several 64-channel blocks, both thread splits (pixels; output channels when they outnumber
// the pixels), s8 / u8 inputs with zero points, strides, residuals, 1x1 inputs (the
// squeeze-and-excitation convolutions, before the GEMV loop).
TEST(OnednnInt8, QConvPointwiseSwishOwnKernel) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.x = {1, 32, 7, 9};
    base.k = {1, 1};
    base.m = 40;
    base.post_ops = {"swish"};
    auto add = case_adder(cases, base);
    add("s8 input", [](QCase&) {});
    add("s8 input with zero point -5", [](QCase& c) { c.xzp = -5; });
    add("u8 input with zero point 100", [](QCase& c) {
        c.xt = D::kUint8;
        c.xzp = 100;
    });
    add("u8 input, zero point 0", [](QCase& c) { c.xt = D::kUint8; });
    add("16 -> 96 channels, batch 2", [](QCase& c) {
        c.x = {2, 16, 12, 10};
        c.m = 96;
    });
    add("48 -> 1152 channels on a 3x3 image (channel split)", [](QCase& c) {
        c.x = {1, 48, 3, 3};
        c.m = 1152;
    });
    add("stride 2", [](QCase& c) {
        c.x = {2, 24, 9, 11};
        c.strides = {2, 2};
    });
    add_output_cases(add);
    add("add (s8 residual, zero point 3) then swish", [](QCase& c) {
        c.post_ops = {"add", "swish"};
        c.residual = D::kInt8;
        c.rzp = 3;
    });
    add("swish then add (u8 residual, zero point 128)", [](QCase& c) {
        c.post_ops = {"swish", "add"};
        c.residual = D::kUint8;
        c.rzp = 128;
    });
    add("clip, swish", [](QCase& c) { c.post_ops = {"clip", "swish"}; });
    add("relu, swish", [](QCase& c) { c.post_ops = {"relu", "swish"}; });
    add("leaky_relu, swish", [](QCase& c) { c.post_ops = {"leaky_relu", "swish"}; });
    add("hard_swish, swish", [](QCase& c) { c.post_ops = {"hard_swish", "swish"}; });
    add("sigmoid, swish", [](QCase& c) { c.post_ops = {"sigmoid", "swish"}; });
    add("sigmoid alone (squeeze-and-excitation expand): 1x1 input, 48 -> 1152", [](QCase& c) {
        c.x = {1, 48, 1, 1};
        c.m = 1152;
        c.post_ops = {"sigmoid"};
    });
    // From 64 outputs a swish or sigmoid alone runs on the requantizing path (packed channel
    // order, its activation in real units, then the output scale): every kind of last block,
    // strides, zero points.
    add("swish alone, 24 -> 144 (a 16-channel block), s8 input with zero point -3", [](QCase& c) {
        c.x = {1, 24, 5, 11};
        c.m = 144;
        c.xzp = -3;
    });
    add("swish alone, 8 -> 112 (a 48-channel block), u8 output with zero point 128", [](QCase& c) {
        c.x = {2, 8, 6, 6};
        c.m = 112;
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("sigmoid alone, 40 -> 120 (a 56-channel block), stride 2", [](QCase& c) {
        c.x = {1, 40, 7, 9};
        c.m = 120;
        c.strides = {2, 2};
        c.post_ops = {"sigmoid"};
    });
    add("swish alone, 4 -> 88 (24 of a 32-channel block), int8 output with zero point -7", [](QCase& c) {
        c.x = {1, 4, 9, 7};
        c.m = 88;
        c.yzp = -7;
    });
    add("swish (squeeze-and-excitation reduce): 1x1 inputs, batch 3, 1152 -> 48", [](QCase& c) {
        c.x = {3, 1152, 1, 1};
        c.m = 48;
    });
    // A 1x1 input whose channels are not whole dwords: its rows padded (the padding's bytes meet
    // zero weights; the input zero point's term counts the real channels only).
    add("sigmoid alone, 1x1 input, 6 -> 200 (rows padded to 8)", [](QCase& c) {
        c.x = {1, 6, 1, 1};
        c.m = 200;
        c.post_ops = {"sigmoid"};
    });
    add("swish, 1x1 inputs, batch 3, 46 -> 24 (rows padded to 48)", [](QCase& c) {
        c.x = {3, 46, 1, 1};
        c.m = 24;
    });
    add("sigmoid alone, u8 input with zero point 100, 1x1 inputs, batch 2, 10 -> 240 (padded to 12)", [](QCase& c) {
        c.x = {2, 10, 1, 1};
        c.m = 240;
        c.xt = D::kUint8;
        c.xzp = 100;
        c.post_ops = {"sigmoid"};
    });
    run_on_own_kernel(cases, "qat:int8_1x1");

    // What the kernel does not take stays on oneDNN: input channels not a multiple of 4, float
    // output, padding, neither swish nor sigmoid with fewer than 64 outputs.
    std::vector<QCase> others;
    auto other = case_adder(others, base);
    other("30 input channels", [](QCase& c) { c.x = {1, 30, 7, 9}; });
    other("float output", [](QCase& c) { c.out = fused::kOnnxFloat; });
    other("padded", [](QCase& c) { c.pads = {1, 1, 1, 1}; });
    other("relu only", [](QCase& c) { c.post_ops = {"relu"}; });
    for (const auto& c : others) run_qconv(c, {.tol = 1e-5f, .lsb = 1, .not_impls = {{"qconv", "qat:"}}});
}

// INT8 1x1 convolutions with 64 outputs or more and a ReLU, a clip or nothing after (a residual
// added first or not) run on pointwise_int8.h's requantizing path (sums to output units with one
// multiply-add, lane-wise packs to bytes in a packed channel order, the bounds on the bytes):
// within 1 step of the reference, on 1 and 2 threads, every kind of last block (64, 48 and 32
// channels in pack order, the last two with a dword / qword permute, 16 in channel order, 56
// masked, 24 and 8 (4 of them padding) ending in a half column, also as 24 or 20 outputs alone),
// pixel tails, both thread splits (pixels; output channels when there are too few
// pixels or 256 KB of weights, a thread's share then ending inside a block), u8 / s8 inputs and
// outputs with zero points, strides, batches, a long K (int32 sums), u8 / s8 residuals with zero
// points (read in the packed order too).
TEST(OnednnInt8, QConvPointwiseRequantOwnKernel) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.x = {1, 32, 7, 9};
    base.k = {1, 1};
    base.m = 64;
    base.xt = D::kUint8;
    base.post_ops = {"clip"};
    auto add = case_adder(cases, base);
    add("u8 input, clip, 64 outputs", [](QCase&) {});
    add("s8 input, relu", [](QCase& c) {
        c.xt = D::kInt8;
        c.post_ops = {"relu"};
    });
    add("s8 input with zero point -5, nothing after", [](QCase& c) {
        c.xt = D::kInt8;
        c.xzp = -5;
        c.post_ops = {};
    });
    add("u8 input with zero point 100, relu", [](QCase& c) {
        c.xzp = 100;
        c.post_ops = {"relu"};
    });
    add_output_cases(add);
    add("16 -> 96 (a 32-channel block), batch 2", [](QCase& c) {
        c.x = {2, 16, 12, 10};
        c.m = 96;
    });
    add("24 -> 144 (a 16-channel block), s8 input", [](QCase& c) {
        c.x = {1, 24, 5, 11};
        c.m = 144;
        c.xt = D::kInt8;
    });
    add("8 -> 112 (a 48-channel block: three registers packed)", [](QCase& c) {
        c.x = {1, 8, 6, 6};
        c.m = 112;
    });
    add("24 -> 48 (one 48-channel block), s8 input, swish (from 32 outputs)", [](QCase& c) {
        c.x = {1, 24, 7, 5};
        c.m = 48;
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("40 -> 120 (a 56-channel block, masked)", [](QCase& c) {
        c.x = {1, 40, 4, 5};
        c.m = 120;
    });
    add("4 -> 88 (24 channels of a 32-channel block), uint8 output with zero point 128", [](QCase& c) {
        c.x = {1, 4, 9, 7};
        c.m = 88;
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("16 -> 256 on a 2x2 image (channel split)", [](QCase& c) {
        c.x = {1, 16, 2, 2};
        c.m = 256;
    });
    add("stride 2, batch 2", [](QCase& c) {
        c.x = {2, 24, 9, 11};
        c.strides = {2, 2};
        c.m = 72;
    });
    add("600 -> 100, relu (int32 sums)", [](QCase& c) {
        c.x = {1, 600, 3, 5};
        c.m = 100;
        c.post_ops = {"relu"};
        c.xt = D::kInt8;
    });
    // A residual added first (in place over it where the engine allows: the other tests' models).
    add("add (s8 residual, zero point 3), relu, s8 input", [](QCase& c) {
        c.post_ops = {"add", "relu"};
        c.residual = D::kInt8;
        c.rzp = 3;
        c.xt = D::kInt8;
    });
    add("add (u8 residual, zero point 128), clip, 96 outputs, batch 2", [](QCase& c) {
        c.x = {2, 16, 5, 7};
        c.m = 96;
        c.post_ops = {"add", "clip"};
        c.residual = D::kUint8;
        c.rzp = 128;
    });
    add("add alone (s8 residual), 144 outputs, uint8 output with zero point 128", [](QCase& c) {
        c.x = {1, 24, 5, 11};
        c.m = 144;
        c.post_ops = {"add"};
        c.residual = D::kInt8;
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("add, relu, 120 outputs (masked), stride 2", [](QCase& c) {
        c.x = {1, 40, 7, 9};
        c.m = 120;
        c.strides = {2, 2};
        c.post_ops = {"add", "relu"};
        c.residual = D::kInt8;
        c.rzp = -4;
    });
    add("512 -> 512 at 7x7, add, relu (channel split: 256 KB of weights)", [](QCase& c) {
        c.x = {1, 512, 7, 7};
        c.m = 512;
        c.xt = D::kInt8;
        c.post_ops = {"add", "relu"};
        c.residual = D::kInt8;
    });
    add("add (s8 residual, zero point -2), 112 outputs (a 48-channel block), s8 input", [](QCase& c) {
        c.x = {1, 32, 5, 7};
        c.m = 112;
        c.xt = D::kInt8;
        c.post_ops = {"add"};
        c.residual = D::kInt8;
        c.rzp = -2;
    });
    add("832 -> 320 at 7x7, relu (channel split, five blocks: the shares meet inside the third)", [](QCase& c) {
        c.x = {1, 832, 7, 7};
        c.m = 320;
        c.post_ops = {"relu"};
    });
    add("add, relu, 88 outputs (24 of a 32-channel block)", [](QCase& c) {
        c.x = {1, 4, 9, 7};
        c.m = 88;
        c.post_ops = {"add", "relu"};
        c.residual = D::kUint8;
    });
    // 24 outputs: one block of a whole and a half column (its sums in a 256-bit register).
    add("96 -> 24 (a half column), s8 input, batch 2", [](QCase& c) {
        c.x = {2, 96, 7, 9};
        c.m = 24;
        c.xt = D::kInt8;
    });
    add("144 -> 24, add (s8 residual, zero point 3), relu, 13x11 (pixel tails)", [](QCase& c) {
        c.x = {1, 144, 13, 11};
        c.m = 24;
        c.post_ops = {"add", "relu"};
        c.residual = D::kInt8;
        c.rzp = 3;
    });
    add("20 -> 20 (a half column of 4), uint8 output with zero point 9, stride 2", [](QCase& c) {
        c.x = {1, 20, 9, 9};
        c.m = 20;
        c.strides = {2, 2};
        c.out = fused::kOnnxUint8;
        c.yzp = 9;
    });
    run_on_own_kernel(cases, "qat:int8_1x1");

    // Stays on oneDNN: fewer than 64 outputs (but for a half column), an activation before the
    // residual, two activations, other post-ops, a 1x1 input (the GEMV loop's).
    std::vector<QCase> others;
    auto other = case_adder(others, base);
    other("48 outputs", [](QCase& c) { c.m = 48; });
    other("40 outputs", [](QCase& c) { c.m = 40; });
    other("16 outputs", [](QCase& c) { c.m = 16; });
    other("relu, add", [](QCase& c) {
        c.residual = D::kInt8;
        c.post_ops = {"relu", "add"};
    });
    other("relu, clip", [](QCase& c) { c.post_ops = {"relu", "clip"}; });
    other("hard_swish", [](QCase& c) { c.post_ops = {"hard_swish"}; });
    for (const auto& c : others) run_qconv(c, {.tol = 1e-5f, .lsb = 1, .not_impls = {{"qconv", "qat:"}}});
    QCase vec = base;
    vec.name = "1x1 input (GEMV loop)";
    vec.x = {1, 32, 1, 1};
    run_qconv(vec, {.tol = 0, .lsb = 0, .impls = {{"qconv", "qat:gemv"}}});
}

// A 5x5 kernel with padding 2 (EfficientNet's depthwise layers).
void five_by_five(QCase& c) {
    c.k = {5, 5};
    c.pads = {2, 2, 2, 2};
}

// A depthwise case's input dims {n, c, h, w}: c channels, c outputs, c groups.
void depthwise_shape(QCase& c, std::vector<int64_t> x) {
    c.m = c.group = x[1];
    c.x = std::move(x);
}

// INT8 3x3 and 5x5 depthwise convolutions of stride 1 or 2 with ReLU, ReLU6 (clip), swish or
// nothing after, of 32 channels and more, run on depthwise_int8.h (VNNI on columns of input rows,
// carried from output to output): within 1 step of the reference, on 1 and 2 threads, u8 and s8
// inputs (read as u8, the 128 taken back), output zero points, channel counts with a tail in the
// last 64-channel block, 32 and 96 channels (a 32-channel block: alone, after one of 64), odd
// widths, rows and columns of one pixel, batches (an image's edge rows read padding, not the next
// image).
TEST(OnednnInt8, QConvDepthwiseOwnKernel) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.x = {1, 96, 9, 8};
    base.m = 96;
    base.group = 96;
    base.pads = {1, 1, 1, 1};
    base.xt = D::kUint8;
    base.post_ops = {"clip"};
    auto add = case_adder(cases, base);
    add("u8 input, clip (ReLU6)", [](QCase&) {});
    add("s8 input, relu", [](QCase& c) {
        c.xt = D::kInt8;
        c.post_ops = {"relu"};
    });
    add("s8 input, nothing after", [](QCase& c) {
        c.xt = D::kInt8;
        c.post_ops = {};
    });
    add_output_cases(add);
    add("144 channels (a 16-channel tail), batch 2, odd width", [](QCase& c) { depthwise_shape(c, {2, 144, 7, 11}); });
    add("200 channels (an 8-channel tail), relu", [](QCase& c) {
        depthwise_shape(c, {1, 200, 5, 6});
        c.post_ops = {"relu"};
    });
    add("128 channels, one column", [](QCase& c) { depthwise_shape(c, {3, 128, 6, 1}); });
    add("one row", [](QCase& c) { c.x = {1, 96, 1, 10}; });
    // A last part of at most 32 channels runs in a block of 32 (ymm registers): 32 channels as that
    // block alone, 96 as 64 + 32.
    add("32 channels, s8 input, relu, batch 2", [](QCase& c) {
        depthwise_shape(c, {2, 32, 10, 7});
        c.xt = D::kInt8;
        c.post_ops = {"relu"};
    });
    add("32 channels, uint8 output with zero point 128", [](QCase& c) {
        depthwise_shape(c, {1, 32, 7, 6});
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("80 channels (a 16-channel tail)", [](QCase& c) { depthwise_shape(c, {1, 80, 6, 9}); });
    add("120 channels (a 56-channel tail), s8 input", [](QCase& c) {
        depthwise_shape(c, {1, 120, 5, 7});
        c.xt = D::kInt8;
    });
    // Stride 2 (one column carried instead of two): even and odd sizes (an odd one reads the
    // right / bottom padding), s8 input, 32 channels, tails, batches, one row / column out.
    add("stride 2, 96 channels, 10x8", [](QCase& c) {
        c.x = {1, 96, 10, 8};
        c.strides = {2, 2};
    });
    add("stride 2, 144 channels, 9x11, s8 input, relu, batch 2", [](QCase& c) {
        depthwise_shape(c, {2, 144, 9, 11});
        c.strides = {2, 2};
        c.xt = D::kInt8;
        c.post_ops = {"relu"};
    });
    add("stride 2, 32 channels, 7x6, uint8 output with zero point 128", [](QCase& c) {
        depthwise_shape(c, {1, 32, 7, 6});
        c.strides = {2, 2};
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("stride 2, 200 channels, 2x2 (one output pixel), batch 3", [](QCase& c) {
        depthwise_shape(c, {3, 200, 2, 2});
        c.strides = {2, 2};
    });
    add("stride 2, 120 channels, 1x5, s8 input, nothing after", [](QCase& c) {
        depthwise_shape(c, {1, 120, 1, 5});
        c.strides = {2, 2};
        c.xt = D::kInt8;
        c.post_ops = {};
    });
    // Swish after (EfficientNet's depthwise layers): in real units, then the output scale.
    add("swish, s8 input, 144 channels, batch 2", [](QCase& c) {
        depthwise_shape(c, {2, 144, 6, 7});
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("swish, stride 2, 96 channels, uint8 output with zero point 128", [](QCase& c) {
        c.x = {1, 96, 9, 10};
        c.strides = {2, 2};
        c.post_ops = {"swish"};
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("swish, 32 channels, int8 output with zero point -7", [](QCase& c) {
        depthwise_shape(c, {1, 32, 8, 5});
        c.post_ops = {"swish"};
        c.yzp = -7;
    });
    // 5x5 with padding 2 (EfficientNet's): five-row columns
    // (rows 0..3, then row 4), a ring of five; stride 1 and 2, swish and ReLU, even and odd sizes,
    // 32 and 96 channels (a 32-channel block), tails, a row of 3 outputs at stride 2.
    add("5x5, swish, s8 input, 144 channels, batch 2", [](QCase& c) {
        depthwise_shape(c, {2, 144, 7, 9});
        five_by_five(c);
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("5x5, stride 2, swish, 240 channels, 11x17", [](QCase& c) {
        depthwise_shape(c, {1, 240, 11, 17});
        five_by_five(c);
        c.strides = {2, 2};
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("5x5, stride 2, 64 channels, 5x6 (3 outputs wide)", [](QCase& c) {
        depthwise_shape(c, {1, 64, 5, 6});
        five_by_five(c);
        c.strides = {2, 2};
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("5x5, relu, 96 channels, 4x9 (fewer rows than the kernel)", [](QCase& c) {
        c.x = {1, 96, 4, 9};
        five_by_five(c);
        c.post_ops = {"relu"};
    });
    add("5x5, stride 2, 32 channels, 15x16 (8 outputs wide), uint8 output with zero point 128", [](QCase& c) {
        depthwise_shape(c, {2, 32, 15, 16});
        five_by_five(c);
        c.strides = {2, 2};
        c.out = fused::kOnnxUint8;
        c.yzp = 128;
    });
    add("5x5, stride 1, swish, 1152 channels, 7x7 (EfficientNet-B0's last stage)", [](QCase& c) {
        depthwise_shape(c, {1, 1152, 7, 7});
        five_by_five(c);
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    // Inputs over 2 MB are read with software prefetch of the next output row's input rows (the
    // last rows' prefetches point past the image, or the tensor).
    add("stride 2, swish, 96 channels, 112x112 (2.4 MB in: prefetched), s8 input", [](QCase& c) {
        depthwise_shape(c, {2, 96, 112, 112});
        c.strides = {2, 2};
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    add("5x5, stride 1, relu, 160 channels (a 32-channel tail), 2 x 82x82 (2.2 MB in: prefetched)", [](QCase& c) {
        depthwise_shape(c, {2, 160, 82, 82});
        five_by_five(c);
        c.post_ops = {"relu"};
    });
    // A last part of at most 32 channels after blocks of 64 runs as a block of 32.
    add("160 channels (64 + 64 + a full 32-channel tail), relu, s8", [](QCase& c) {
        depthwise_shape(c, {1, 160, 7, 6});
        c.xt = D::kInt8;
        c.post_ops = {"relu"};
    });
    add("72 channels (64 + a tail of 8), stride 2, swish, uint8 output with zero point 9", [](QCase& c) {
        depthwise_shape(c, {2, 72, 9, 8});
        c.strides = {2, 2};
        c.post_ops = {"swish"};
        c.out = fused::kOnnxUint8;
        c.yzp = 9;
    });
    add("5x5, stride 1, relu, 96 channels, 9x3 (3 outputs wide)", [](QCase& c) {
        c.x = {1, 96, 9, 3};
        five_by_five(c);
        c.post_ops = {"relu"};
    });
    // 5x5 at stride 1 runs by slices of 16 channels on rows of 14 outputs or more (narrower ones,
    // above, on the blocks): a last slice of fewer (masked loads and stores), both input types and
    // output types, batches (each image's slices in turn).
    add("5x5, stride 1, swish, 72 channels (a slice of 8), 6x15, uint8 output with zero point 128, batch 2",
        [](QCase& c) {
            depthwise_shape(c, {2, 72, 6, 15});
            five_by_five(c);
            c.post_ops = {"swish"};
            c.out = fused::kOnnxUint8;
            c.yzp = 128;
        });
    add("5x5, stride 1, s8 input, nothing after, 40 channels (a slice of 8), 3x14", [](QCase& c) {
        depthwise_shape(c, {1, 40, 3, 14});
        five_by_five(c);
        c.xt = D::kInt8;
        c.post_ops = {};
    });
    add("5x5, stride 1, clip, 33 channels (a slice of 1), batch 3, 2x16, output zero point -5", [](QCase& c) {
        depthwise_shape(c, {3, 33, 2, 16});
        five_by_five(c);
        c.yzp = -5;
    });
    add("5x5, stride 1, swish, s8 input, 144 channels, 5x20", [](QCase& c) {
        depthwise_shape(c, {1, 144, 5, 20});
        five_by_five(c);
        c.xt = D::kInt8;
        c.post_ops = {"swish"};
    });
    run_on_own_kernel(cases, "qat:int8_dw");

    // What the kernel does not take stays on oneDNN: fewer than 32 channels, stride 3, strides
    // that differ, other post-ops, an input zero point, a residual.
    std::vector<QCase> others;
    auto other = case_adder(others, base);
    other("16 channels", [](QCase& c) { depthwise_shape(c, {1, 16, 9, 8}); });
    other("stride 3", [](QCase& c) { c.strides = {3, 3}; });
    other("strides 1, 2", [](QCase& c) { c.strides = {1, 2}; });
    other("hard_swish", [](QCase& c) { c.post_ops = {"hard_swish"}; });
    other("relu, swish", [](QCase& c) { c.post_ops = {"relu", "swish"}; });
    other("input zero point 3", [](QCase& c) { c.xzp = 3; });
    other("residual", [](QCase& c) {
        c.residual = D::kInt8;
        c.post_ops = {"add", "relu"};
    });
    for (const auto& c : others) run_qconv(c, {.tol = 1e-5f, .lsb = 1, .not_impls = {{"qconv", "qat:"}}});
}

// INT8 convolutions of at most 64 taps per output (an image's stem: 3 channels, 3x3) run as a 1x1
// convolution of pointwise_int8.h over rows that im2col_int8.h gathers (`qat:int8_im2col`): within
// 1 step of the reference on 1 and 2 threads; strides 1 and 2, odd sizes, asymmetric padding (the
// padding taps hold the input zero point), u8 / s8 inputs with zero points, swish, ReLU and clip
// (the requantizing path from 32 outputs on gathered rows, the general epilogue below), 63 taps
// (a full 64-byte row with its dword tail), 1-channel 5x5, batches; interior outputs of RGB 3x3
// kernels take the byte-permute gather where the machine has AVX-512 VBMI (the edges, and wider
// rows, the masked one).
TEST(OnednnInt8, QConvIm2colOwnKernel) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    std::vector<QCase> cases;
    QCase base;
    base.x = {1, 3, 15, 17};
    base.m = 32;
    base.strides = {2, 2};
    base.pads = {1, 1, 1, 1};
    base.post_ops = {"swish"};
    auto add = case_adder(cases, base);
    add("EfficientNet's stem: 3x3 stride 2, swish, s8", [](QCase&) {});
    add("batch 2, 224-like even size, int8 output zero point -5", [](QCase& c) {
        c.x = {2, 3, 16, 16};
        c.yzp = -5;
    });
    add("u8 input with zero point 100 (padding holds it), relu, 64 outputs", [](QCase& c) {
        c.xt = D::kUint8;
        c.xzp = 100;
        c.m = 64;
        c.post_ops = {"relu"};
    });
    add("MobileNetV2's stem: clip (ReLU6-like), 32 outputs, uint8 output", [](QCase& c) {
        c.post_ops = {"clip"};
        c.out = fused::kOnnxUint8;
        c.x = {2, 3, 18, 20};
    });
    add("relu, 32 outputs, no padding, stride 1 (every kernel row inside)", [](QCase& c) {
        c.post_ops = {"relu"};
        c.pads = {0, 0, 0, 0};
        c.strides = {1, 1};
    });
    add("stride 1, sigmoid, 40 outputs", [](QCase& c) {
        c.strides = {1, 1};
        c.m = 40;
        c.post_ops = {"sigmoid"};
    });
    add("asymmetric padding (top / left 0), s8 zero point -3", [](QCase& c) {
        c.pads = {0, 0, 1, 1};
        c.xzp = -3;
    });
    add("7 channels: 63 taps, 48 outputs", [](QCase& c) {
        c.x = {1, 7, 9, 11};
        c.m = 48;
    });
    add("1 channel, 5x5 stride 1, 16 outputs (general epilogue)", [](QCase& c) {
        c.x = {1, 1, 12, 10};
        c.k = {5, 5};
        c.pads = {2, 2, 2, 2};
        c.strides = {1, 1};
        c.m = 16;
    });
    run_on_own_kernel(cases, "qat:int8_im2col");

    // More than 64 taps, dilation, grouped, 1x1 (the 1x1 paths) stay off it.
    std::vector<QCase> others;
    auto other = case_adder(others, base);
    other("8 channels: 72 taps", [](QCase& c) { c.x = {1, 8, 9, 9}; });
    other("dilation 2", [](QCase& c) {
        c.dilations = {2, 2};
        c.pads = {2, 2, 2, 2};
    });
    other("relu with 16 outputs (the requantizing path needs 32 on gathered rows)", [](QCase& c) {
        c.post_ops = {"relu"};
        c.m = 16;
    });
    for (const auto& c : others) run_qconv(c, {.tol = 1e-5f, .lsb = 1, .not_impls = {{"qconv", "im2col"}}});
}

// QuantizeLinear of a plain NCHW image with up to 16 channels (the network input) goes straight
// into channels-last on quantize_nhwc.h's loop, with ONNX's division and round-half-even: exact
// against the reference, ties, NaN and saturation included, 1 and 2 threads.
TEST(OnednnInt8, QuantizeImageToChannelsLast) {
    QAT_REQUIRE_ONEDNN();
    const float scale = 0.25f;  // a power of two: the ties below are exact
    for (DataType t : {DataType::kInt8, DataType::kUint8})
        for (int zp : {0, 3})
            for (int64_t c : {1, 3, 5})
                for (int threads : {1, 2}) {
                    const int qzp = t == DataType::kUint8 ? zp + 125 : -zp;
                    SCOPED_TRACE(std::string(dtype_name(t)) + " zp " + std::to_string(qzp) + ", " + std::to_string(c) +
                                 " channels, " + std::to_string(threads) + " threads");
                    const std::vector<int64_t> dims{2, c, 9, 13};  // 117 pixels: a 64-pixel block and a tail
                    ir::Graph g;
                    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(dims));
                    Tensor z = t == DataType::kInt8 ? Tensor::scalar<int8_t>(static_cast<int8_t>(qzp))
                                                    : Tensor::scalar<uint8_t>(static_cast<uint8_t>(qzp));
                    ir::Node* q = g.add_node("QuantizeLinear",
                                             {x, constant(g, "s", Tensor::scalar<float>(scale)), constant(g, "z", z)},
                                             {"y"}, "q");
                    g.add_output(q->output(0));
                    Tensor in = rand_f32(dims, 17, -40, 40);
                    float* v = in.data<float>();
                    const float specials[] = {0.125f,        0.375f, -0.125f, -0.375f, 1.625f,  -2.875f,
                                              std::nanf(""), 1e6f,   -1e6f,   31.875f, -32.125f};
                    for (size_t i = 0; i < std::size(specials); ++i) v[i * 37 % in.numel()] = specials[i];
                    check_against_ref(g, {in}, {.lsb = 0, .threads = threads, .impls = {{"q", "qat:quantize_nhwc"}}});
                }
    // Rank 5 goes channels-last too; rank 6 has no channels-last desc here: oneDNN's reorder into a
    // plain output (it multiplies by 1/scale: a tie may land one step off; channels-last bytes
    // under a plain desc would differ everywhere).
    for (const std::vector<int64_t>& dims :
         {std::vector<int64_t>{2, 3, 4, 5, 6}, std::vector<int64_t>{1, 3, 2, 3, 4, 5}}) {
        SCOPED_TRACE("rank " + std::to_string(dims.size()));
        ir::Graph g;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(dims));
        ir::Node* q = g.add_node("QuantizeLinear",
                                 {x, constant(g, "s", Tensor::scalar<float>(0.02f)),
                                  constant(g, "z", Tensor::scalar<int8_t>(static_cast<int8_t>(-2)))},
                                 {"y"}, "q");
        g.add_output(q->output(0));
        const bool five = dims.size() == 5;
        Expect e{.lsb = five ? 0 : 1};
        if (five) e.impls = {{"q", "qat:quantize_nhwc"}};
        check_against_ref(g, {rand_f32(dims, 23, -3, 3)}, e);
    }
}

void run_qgemm(int64_t mrows, int64_t k, int64_t n, bool trans_b, int out, std::vector<std::string> post_ops,
               DataType residual, DataType xt = DataType::kInt8, int xzp = 0, const Expect& e = {}) {
    SCOPED_TRACE("QGemm " + std::to_string(mrows) + "x" + std::to_string(k) + "x" + std::to_string(n));
    ir::Graph g;
    ir::Value* x = g.add_input("x", xt, Shape{mrows, k});
    std::vector<int64_t> wd = trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
    std::vector<ir::Value*> ins{x, constant(g, "w", rand_q(DataType::kInt8, wd, 41, -127, 127)),
                                constant(g, "b", rand_f32({n}, 42))};
    std::vector<Tensor> feed{q_input(xt, {mrows, k}, xzp, 43)};
    if (residual != DataType::kUndefined) {
        ins.push_back(g.add_input("r", residual, Shape{mrows, n}));
        feed.push_back(residual_tensor(residual, {mrows, n}, 0));
    }
    ir::Node* node = g.add_node(fused::kQGemm, ins, {"y"}, "qgemm", fused::kDomain);
    QCase c;
    c.m = n;
    c.out = out;
    c.post_ops = post_ops;
    c.residual = residual;
    c.xzp = xzp;
    Scales s = pick_scales(k, n, true);
    set_q_attrs(node, c, s);
    node->set_attr("trans_b", i64(trans_b));
    g.add_output(node->output(0));
    check_against_ref(g, feed, e);
}

TEST(OnednnInt8, QGemm) {
    QAT_REQUIRE_ONEDNN();
    run_qgemm(4, 64, 10, true, fused::kOnnxFloat, {}, DataType::kUndefined);
    run_qgemm(3, 32, 16, false, fused::kOnnxInt8, {"relu"}, DataType::kUndefined);
    run_qgemm(5, 48, 24, true, fused::kOnnxInt8, {"add", "relu"}, DataType::kInt8);
    run_qgemm(2, 16, 8, true, fused::kOnnxFloat, {"add"}, DataType::kFloat32);
    run_qgemm(2, 16, 8, true, fused::kOnnxInt8, {"hard_swish"}, DataType::kUndefined, DataType::kUint8, 128);
}

// A classifier's few rows against 64k multiply-adds or more per row (gemv_int8.h's loop where the
// machine has VNNI): float outputs to re-association, quantized ones within one step next to ties
// (v * (1 / y_scale)); s8 and u8 inputs with zero points, both weight orders, a last block of
// fewer than 64 outputs (and of fewer than 16). Five rows, post-ops or a residual stay on oneDNN.
TEST(OnednnInt8, QGemmFewRows) {
    QAT_REQUIRE_ONEDNN();
    const bool own = has_vnni_kernel();
    if (!own) std::printf("no AVX-512 VNNI here: the QGemm rows run on oneDNN (checked against ref all the same)\n");
    auto gemv = [&](float tol, int threads = 1) {
        Expect e{.tol = tol, .lsb = 1, .max_differ_share = 0.01, .threads = threads};
        if (own) e.impls = {{"qgemm", "qat:gemv_int8"}};
        return e;
    };
    const Expect onednn{.not_impls = {{"qgemm", "qat:gemv_int8"}}};
    run_qgemm(1, 1280, 1000, true, fused::kOnnxFloat, {}, DataType::kUndefined, DataType::kInt8, 0, gemv(1e-5f));
    run_qgemm(1, 1280, 1000, true, fused::kOnnxFloat, {}, DataType::kUndefined, DataType::kInt8, 0, gemv(1e-5f, 2));
    run_qgemm(4, 512, 200, false, fused::kOnnxInt8, {}, DataType::kUndefined, DataType::kUint8, 128, gemv(1e-5f, 2));
    run_qgemm(2, 256, 300, true, fused::kOnnxUint8, {}, DataType::kUndefined, DataType::kInt8, -3, gemv(1e-5f));
    run_qgemm(3, 2048, 70, true, fused::kOnnxFloat, {}, DataType::kUndefined, DataType::kUint8, 7, gemv(1e-5f, 2));
    run_qgemm(5, 1280, 100, true, fused::kOnnxFloat, {}, DataType::kUndefined, DataType::kInt8, 0, onednn);
    run_qgemm(1, 1280, 100, true, fused::kOnnxInt8, {"relu"}, DataType::kUndefined, DataType::kInt8, 0, onednn);
    run_qgemm(1, 1280, 100, true, fused::kOnnxInt8, {"add"}, DataType::kInt8, DataType::kInt8, 0, onednn);
}

// One QAdd / QMul node: a [2, 8, 5, 5] int8 input and b of `bdims` (broadcast when smaller).
struct QBinaryCase {
    DataType bt;
    int out, yzp;
    std::vector<std::string> post_ops;
    std::vector<int64_t> bdims;
};

void run_qbinary(const char* op, const QBinaryCase& c, float b_scale, float y_scale, uint32_t seed) {
    SCOPED_TRACE(std::string(op) + " out " + std::to_string(c.out) + " b " + dims_to_string(c.bdims));
    const std::vector<int64_t> adims{2, 8, 5, 5};
    ir::Graph g;
    ir::Value* a = g.add_input("a", DataType::kInt8, Shape::from_dims(adims));
    ir::Value* b = g.add_input("b", c.bt, Shape::from_dims(c.bdims));
    ir::Node* n = g.add_node(op, {a, b}, {"y"}, "qbin", fused::kDomain);
    n->set_attr("a_scale", f32(0.031f));
    n->set_attr("b_scale", f32(b_scale));
    n->set_attr("out_dtype", i64(c.out));
    if (c.out != fused::kOnnxFloat) {
        n->set_attr("y_scale", f32(y_scale));
        n->set_attr("y_zero_point", i64(c.yzp));
    }
    if (!c.post_ops.empty()) n->set_attr("post_ops", strs(c.post_ops));
    g.add_output(n->output(0));
    check_against_ref(g, {q_input(DataType::kInt8, adims, 0, seed), q_input(c.bt, c.bdims, 0, seed + 1)});
}

TEST(OnednnInt8, QAdd) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    for (const QBinaryCase& c : {QBinaryCase{D::kInt8, fused::kOnnxInt8, 0, {"relu"}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kUint8, fused::kOnnxInt8, 3, {}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kInt8, fused::kOnnxFloat, 0, {}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kInt8, fused::kOnnxUint8, 100, {"relu"}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kInt8, fused::kOnnxInt8, 0, {"hard_swish"}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kInt8, fused::kOnnxInt8, 0, {"relu"}, {1, 8, 1, 1}}})
        run_qbinary(fused::kQAdd, c, 0.017f, 0.043f, 1);
}

// QMul: the squeeze-and-excitation scale (activation times a per-channel gate, broadcast), and a
// full-shape product; int8 / uint8 gate, int8 / uint8 / float output.
TEST(OnednnInt8, QMul) {
    QAT_REQUIRE_ONEDNN();
    using D = DataType;
    for (const QBinaryCase& c : {QBinaryCase{D::kUint8, fused::kOnnxInt8, 0, {}, {2, 8, 1, 1}},
                                 QBinaryCase{D::kInt8, fused::kOnnxInt8, 0, {}, {1, 8, 1, 1}},
                                 QBinaryCase{D::kUint8, fused::kOnnxUint8, 7, {"relu"}, {2, 8, 1, 1}},
                                 QBinaryCase{D::kInt8, fused::kOnnxFloat, 0, {}, {2, 8, 5, 5}},
                                 QBinaryCase{D::kInt8, fused::kOnnxInt8, 0, {"sigmoid"}, {2, 8, 5, 5}}})
        run_qbinary(fused::kQMul, c, c.bt == D::kUint8 ? 1.0f / 255.0f : 0.017f, 0.019f, 3);
}

TEST(OnednnInt8, QAddWithZeroPointDeclines) {
    QAT_REQUIRE_ONEDNN();
    ir::Graph g;
    ir::Value* a = g.add_input("a", DataType::kInt8, Shape{1, 4});
    ir::Node* n = g.add_node(fused::kQAdd, {a, a}, {"y"}, "qadd", fused::kDomain);
    n->set_attr("a_scale", f32(0.1f));
    n->set_attr("a_zero_point", i64(3));
    n->set_attr("b_scale", f32(0.1f));
    n->set_attr("out_dtype", i64(fused::kOnnxFloat));
    g.add_output(n->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry()});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    auto st = (*plan)->steps();
    EXPECT_EQ(st[0].backend, "ref");
    ASSERT_FALSE(st[0].refusals.empty());
    EXPECT_NE(st[0].refusals[0].reason.find("nonzero input zero point"), std::string::npos) << st[0].refusals[0].reason;
    check_against_ref(g, {rand_q(DataType::kInt8, {1, 4}, 1, -100, 100)}, {.onednn_nodes = {"none"}});
}

TEST(OnednnInt8, QPools) {
    QAT_REQUIRE_ONEDNN();
    struct P {
        const char* op;
        int out, xzp, yzp;
        bool include_pad, ceil;
        DataType xt;
    };
    for (const P& c : {P{fused::kQAveragePool, fused::kOnnxInt8, 0, 0, false, false, DataType::kInt8},
                       P{fused::kQAveragePool, fused::kOnnxInt8, 0, 5, true, false, DataType::kInt8},
                       P{fused::kQAveragePool, fused::kOnnxFloat, 3, 0, false, true, DataType::kInt8},
                       P{fused::kQAveragePool, fused::kOnnxUint8, 128, 120, false, false, DataType::kUint8},
                       P{fused::kQGlobalAveragePool, fused::kOnnxInt8, 0, -3, false, false, DataType::kInt8},
                       P{fused::kQGlobalAveragePool, fused::kOnnxFloat, 0, 0, false, false, DataType::kInt8}}) {
        ir::Graph g;
        ir::Value* x = g.add_input("x", c.xt, Shape{2, 8, 9, 9});
        ir::Node* n = g.add_node(c.op, {x}, {"y"}, "qpool", fused::kDomain);
        if (std::string(c.op) == fused::kQAveragePool) {
            n->set_attr("kernel_shape", ints({3, 3}));
            n->set_attr("strides", ints({2, 2}));
            if (!c.ceil) n->set_attr("pads", ints({1, 1, 1, 1}));
            n->set_attr("count_include_pad", i64(c.include_pad));
            n->set_attr("ceil_mode", i64(c.ceil));
        }
        n->set_attr("x_scale", f32(0.05f));
        n->set_attr("x_zero_point", i64(c.xzp));
        n->set_attr("out_dtype", i64(c.out));
        if (c.out != fused::kOnnxFloat) {
            n->set_attr("y_scale", f32(0.03f));
            n->set_attr("y_zero_point", i64(c.yzp));
        }
        g.add_output(n->output(0));
        SCOPED_TRACE(std::string(c.op) + " out " + std::to_string(c.out));
        check_against_ref(g, {q_input(c.xt, {2, 8, 9, 9}, c.xzp, 5)});
    }
}

// A small quantized network the way the engine passes emit it: Q -> QConv(relu) -> MaxPool (int8)
// -> QConv -> QConv(add residual, relu) -> QGlobalAveragePool -> Flatten (ref) -> QGemm -> float.
// Tensors stay in oneDNN layouts (u8 storage after ReLU) between the oneDNN ops and are converted
// for Flatten and for the int8 graph output.
ir::Node* qconv(ir::Graph& g, ir::Value* x, int64_t cin, int64_t cout, int64_t k, const std::string& name,
                std::vector<std::string> post_ops, ir::Value* residual = nullptr) {
    std::vector<ir::Value*> ins{
        x, constant(g, name + ".w", rand_q(DataType::kInt8, {cout, cin, k, k}, cout + k, -127, 127)),
        constant(g, name + ".b", rand_f32({cout}, cout))};
    if (residual) ins.push_back(residual);
    ir::Node* n = g.add_node(fused::kQConv, ins, {name}, name, fused::kDomain);
    int64_t p = k / 2;
    n->set_attr("pads", ints({p, p, p, p}));
    QCase c;
    c.out = fused::kOnnxInt8;
    c.post_ops = std::move(post_ops);
    c.residual = residual ? DataType::kInt8 : DataType::kUndefined;
    Scales s = pick_scales(cin * k * k, cout, true);
    set_q_attrs(n, c, s);
    // Keep activations in a typical int8 range for the next layer (its x_scale is the same).
    n->set_attr("y_scale", f32(s.xs * 40.0f));
    n->set_attr("x_scale", f32(s.xs * 40.0f));
    if (residual) n->set_attr("residual_scale", f32(s.xs * 40.0f));
    return n;
}

void quantized_net(bool residual_is_output) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 16, 16});
    ir::Node* q =
        g.add_node("QuantizeLinear",
                   {x, constant(g, "qs", Tensor::scalar<float>(0.02f)), constant(g, "qz", Tensor::scalar<int8_t>(0))},
                   {"xq"}, "quant");
    ir::Node* c1 = qconv(g, q->output(0), 3, 16, 3, "c1", {"relu"});
    ir::Node* mp = g.add_node("MaxPool", {c1->output(0)}, {"mp"}, "mp");
    mp->set_attr("kernel_shape", ints({2, 2}));
    mp->set_attr("strides", ints({2, 2}));
    ir::Node* c2 = qconv(g, mp->output(0), 16, 16, 3, "c2", {"relu"});
    ir::Node* c3 = qconv(g, c2->output(0), 16, 16, 1, "c3", {"add", "relu"}, mp->output(0));
    ir::Node* gap = g.add_node(fused::kQGlobalAveragePool, {c3->output(0)}, {"gap"}, "gap", fused::kDomain);
    float s3 = c3->attr_float("y_scale", 1);
    gap->set_attr("x_scale", f32(s3));
    gap->set_attr("y_scale", f32(s3));
    gap->set_attr("out_dtype", i64(fused::kOnnxInt8));
    ir::Node* fl = g.add_node("Flatten", {gap->output(0)}, {"flat"}, "flat");
    fl->set_attr("axis", i64(1));
    ir::Node* fc = g.add_node(fused::kQGemm,
                              {fl->output(0), constant(g, "fc.w", rand_q(DataType::kInt8, {10, 16}, 9, -127, 127)),
                               constant(g, "fc.b", rand_f32({10}, 10))},
                              {"logits"}, "fc", fused::kDomain);
    fc->set_attr("x_scale", f32(s3));
    fc->set_attr("w_scales", floats({0.01f}));
    fc->set_attr("trans_b", i64(1));
    fc->set_attr("out_dtype", i64(fused::kOnnxFloat));
    g.add_output(fc->output(0));
    g.add_output(c2->output(0));                          // an int8 output in a oneDNN layout, converted for the caller
    if (residual_is_output) g.add_output(mp->output(0));  // the residual then cannot be overwritten
    Expect e;
    e.onednn_nodes = {"quant", "c1", "mp", "c2", "c3", "gap", "fc"};
    e.expect_blocked = true;
    e.threads = 2;
    e.more_inputs = {{rand_f32({4, 3, 16, 16}, 2, -2, 2)}, {rand_f32({1, 3, 16, 16}, 3, -2, 2)}};
    // Errors compound through layers (a 1-step difference feeds the next conv); the float logits
    // get a bound of a few of their own quantization steps.
    e.lsb = 1;
    e.tol = 0.05f;
    check_against_ref(g, {rand_f32({1, 3, 16, 16}, 1, -2, 2)}, e);
}

// The squeeze-and-excitation scale: QMul after a QConv (NHWC int8 activation, oneDNN's binary),
// and a float Mul of an NCHW activation, which runs on our channel-scale loop (channel_scale.h)
// in place. The bounds (1 int8 step, 1e-5) are for the convolution in front of the QMul.
TEST(OnednnInt8, SqueezeExciteScaleFastPath) {
    QAT_REQUIRE_ONEDNN();
    for (bool quantized : {true, false}) {
        SCOPED_TRACE(quantized ? "QMul" : "Mul");
        ir::Graph g;
        const int64_t cin = quantized ? 3 : 16;
        ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), cin, 12, 12});
        ir::Value* gate =
            g.add_input("gate", quantized ? DataType::kUint8 : DataType::kFloat32, Shape{Dim::symbolic("N"), 16, 1, 1});
        ir::Node* act = nullptr;
        if (quantized) {
            ir::Node* q = g.add_node(
                "QuantizeLinear",
                {x, constant(g, "qs", Tensor::scalar<float>(0.02f)), constant(g, "qz", Tensor::scalar<int8_t>(0))},
                {"xq"}, "quant");
            act = qconv(g, q->output(0), 3, 16, 3, "c1", {});
            act->output(0)->set_shape(Shape{Dim::symbolic("N"), 16, 12, 12});
        } else {
            // A plain NCHW activation (the QMul case covers NHWC).
            act = g.add_node("Relu", {x}, {"c1"}, "c1");
            act->output(0)->set_shape(Shape{Dim::symbolic("N"), 16, 12, 12});
        }
        ir::Node* m = quantized ? g.add_node(fused::kQMul, {act->output(0), gate}, {"y"}, "scale", fused::kDomain)
                                : g.add_node("Mul", {act->output(0), gate}, {"y"}, "scale");
        if (quantized) {
            m->set_attr("a_scale", f32(act->attr_float("y_scale", 1)));
            m->set_attr("b_scale", f32(1.0f / 255.0f));
            m->set_attr("y_scale", f32(0.013f));
            m->set_attr("y_zero_point", i64(-3));
            m->set_attr("out_dtype", i64(fused::kOnnxInt8));
        }
        m->output(0)->set_shape(Shape{Dim::symbolic("N"), 16, 12, 12});
        g.add_output(m->output(0));
        auto gate_of = [&](int64_t n, uint32_t seed) {
            return quantized ? rand_q(DataType::kUint8, {n, 16, 1, 1}, seed, 0, 255) : rand_f32({n, 16, 1, 1}, seed);
        };
        Expect e;
        e.threads = 2;
        e.more_inputs = {{rand_f32({3, cin, 12, 12}, 7, -2, 2), gate_of(3, 8)}};
        check_against_ref(g, {rand_f32({2, cin, 12, 12}, 9, -2, 2), gate_of(2, 10)}, e);

        auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry(), .num_threads = 2});
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        (*plan)->set_profiling(true);
        ASSERT_TRUE((*plan)->run(std::vector<Tensor>{rand_f32({2, cin, 12, 12}, 11, -2, 2), gate_of(2, 12)}).ok());
        for (const auto& p : (*plan)->profile())
            if (p.node->name() == "scale") {
                EXPECT_EQ(p.backend, "onednn");
                if (!quantized) {
                    EXPECT_EQ(p.implementation, "qat:channel_scale");
                }
            }
    }
}

// The INT8 squeeze-and-excitation scale on our loop (channel_scale.h): an identity 1x1 QConv hands
// the graph's int8 input over channels-last (exactly: weights 1, x_scale = y_scale; with a ReLU,
// in u8 storage; or as uint8 0..254, x_scale = 2 y_scale), then QMul by a [N or 1, C, 1, 1] gate. Channel counts with
// and without a 16-channel tail and under 16, s8 / u8 gates, int8 / uint8 outputs with zero points, a fused ReLU, and 3
// images of 12x12 split over 2 threads (from 16 KB: the ranges cross images). Within one step of the reference (ties),
// on at most 1% of the elements.
TEST(OnednnInt8, QMulChannelScaleOwnLoop) {
    QAT_REQUIRE_ONEDNN();
    struct C {
        int64_t c;
        int x_kind;  // the activation: 0 int8, 1 int8 after a ReLU (u8 storage), 2 uint8 (0..254)
        DataType gate_t;
        bool per_sample;
        int out, yzp;
        bool relu;
    };
    using D = DataType;
    for (const C& c :
         {C{16, 0, D::kUint8, true, fused::kOnnxInt8, 0, false}, C{40, 1, D::kInt8, true, fused::kOnnxInt8, -3, false},
          C{8, 0, D::kUint8, false, fused::kOnnxUint8, 7, true},
          C{96, 2, D::kInt8, true, fused::kOnnxUint8, 128, false},
          C{144, 1, D::kUint8, false, fused::kOnnxInt8, 5, true}, C{48, 2, D::kUint8, true, fused::kOnnxInt8, 0, true},
          // Whole 64-channel steps (packs, then the bounds on the bytes) with a ReLU that binds.
          C{128, 0, D::kInt8, true, fused::kOnnxInt8, -2, true},
          C{64, 0, D::kInt8, false, fused::kOnnxUint8, 100, true}}) {
        SCOPED_TRACE("C " + std::to_string(c.c) + " activation " + std::to_string(c.x_kind) + " gate " +
                     dtype_name(c.gate_t) + (c.per_sample ? " per sample" : " shared") + " out " +
                     std::to_string(c.out) + " zp " + std::to_string(c.yzp) + (c.relu ? " relu" : ""));
        ir::Graph g;
        const float xs = 0.03f;
        ir::Value* x = g.add_input("x", D::kInt8, Shape{Dim::symbolic("N"), c.c, 12, 12});
        Tensor eye = Tensor::zeros(D::kInt8, {c.c, c.c, 1, 1});
        for (int64_t i = 0; i < c.c; ++i) eye.data<int8_t>()[i * c.c + i] = 1;
        ir::Node* id = g.add_node(fused::kQConv, {x, constant(g, "eye", eye)}, {"act"}, "act", fused::kDomain);
        id->set_attr("x_scale", f32(c.x_kind == 2 ? 2 * xs : xs));
        id->set_attr("w_scales", floats({1.0f}));
        id->set_attr("y_scale", f32(xs));
        id->set_attr("out_dtype", i64(c.x_kind == 2 ? fused::kOnnxUint8 : fused::kOnnxInt8));
        if (c.x_kind == 1) id->set_attr("post_ops", strs({"relu"}));
        id->output(0)->set_shape(Shape{Dim::symbolic("N"), c.c, 12, 12});
        ir::Value* gate = g.add_input("gate", c.gate_t, Shape{c.per_sample ? Dim::symbolic("N") : Dim(1), c.c, 1, 1});
        ir::Node* m = g.add_node(fused::kQMul, {id->output(0), gate}, {"y"}, "scale", fused::kDomain);
        m->set_attr("a_scale", f32(xs));
        m->set_attr("b_scale", f32(c.gate_t == D::kUint8 ? 1.0f / 255.0f : 1.0f / 127.0f));
        m->set_attr("y_scale", f32(0.011f));
        m->set_attr("y_zero_point", i64(c.yzp));
        m->set_attr("out_dtype", i64(c.out));
        if (c.relu) m->set_attr("post_ops", strs({"relu"}));
        m->output(0)->set_shape(Shape{Dim::symbolic("N"), c.c, 12, 12});
        g.add_output(m->output(0));
        auto gate_of = [&](int64_t n, uint32_t seed) {
            return c.gate_t == D::kUint8 ? rand_q(D::kUint8, {c.per_sample ? n : 1, c.c, 1, 1}, seed, 0, 255)
                                         : rand_q(D::kInt8, {c.per_sample ? n : 1, c.c, 1, 1}, seed, -127, 127);
        };
        Expect e;
        e.threads = 2;
        e.max_differ_share = 0.01;
        // The machine's features checked here, not through the code that picks the loop.
        if (has_vnni_kernel()) {
            e.impls = {{"scale", "qat:channel_scale_q8"}};
        } else {
            std::printf("[ INFO     ] no AVX-512 here: QMul runs on oneDNN's binary kernel, impl not checked\n");
        }
        e.more_inputs = {{rand_q(D::kInt8, {1, c.c, 12, 12}, 5, -128, 127), gate_of(1, 6)}};
        check_against_ref(g, {rand_q(D::kInt8, {3, c.c, 12, 12}, 3, -128, 127), gate_of(3, 4)}, e);
    }
}

// The INT8 global average pool of a channels-last tensor on our loop (global_pool.h): an identity
// 1x1 QConv hands the graph's int8 input over channels-last (exactly; after a ReLU in u8
// storage; or as uint8 with zero point 7 (x_scale = y_scale / 2: 2x + 7, saturated)), then
// QGlobalAveragePool to int8 / uint8 / float. Channel counts with a 16- and a 32-channel tail and
// under 16, images split between 2 threads (32 KB and more) and whole images per thread, and
// runs of more than 128 pixels (the int16 partial sums). Within one step of the reference, on at
// most 2% of the outputs.
TEST(OnednnInt8, QGlobalAveragePoolOwnLoop) {
    QAT_REQUIRE_ONEDNN();
    struct C {
        int64_t n, c, h, w;
        int x_kind;  // 0 int8, 1 int8 after a ReLU (u8 storage), 2 uint8 with zero point 7
        int out, yzp;
    };
    for (const C& c : {C{2, 32, 12, 12, 0, fused::kOnnxInt8, 0}, C{1, 40, 9, 7, 1, fused::kOnnxInt8, -4},
                       C{3, 8, 5, 5, 2, fused::kOnnxUint8, 100}, C{1, 48, 80, 80, 0, fused::kOnnxInt8, 3},
                       C{1, 144, 6, 6, 0, fused::kOnnxInt8, 1}, C{1, 80, 40, 40, 2, fused::kOnnxFloat, 0},
                       C{2, 528, 4, 4, 1, fused::kOnnxUint8, 0}}) {
        SCOPED_TRACE("N " + std::to_string(c.n) + " C " + std::to_string(c.c) + " " + std::to_string(c.h) + "x" +
                     std::to_string(c.w) + " activation " + std::to_string(c.x_kind) + " out " + std::to_string(c.out) +
                     " zp " + std::to_string(c.yzp));
        ir::Graph g;
        const float xs = 0.03f;
        ir::Value* x = g.add_input("x", DataType::kInt8, Shape{Dim::symbolic("N"), c.c, c.h, c.w});
        Tensor eye = Tensor::zeros(DataType::kInt8, {c.c, c.c, 1, 1});
        for (int64_t i = 0; i < c.c; ++i) eye.data<int8_t>()[i * c.c + i] = 1;
        ir::Node* id = g.add_node(fused::kQConv, {x, constant(g, "eye", eye)}, {"act"}, "act", fused::kDomain);
        id->set_attr("x_scale", f32(c.x_kind == 2 ? 2 * xs : xs));
        id->set_attr("w_scales", floats({1.0f}));
        id->set_attr("y_scale", f32(xs));
        id->set_attr("out_dtype", i64(c.x_kind == 2 ? fused::kOnnxUint8 : fused::kOnnxInt8));
        if (c.x_kind == 2) id->set_attr("y_zero_point", i64(7));
        if (c.x_kind == 1) id->set_attr("post_ops", strs({"relu"}));
        id->output(0)->set_shape(Shape{Dim::symbolic("N"), c.c, c.h, c.w});
        ir::Node* p = g.add_node(fused::kQGlobalAveragePool, {id->output(0)}, {"y"}, "gap", fused::kDomain);
        p->set_attr("x_scale", f32(xs));
        p->set_attr("x_zero_point", i64(c.x_kind == 2 ? 7 : 0));
        p->set_attr("out_dtype", i64(c.out));
        if (c.out != fused::kOnnxFloat) {
            p->set_attr("y_scale", f32(0.004f));
            p->set_attr("y_zero_point", i64(c.yzp));
        }
        p->output(0)->set_shape(Shape{Dim::symbolic("N"), c.c, 1, 1});
        g.add_output(p->output(0));
        Expect e;
        e.threads = 2;
        e.max_differ_share = 0.02;
        if (has_vnni_kernel()) {
            e.impls = {{"gap", "qat:gap_q8_nhwc"}};
        } else {
            std::printf("[ INFO     ] no AVX-512 here: the pool runs on oneDNN, impl not checked\n");
        }
        check_against_ref(g, {rand_q(DataType::kInt8, {c.n, c.c, c.h, c.w}, 7, -128, 127)}, e);
    }
}

// Swish 1x1 convolutions (pointwise_int8.h) between oneDNN ones: channels-last in and out, a
// residual accumulated in place over its buffer when this op is its last reader, or into a new
// buffer when the residual is also a graph output; dynamic batch, 2 threads.
void swish_net(bool residual_is_output) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 10, 10});
    ir::Node* q =
        g.add_node("QuantizeLinear",
                   {x, constant(g, "qs", Tensor::scalar<float>(0.02f)), constant(g, "qz", Tensor::scalar<int8_t>(0))},
                   {"xq"}, "quant");
    ir::Node* c1 = qconv(g, q->output(0), 3, 24, 3, "c1", {"swish"});
    ir::Node* c2 = qconv(g, c1->output(0), 24, 40, 1, "c2", {"swish"});
    ir::Node* c3 = qconv(g, c2->output(0), 40, 24, 1, "c3", {"add", "swish"}, c1->output(0));
    g.add_output(c3->output(0));
    if (residual_is_output) g.add_output(c1->output(0));
    Expect e;
    e.threads = 2;
    // Each op is within 1 step of the reference; a one-step difference in c1 or c2 feeds the next
    // convolution, so c3 gets 2.
    e.lsb = 2;
    e.more_inputs = {{rand_f32({3, 3, 10, 10}, 5, -2, 2)}};
    if (has_vnni_kernel()) e.impls = {{"c2", "qat:int8_1x1"}, {"c3", "qat:int8_1x1"}};
    check_against_ref(g, {rand_f32({2, 3, 10, 10}, 6, -2, 2)}, e);
}

TEST(OnednnInt8, SwishNetInPlaceResidual) {
    QAT_REQUIRE_ONEDNN();
    swish_net(false);
}

TEST(OnednnInt8, SwishNetResidualAlsoGraphOutput) {
    QAT_REQUIRE_ONEDNN();
    swish_net(true);
}

TEST(OnednnInt8, QuantizedNetLayoutHandOffInPlaceResidual) {
    QAT_REQUIRE_ONEDNN();
    quantized_net(false);
}

TEST(OnednnInt8, QuantizedNetResidualAlsoGraphOutput) {
    QAT_REQUIRE_ONEDNN();
    quantized_net(true);
}

}  // namespace
}  // namespace qat::onednn_test
