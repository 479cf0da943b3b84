// The calibration driver on tiny graphs built with the IR builder: observers against values
// computed here by hand (a naive convolution), fixed-batch padding, data-pass accounting, the
// quantize hook vs the table path, recalibration of an existing QDQ model, the calibration
// table and TensorRT cache round trips, and `compare` on a deliberately mis-scaled layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "ir/builder.h"
#include "ir/verify.h"
#include "passes/quant/insert_qdq.h"
#include "quant/calib_table.h"
#include "quant/calibrate.h"
#include "quant/calibrated.h"
#include "quant/compare.h"
#include "quant/quantize.h"
#include "quant/trt_cache.h"

namespace qat::quant {
namespace {

Tensor random_batch(std::vector<int64_t> dims, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    Tensor t = Tensor::empty(DataType::kFloat32, dims);
    for (int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = lo + (hi - lo) * static_cast<float>((rng() >> 8) * (1.0 / 16777216.0));
    return t;
}

// input [N,2,6,6] -> c1 (Conv 4x3x3, pad 1) -> r1 (Relu) -> c2 (Conv 3x1x1) -> r2 -> gap -> flat -> fc (5)
std::unique_ptr<ir::Graph> tiny_cnn(uint64_t seed = 3) {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, seed);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 2, 6, 6});
    ir::Value* y = b.conv(x, {.out_channels = 4, .kernel = 3, .pad = 1}, "c1");
    y = b.relu(y, "r1");
    y = b.conv(y, {.out_channels = 3, .kernel = 1, .pad = 0}, "c2");
    y = b.relu(y, "r2");
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flat");
    y = b.with_output_name("logits").gemm(y, 5, "fc");
    b.output(y);
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

// Naive NCHW convolution, stride 1, symmetric padding: the oracle for c1.
std::vector<float> conv_ref(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t pad) {
    int64_t n = x.dim(0), ci = x.dim(1), h = x.dim(2), wd = x.dim(3), co = w.dim(0), k = w.dim(2);
    int64_t oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
    std::vector<float> out(static_cast<size_t>(n * co * oh * ow));
    const float* xp = x.data<float>();
    const float* wp = w.data<float>();
    for (int64_t b = 0; b < n; ++b)
        for (int64_t o = 0; o < co; ++o)
            for (int64_t i = 0; i < oh; ++i)
                for (int64_t j = 0; j < ow; ++j) {
                    double acc = bias.defined() ? bias.data<float>()[o] : 0.0;
                    for (int64_t c = 0; c < ci; ++c)
                        for (int64_t u = 0; u < k; ++u)
                            for (int64_t v = 0; v < k; ++v) {
                                int64_t yy = i + u - pad, xx = j + v - pad;
                                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                                acc += static_cast<double>(xp[((b * ci + c) * h + yy) * wd + xx]) *
                                       wp[((o * ci + c) * k + u) * k + v];
                            }
                    out[static_cast<size_t>(((b * co + o) * oh + i) * ow + j)] = static_cast<float>(acc);
                }
    return out;
}

std::vector<Tensor> batches(int n, int64_t rows, uint32_t seed) {
    std::vector<Tensor> v;
    for (int i = 0; i < n; ++i)
        v.push_back(random_batch({rows, 2, 6, 6}, seed + static_cast<uint32_t>(i), -2.0f, 2.0f));
    return v;
}

float activation_scale(const ir::Graph& g, const std::string& tensor) {
    const ir::Value* v = g.find_value(tensor);
    if (!v) return -1;
    for (const ir::Use& u : v->uses())
        if (u.node->op_type() == "QuantizeLinear")
            return static_cast<float>(u.node->input(1)->constant().get_as_double(0));
    return -1;
}

TEST(CollectObservers, MatchValuesComputedByHand) {
    auto g = tiny_cnn();
    std::vector<Tensor> data = batches(3, 4, 100);
    auto src = make_tensor_source(data);
    CollectOptions o;
    auto obs = collect_observers(*g, {"input", "c1", "r1"}, *src, o);
    ASSERT_TRUE(obs.ok()) << obs.status().to_string();
    double in_max = 0, c1_max = 0, c1_min = 1e30, r1_max = 0;
    const Tensor& w = g->find_value("c1.weight")->constant();
    const Tensor& bias = g->find_value("c1.bias")->constant();
    for (const Tensor& x : data) {
        for (int64_t i = 0; i < x.numel(); ++i) in_max = std::max(in_max, std::fabs((double)x.data<float>()[i]));
        for (float v : conv_ref(x, w, bias, 1)) {
            c1_max = std::max(c1_max, (double)std::fabs(v));
            c1_min = std::min(c1_min, (double)v);
            r1_max = std::max(r1_max, (double)std::max(v, 0.0f));
        }
    }
    EXPECT_DOUBLE_EQ(obs->at("input").amax(), in_max);
    EXPECT_NEAR(obs->at("c1").amax(), c1_max, 1e-5 * c1_max);
    EXPECT_NEAR(obs->at("c1").min(), c1_min, 1e-5 * std::fabs(c1_min));
    EXPECT_NEAR(obs->at("r1").amax(), r1_max, 1e-5 * r1_max);
    EXPECT_GE(obs->at("r1").min(), 0.0);
    EXPECT_EQ(obs->at("c1").count(), 3 * 4 * 4 * 36);
    EXPECT_EQ(obs->at("c1").batches(), 3);
}

TEST(CollectObservers, Errors) {
    auto g = tiny_cnn();
    auto src = make_tensor_source(batches(1, 2, 1));
    auto r = collect_observers(*g, {"nope"}, *src, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("'nope'"), std::string::npos);
    auto empty = make_tensor_source({});
    r = collect_observers(*g, {"c1"}, *empty, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("empty"), std::string::npos) << r.status().message();
    // Data of the wrong shape: the plan names the input and both shapes.
    auto bad = make_tensor_source({random_batch({2, 3, 6, 6}, 1)});
    r = collect_observers(*g, {"c1"}, *bad, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("input"), std::string::npos) << r.status().to_string();
}

TEST(CollectObservers, FixedBatchPaddingIsNotObserved) {
    // y = x + 1 on a model with a static batch of 4; data in [1, 2] so y is in [2, 3], while a
    // zero-padded row would show y = 1.
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{4, 3});
    ir::Value* one = b.scalar("one", 1.0f);
    b.output(b.add(x, one, "y"));
    ASSERT_TRUE(b.status().ok());
    auto src = make_tensor_source({random_batch({4, 3}, 1, 1, 2), random_batch({2, 3}, 2, 1, 2)});
    auto obs = collect_observers(g, {"y", "x"}, *src, {});
    ASSERT_TRUE(obs.ok()) << obs.status().to_string();
    EXPECT_GE(obs->at("y").min(), 2.0);
    EXPECT_EQ(obs->at("y").count(), 18);
    EXPECT_EQ(obs->at("x").count(), 18);
    auto too_big = make_tensor_source({random_batch({5, 3}, 1)});
    auto r = collect_observers(g, {"y"}, *too_big, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("fixed batch of 4"), std::string::npos) << r.status().message();
}

TEST(CalibrationSession, ReadsTheDataOncePerNewTensor) {
    auto g = tiny_cnn();
    auto src = make_tensor_source(batches(2, 3, 7));
    CalibrationSession s(src.get(), {});
    ASSERT_TRUE(s.observe(*g, {"input", "r1"}).ok());
    ASSERT_TRUE(s.observe(*g, {"r1"}).ok());
    EXPECT_EQ(s.passes(), 1);
    ASSERT_TRUE(s.observe(*g, {"r2", "r1"}).ok());
    EXPECT_EQ(s.passes(), 2);
    // Another structure (a node renamed): a fresh observer set.
    auto g2 = tiny_cnn();
    g2->find_node("fc")->set_name("fc_other");
    ASSERT_TRUE(s.observe(*g2, {"r1"}).ok());
    EXPECT_EQ(s.passes(), 3);
    EXPECT_EQ(s.observers().size(), 1u);
}

TEST(CalibrationSession, QuantizeHookEqualsTablePath) {
    auto src = make_tensor_source(batches(2, 4, 11));
    CalibrationSession s(src.get(), {});
    CalibratorOptions c;
    c.method = CalibMethod::kMax;
    auto a = tiny_cnn();
    QuantizeOptions qa;
    qa.activation_ranges = s.range_fn(c);
    auto sa = quantize_graph(*a, qa);
    ASSERT_TRUE(sa.ok()) << sa.status().to_string();
    EXPECT_TRUE(sa->calibrated);
    EXPECT_FALSE(is_uncalibrated(*a));
    std::vector<std::string> tensors = qdq_activation_tensors(*a);
    ASSERT_FALSE(tensors.empty());
    // The table, written and read back, gives the same scales through --calib-table.
    auto table = s.table(tensors, c, true);
    ASSERT_TRUE(table.ok()) << table.status().to_string();
    auto back = parse_calib_table(serialize_calib_table(*table), "t.json");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->method, "max");
    ASSERT_EQ(back->tensors.size(), tensors.size());
    for (const auto& t : tensors) {
        EXPECT_FLOAT_EQ(back->tensors.at(t).amax, table->tensors.at(t).amax) << t;
        ASSERT_TRUE(back->tensors.at(t).histogram.has_value());
        EXPECT_EQ(back->tensors.at(t).histogram->counts, s.observers().at(t).histogram().counts()) << t;
        // max: the exact max |x| seen.
        EXPECT_FLOAT_EQ(table->tensors.at(t).amax, static_cast<float>(s.observers().at(t).amax())) << t;
    }
    auto b = tiny_cnn();
    QuantizeOptions qb;
    qb.calib_table = *back;
    ASSERT_TRUE(quantize_graph(*b, qb).ok());
    for (const auto& t : tensors) {
        EXPECT_FLOAT_EQ(activation_scale(*a, t), activation_scale(*b, t)) << t;
        EXPECT_FLOAT_EQ(activation_scale(*a, t), table->tensors.at(t).amax / 127.0f) << t;
    }
}

TEST(Recalibrate, ExistingQdqModelGetsTheSameScales) {
    auto g = tiny_cnn();
    QuantizeOptions q;  // no ranges: placeholder scales, marked uncalibrated
    ASSERT_TRUE(quantize_graph(*g, q).ok());
    ASSERT_TRUE(is_uncalibrated(*g));
    auto src = make_tensor_source(batches(2, 4, 21));
    CalibrationSession s(src.get(), {});
    auto fp32 = strip_qdq_copy(*g);
    ASSERT_TRUE(fp32.ok()) << fp32.status().to_string();
    auto tensors = qdq_activation_tensors(*g);
    ASSERT_TRUE(s.observe(**fp32, tensors).ok());
    CalibratorOptions c;
    c.method = CalibMethod::kPercentile;
    c.percentile = 99.0;
    auto amax = s.amax(tensors, c);
    ASSERT_TRUE(amax.ok());
    ASSERT_TRUE(set_activation_scales(*g, *amax).ok());
    EXPECT_FALSE(is_uncalibrated(*g));
    EXPECT_TRUE(ir::verify(*g).ok());
    for (const auto& t : tensors) {
        float want = amax->at(t) / 127.0f;
        EXPECT_FLOAT_EQ(activation_scale(*g, t), want) << t;
        // The DQ reading that Q has the same scale.
        const ir::Node* qn = nullptr;
        for (const ir::Use& u : g->find_value(t)->uses())
            if (u.node->op_type() == "QuantizeLinear") qn = u.node;
        ASSERT_NE(qn, nullptr);
        for (const ir::Use& u : qn->output(0)->uses())
            EXPECT_FLOAT_EQ(static_cast<float>(u.node->input(1)->constant().get_as_double(0)), want);
    }
}

// t1, t2 -> Q/DQ each -> Concat -> out; scales as given.
std::unique_ptr<ir::Graph> concat_qdq(float s1, float s2) {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* a = g->add_input("a", DataType::kFloat32, Shape{1, 2});
    ir::Value* b = g->add_input("b", DataType::kFloat32, Shape{1, 2});
    ir::Value* outs[2];
    int k = 0;
    for (auto [v, s] : {std::pair{a, s1}, std::pair{b, s2}}) {
        std::string n = v->name();
        ir::Value* sc = g->add_initializer(n + "_scale", Tensor::scalar<float>(s));
        ir::Value* zp = g->add_initializer(n + "_zp", Tensor::scalar<int8_t>(0));
        ir::Node* q = g->add_node("QuantizeLinear", {v, sc, zp}, {n + "_q"}, n + "_Q");
        ir::Node* dq = g->add_node("DequantizeLinear", {q->output(0), sc, zp}, {n + "_dq"}, n + "_DQ");
        outs[k++] = dq->output(0);
    }
    ir::Node* c = g->add_node("Concat", {outs[0], outs[1]}, {"out"}, "cat");
    c->set_attr("axis", ir::Attribute::from_int(1));
    g->add_output(c->output(0));
    return g;
}

TEST(Recalibrate, ConcatInputsThatSharedAScaleKeepSharingIt) {
    auto g = concat_qdq(1.0f, 1.0f);
    ASSERT_TRUE(set_activation_scales(*g, {{"a", 2.0f}, {"b", 5.0f}}).ok());
    EXPECT_FLOAT_EQ(activation_scale(*g, "a"), 5.0f / 127);
    EXPECT_FLOAT_EQ(activation_scale(*g, "b"), 5.0f / 127);
    auto h = concat_qdq(0.5f, 1.0f);
    ASSERT_TRUE(set_activation_scales(*h, {{"a", 2.0f}, {"b", 5.0f}}).ok());
    EXPECT_FLOAT_EQ(activation_scale(*h, "a"), 2.0f / 127);
    EXPECT_FLOAT_EQ(activation_scale(*h, "b"), 5.0f / 127);
    // A missing range names the tensor.
    auto m = concat_qdq(1.0f, 1.0f);
    Status s = set_activation_scales(*m, {{"a", 2.0f}});
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("'b'"), std::string::npos);
}

TEST(Recalibrate, RefusesUint8) {
    auto g = concat_qdq(1.0f, 1.0f);
    g->find_value("a_zp")->set_constant(Tensor::scalar<uint8_t>(128));
    Status s = set_activation_scales(*g, {{"a", 2.0f}, {"b", 5.0f}});
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("u8"), std::string::npos) << s.message();
}

// ---- TensorRT cache ----------------------------------------------------------------------

TEST(TrtCache, HexIsBigEndianFloatBits) {
    EXPECT_EQ(float_to_be_hex(1.0f), "3f800000");
    EXPECT_EQ(float_to_be_hex(0.0078125f), "3c000000");  // 2^-7
    EXPECT_EQ(float_to_be_hex(-2.5f), "c0200000");
    EXPECT_FLOAT_EQ(*be_hex_to_float("3F800000", "x"), 1.0f);
    EXPECT_FALSE(be_hex_to_float("3f80000", "x").ok());
    EXPECT_FALSE(be_hex_to_float("3f80000g", "x").ok());
}

TEST(TrtCache, RoundTripIsBitExact) {
    TrtCache c;
    std::mt19937 rng(5);
    for (int i = 0; i < 50; ++i) {
        float s = std::ldexp(static_cast<float>(rng() % 100000 + 1), -static_cast<int>(rng() % 30));
        c.entries.push_back({"t" + std::to_string(i) + (i % 7 == 0 ? ":0" : ""), s});
    }
    std::string text = serialize_trt_cache(c);
    EXPECT_EQ(text.rfind("TRT-8601-EntropyCalibration2\n", 0), 0u);
    auto back = parse_trt_cache(text, "c.cache");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->header, c.header);
    ASSERT_EQ(back->entries.size(), c.entries.size());
    for (size_t i = 0; i < c.entries.size(); ++i) {
        EXPECT_EQ(back->entries[i].tensor, c.entries[i].tensor);
        EXPECT_EQ(float_to_be_hex(back->entries[i].scale), float_to_be_hex(c.entries[i].scale));
    }
}

TEST(TrtCache, ParseErrorsNameTheLine) {
    auto r = parse_trt_cache("input: 3f800000\n", "c.cache");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("line 1"), std::string::npos);
    r = parse_trt_cache("TRT-8601-EntropyCalibration2\ninput 3f800000\n", "c.cache");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("line 2"), std::string::npos);
    r = parse_trt_cache("TRT-8601-EntropyCalibration2\na: 3f800000\na: 3f800000\n", "c.cache");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("twice"), std::string::npos);
    r = parse_trt_cache("TRT-8601-EntropyCalibration2\na: 7fc00000\n", "c.cache");  // NaN
    ASSERT_FALSE(r.ok());
    r = parse_trt_cache("", "c.cache");
    ASSERT_FALSE(r.ok());
}

// ---- compare ---------------------------------------------------------------------------

TEST(Compare, RanksADeliberatelyMisScaledLayerFirst) {
    auto fp32 = tiny_cnn(9);
    auto src = make_tensor_source(batches(3, 8, 31));
    CalibrationSession s(src.get(), {});
    auto q = fp32->clone();
    QuantizeOptions qo;
    qo.activation_ranges = s.range_fn({});
    ASSERT_TRUE(quantize_graph(*q, qo).ok());
    // Mis-scale c2's input quantizer: 40x too coarse.
    ir::Node* dq = nullptr;
    const ir::Value* in = q->find_node("c2")->input(0);
    ASSERT_TRUE(in->producer() && in->producer()->op_type() == "DequantizeLinear");
    dq = in->producer();
    ir::Node* qn = dq->input(0)->producer();
    float sc = static_cast<float>(qn->input(1)->constant().get_as_double(0));
    ir::Value* big = q->add_initializer("c2_bad_scale", Tensor::scalar<float>(sc * 40));
    q->set_input(qn, 1, big);
    q->set_input(dq, 1, big);
    CompareOptions co;
    auto r = compare_models(*fp32, *q, *src, co);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_FALSE(r->layers.empty());
    EXPECT_EQ(r->layers[0].node, "c2") << format_compare_report(*r);
    ASSERT_TRUE(r->layers[0].own.has_value());
    // Layers fed by float inputs keep a good own SQNR.
    for (const auto& l : r->layers) {
        if (l.node == "c1") {
            EXPECT_GT(l.own->sqnr_db(), 25.0) << format_compare_report(*r);
        }
    }
    EXPECT_EQ(r->samples, 24);
    EXPECT_TRUE(r->unmatched.empty());
    // A model without Q/DQ has no quantized layer to compare.
    auto same = compare_models(*fp32, *fp32, *src, co);
    EXPECT_FALSE(same.ok());  // no quantized layer at all
}

TEST(Compare, ErrorStatsFormulas) {
    ErrorStats e;
    std::vector<float> ref = {1, 2, 3, 4}, test = {1, 2, 3, 5};
    e.add(ref.data(), test.data(), 4);
    EXPECT_NEAR(e.sqnr_db(), 10 * std::log10(30.0 / 1.0), 1e-12);
    EXPECT_NEAR(e.cosine(), (1 + 4 + 9 + 20) / std::sqrt(30.0 * 39.0), 1e-12);
    EXPECT_DOUBLE_EQ(e.max_abs, 1.0);
    ErrorStats z;
    z.add(ref.data(), ref.data(), 4);
    EXPECT_TRUE(std::isinf(z.sqnr_db()) && z.sqnr_db() > 0);
}

}  // namespace
}  // namespace qat::quant
