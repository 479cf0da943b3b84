// Reference element-wise kernels: the broadcasting helper, unary and binary ops, integer Div and
// Pow, Clip, PRelu, comparisons, Where, Max/Min and the error messages. Expected values come
// from formulas written here (often a different formula than the kernel's, e.g. HardSwish as
// x * relu6(x + 3) / 6) or from arithmetic worked out by hand in the comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>

#include "backends/ref/broadcast.h"
#include "ref_test_util.h"

namespace qat {
namespace {

using testing::float_attr;
using testing::random_tensor;
using testing::run_node;

// The message of a failed run, or a marker that makes the EXPECTs below fail readably.
template <typename R>
std::string error_of(const R& r) {
    return r.ok() ? std::string("<unexpectedly succeeded>") : r.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Flat index of multi-index `idx` in a tensor of dims `dims` that broadcasts into a larger
// shape: independent of the helper under test (div/mod per dim instead of an odometer).
int64_t broadcast_index(int64_t out_flat, const std::vector<int64_t>& out_dims, const std::vector<int64_t>& dims) {
    std::vector<int64_t> idx(out_dims.size());
    for (size_t d = out_dims.size(); d-- > 0;) {
        idx[d] = out_flat % out_dims[d];
        out_flat /= out_dims[d];
    }
    int64_t flat = 0;
    const size_t lead = out_dims.size() - dims.size();
    for (size_t d = 0; d < dims.size(); ++d) flat = flat * dims[d] + (dims[d] == 1 ? 0 : idx[lead + d]);
    return flat;
}

// ---- broadcasting helper ----

TEST(RefBroadcast, Shapes) {
    std::vector<int64_t> out;
    ASSERT_TRUE(ref::broadcast_shapes({2, 3}, {3}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{2, 3}));
    ASSERT_TRUE(ref::broadcast_shapes({2, 1, 4}, {3, 1}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{2, 3, 4}));
    ASSERT_TRUE(ref::broadcast_shapes({}, {2, 2}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{2, 2}));
    // 0-size dims meet 0 or 1 only.
    ASSERT_TRUE(ref::broadcast_shapes({0, 3}, {1, 3}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{0, 3}));
    ASSERT_TRUE(ref::broadcast_shapes({2, 0}, {1}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{2, 0}));
    ASSERT_TRUE(ref::broadcast_shapes({1}, {0}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{0}));
    out = {42};
    EXPECT_FALSE(ref::broadcast_shapes({0}, {2}, &out));
    EXPECT_FALSE(ref::broadcast_shapes({2, 3}, {4}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{42}));  // untouched on failure
    ASSERT_TRUE(ref::broadcast_shapes({{2, 1, 1}, {1, 3, 1}, {4}}, &out));
    EXPECT_EQ(out, (std::vector<int64_t>{2, 3, 4}));
    EXPECT_FALSE(ref::broadcast_shapes({{2, 1}, {1, 3}, {2}}, &out));

    EXPECT_TRUE(ref::broadcastable_to({3, 1}, {2, 3, 4}));
    EXPECT_TRUE(ref::broadcastable_to({}, {2}));
    EXPECT_FALSE(ref::broadcastable_to({2, 3, 4}, {3, 4}));  // rank may not grow
    EXPECT_FALSE(ref::broadcastable_to({3, 4}, {3, 1}));     // unidirectional: only `from` stretches
}

TEST(RefBroadcast, OffsetsMatchIndexArithmetic) {
    const std::vector<int64_t> out = {2, 3, 4, 5};
    const std::vector<int64_t> a = {3, 1, 5}, b = {2, 1, 4, 1}, c = {};
    int64_t visited = 0;
    ref::for_each_broadcast<3>(out, {a, b, c}, [&](int64_t i, const std::array<int64_t, 3>& off) {
        EXPECT_EQ(i, visited++);
        EXPECT_EQ(off[0], broadcast_index(i, out, a)) << "element " << i;
        EXPECT_EQ(off[1], broadcast_index(i, out, b)) << "element " << i;
        EXPECT_EQ(off[2], 0);
    });
    EXPECT_EQ(visited, 2 * 3 * 4 * 5);
    visited = 0;
    ref::for_each_broadcast<1>({3, 0, 2}, {std::vector<int64_t>{1, 0, 2}},
                               [&](int64_t, const std::array<int64_t, 1>&) { ++visited; });
    EXPECT_EQ(visited, 0);
}

// ---- binary arithmetic ----

TEST(RefBinary, AddSubMulDivBroadcastFloat) {
    Tensor a = random_tensor({2, 3, 4}, 1);
    Tensor b = random_tensor({3, 1}, 2, 0.5f, 2.0f);
    const std::vector<int64_t> out = {2, 3, 4};
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
        auto r = run_node(op, {a, b});
        ASSERT_TRUE(r.ok()) << op << ": " << r.status().to_string();
        std::vector<float> want;
        for (int64_t i = 0; i < 24; ++i) {
            const float x = a.data<float>()[i];
            const float y = b.data<float>()[(i / 4) % 3];
            const std::string o = op;
            want.push_back(o == "Add" ? x + y : o == "Sub" ? x - y : o == "Mul" ? x * y : x / y);
        }
        testing::expect_near((*r)[0], out, want, 1e-6f);
    }
}

TEST(RefBinary, ZeroSizeBroadcast) {
    auto r = run_node("Add", {Tensor::zeros(DataType::kFloat32, {0, 3}), random_tensor({1, 3}, 3)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{0, 3}));
    EXPECT_EQ((*r)[0].numel(), 0);
    auto r2 = run_node("Mul", {Tensor::zeros(DataType::kInt32, {2, 0}), Tensor::scalar<int32_t>(4)});
    ASSERT_TRUE(r2.ok()) << r2.status().to_string();
    EXPECT_EQ((*r2)[0].dims(), (std::vector<int64_t>{2, 0}));
    auto bad = run_node("Add", {Tensor::zeros(DataType::kFloat32, {0}), random_tensor({2}, 4)});
    EXPECT_TRUE(contains(error_of(bad), "cannot broadcast [0] with [2]")) << error_of(bad);
}

TEST(RefBinary, ShapeMismatchNamesNodeAndBothShapes) {
    auto r = run_node("Add", {random_tensor({2, 3}, 5), random_tensor({4}, 6)});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "Add 'node': cannot broadcast [2,3] with [4]");
    auto mixed = run_node("Mul", {random_tensor({2}, 7), Tensor::from_vector<int32_t>({2}, {1, 2})});
    EXPECT_TRUE(contains(error_of(mixed), "Mul 'node': inputs have different dtypes f32 and i32")) << error_of(mixed);
    auto prelu = run_node("PRelu", {random_tensor({2, 3}, 8), random_tensor({2}, 9)});
    EXPECT_TRUE(contains(error_of(prelu), "cannot broadcast slope [2] to X [2,3]")) << error_of(prelu);
    auto boolean = run_node("Add", {Tensor::from_vector<bool>({1}, {true}), Tensor::from_vector<bool>({1}, {true})});
    EXPECT_TRUE(contains(error_of(boolean), "bool")) << error_of(boolean);
    // A broadcast that would need 2^40 elements is refused before any allocation.
    auto huge = run_node(
        "Add", {Tensor::zeros(DataType::kFloat32, {1 << 20, 1}), Tensor::zeros(DataType::kFloat32, {1, 1 << 20})});
    EXPECT_TRUE(contains(error_of(huge), "larger than")) << error_of(huge);
}

TEST(RefBinary, IntegerArithmeticWraps) {
    auto r8 = run_node("Add", {Tensor::from_vector<int8_t>({3}, {127, -128, 5}), Tensor::scalar<int8_t>(1)});
    ASSERT_TRUE(r8.ok()) << r8.status().to_string();
    EXPECT_EQ((*r8)[0].to_vector<int8_t>(), (std::vector<int8_t>{-128, -127, 6}));
    const int32_t kMax = std::numeric_limits<int32_t>::max(), kMin = std::numeric_limits<int32_t>::min();
    auto r32 =
        run_node("Sub", {Tensor::from_vector<int32_t>({2}, {kMin, 0}), Tensor::from_vector<int32_t>({2}, {1, kMin})});
    ASSERT_TRUE(r32.ok()) << r32.status().to_string();
    EXPECT_EQ((*r32)[0].to_vector<int32_t>(), (std::vector<int32_t>{kMax, kMin}));  // 0 - INT_MIN wraps to INT_MIN
    // uint8 product 200 * 3 = 600 = 2 * 256 + 88.
    auto ru8 =
        run_node("Mul", {Tensor::from_vector<uint8_t>({2}, {200, 7}), Tensor::from_vector<uint8_t>({2}, {3, 9})});
    ASSERT_TRUE(ru8.ok()) << ru8.status().to_string();
    EXPECT_EQ((*ru8)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{88, 63}));
}

TEST(RefBinary, IntegerDivTruncatesTowardZero) {
    const int32_t kMin = std::numeric_limits<int32_t>::min();
    auto r = run_node("Div", {Tensor::from_vector<int32_t>({6}, {7, -7, 7, -7, 1, kMin}),
                              Tensor::from_vector<int32_t>({6}, {2, 2, -2, -2, 3, -1})});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    // Truncation, not floor: -7 / 2 = -3 (floor would give -4). INT_MIN / -1 wraps (no trap).
    EXPECT_EQ((*r)[0].to_vector<int32_t>(), (std::vector<int32_t>{3, -3, -3, 3, 0, kMin}));

    auto r8 = run_node(
        "Div", {Tensor::from_vector<int8_t>({2, 2}, {-9, 9, 100, -100}), Tensor::from_vector<int8_t>({2}, {4, -7})});
    ASSERT_TRUE(r8.ok()) << r8.status().to_string();
    EXPECT_EQ((*r8)[0].to_vector<int8_t>(), (std::vector<int8_t>{-2, -1, 25, 14}));

    auto u8 = run_node("Div", {Tensor::from_vector<uint8_t>({3}, {255, 17, 3}), Tensor::scalar<uint8_t>(4)});
    ASSERT_TRUE(u8.ok()) << u8.status().to_string();
    EXPECT_EQ((*u8)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{63, 4, 0}));

    auto zero = run_node("Div", {Tensor::from_vector<int64_t>({2}, {1, 2}), Tensor::from_vector<int64_t>({2}, {1, 0})});
    EXPECT_TRUE(contains(error_of(zero), "Div 'node': integer division by zero")) << error_of(zero);
    // Float division by zero is IEEE: inf, not an error.
    auto fz = run_node("Div", {Tensor::from_vector<float>({1}, {1.0f}), Tensor::from_vector<float>({1}, {0.0f})});
    ASSERT_TRUE(fz.ok());
    EXPECT_TRUE(std::isinf((*fz)[0].data<float>()[0]));
}

TEST(RefBinary, PowMixedDtypes) {
    // float ^ int64 (pow_types_float32_int64): 1^4, 2^5, 3^6.
    auto fi = run_node(
        "Pow", {Tensor::from_vector<float>({3}, {1, 2, 3}), Tensor::from_vector<int64_t>({3}, {4, 5, 6})}, {}, 15);
    ASSERT_TRUE(fi.ok()) << fi.status().to_string();
    EXPECT_EQ((*fi)[0].to_vector<float>(), (std::vector<float>{1, 32, 729}));
    // int32 ^ float (pow_types_int32_float32): the float result truncates toward zero,
    // 2^0.5 = 1.41 -> 1, 3^-1 = 0.33 -> 0, (-8)^(1/3) = NaN -> 0, 10^1.5 = 31.6 -> 31.
    auto i_f = run_node("Pow",
                        {Tensor::from_vector<int32_t>({4}, {2, 3, -8, 10}),
                         Tensor::from_vector<float>({4}, {0.5f, -1.0f, 1.0f / 3, 1.5f})},
                        {}, 15);
    ASSERT_TRUE(i_f.ok()) << i_f.status().to_string();
    EXPECT_EQ((*i_f)[0].to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 0, 31}));
    // int ^ int is exact: 3^39 needs all 62 bits (a double would round it).
    int64_t p39 = 1;
    for (int i = 0; i < 39; ++i) p39 *= 3;
    auto ii = run_node(
        "Pow", {Tensor::from_vector<int64_t>({4}, {3, -2, 2, -1}), Tensor::from_vector<int64_t>({4}, {39, 3, 0, 5})},
        {}, 15);
    ASSERT_TRUE(ii.ok()) << ii.status().to_string();
    EXPECT_EQ((*ii)[0].to_vector<int64_t>(), (std::vector<int64_t>{p39, -8, 1, -1}));
    // Negative integer exponents: 1/x^n truncated, so 2^-1 -> 0, 1^-3 -> 1, (-1)^-3 -> -1.
    auto neg = run_node(
        "Pow", {Tensor::from_vector<int32_t>({3}, {2, 1, -1}), Tensor::from_vector<int32_t>({3}, {-1, -3, -3})}, {},
        15);
    ASSERT_TRUE(neg.ok()) << neg.status().to_string();
    EXPECT_EQ((*neg)[0].to_vector<int32_t>(), (std::vector<int32_t>{0, 1, -1}));
    // float ^ float with a broadcast scalar exponent.
    Tensor x = random_tensor({2, 3}, 10, 0.1f, 3.0f);
    auto ff = run_node("Pow", {x, Tensor::scalar<float>(2.5f)}, {}, 15);
    ASSERT_TRUE(ff.ok()) << ff.status().to_string();
    std::vector<float> want;
    for (float v : x.to_vector<float>()) want.push_back(std::pow(v, 2.5f));
    testing::expect_near((*ff)[0], {2, 3}, want, 1e-6f);
    // int64 base, float exponent (pow_types_int64_float32).
    auto lf = run_node(
        "Pow", {Tensor::from_vector<int64_t>({2}, {4, 5}), Tensor::from_vector<float>({2}, {0.5f, 2.0f})}, {}, 15);
    ASSERT_TRUE(lf.ok()) << lf.status().to_string();
    EXPECT_EQ((*lf)[0].to_vector<int64_t>(), (std::vector<int64_t>{2, 25}));
}

TEST(RefBinary, Float16ComputesThroughFloat) {
    // 1.5 + 0.25 = 1.75 and 2 * 3 = 6 are exact in half: 0x3C00 = 1.0, 0x3E00 = 1.5, 0x3400 = 0.25.
    Tensor a = Tensor::empty(DataType::kFloat16, {2});
    Tensor b = Tensor::empty(DataType::kFloat16, {2});
    auto* pa = static_cast<uint16_t*>(a.raw_data());
    auto* pb = static_cast<uint16_t*>(b.raw_data());
    pa[0] = 0x3E00;  // 1.5
    pa[1] = 0x4000;  // 2
    pb[0] = 0x3400;  // 0.25
    pb[1] = 0x4200;  // 3
    auto add = run_node("Add", {a, b});
    ASSERT_TRUE(add.ok()) << add.status().to_string();
    ASSERT_EQ((*add)[0].dtype(), DataType::kFloat16);
    const auto* y = static_cast<const uint16_t*>((*add)[0].raw_data());
    EXPECT_EQ(y[0], 0x3F00);  // 1.75
    EXPECT_EQ(y[1], 0x4500);  // 5
    auto gt = run_node("Greater", {a, b});
    ASSERT_TRUE(gt.ok()) << gt.status().to_string();
    EXPECT_EQ((*gt)[0].to_vector<bool>(), (std::vector<bool>{true, false}));
}

// ---- unary ----

TEST(RefUnary, FloatOpsMatchFormulas) {
    Tensor x = random_tensor({3, 5}, 11, -4.0f, 4.0f);
    const std::vector<float> xv = x.to_vector<float>();
    struct Case {
        const char* op;
        std::map<std::string, ir::Attribute> attrs;
        std::function<double(double)> f;
    };
    const std::vector<Case> cases = {
        {"Relu", {}, [](double v) { return v > 0 ? v : 0.0; }},
        {"LeakyRelu", {{"alpha", float_attr(0.1f)}}, [](double v) { return v >= 0 ? v : 0.1 * v; }},
        {"LeakyRelu", {}, [](double v) { return v >= 0 ? v : 0.01 * v; }},
        {"Sigmoid", {}, [](double v) { return std::exp(v) / (std::exp(v) + 1.0); }},
        {"HardSigmoid",
         {{"alpha", float_attr(0.3f)}, {"beta", float_attr(0.4f)}},
         [](double v) { return std::clamp(0.3 * v + 0.4, 0.0, 1.0); }},
        {"HardSigmoid", {}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
        {"HardSwish", {}, [](double v) { return v * std::clamp(v + 3.0, 0.0, 6.0) / 6.0; }},
        {"Tanh", {}, [](double v) { return (std::exp(2 * v) - 1) / (std::exp(2 * v) + 1); }},
        {"Exp", {}, [](double v) { return std::exp(v); }},
        {"Elu", {{"alpha", float_attr(2.0f)}}, [](double v) { return v >= 0 ? v : 2.0 * std::expm1(v); }},
        {"Neg", {}, [](double v) { return -v; }},
        {"Abs", {}, [](double v) { return std::fabs(v); }},
        {"Floor", {}, [](double v) { return std::floor(v); }},
        {"Ceil", {}, [](double v) { return std::ceil(v); }},
    };
    for (const Case& c : cases) {
        auto r = run_node(c.op, {x}, c.attrs);
        ASSERT_TRUE(r.ok()) << c.op << ": " << r.status().to_string();
        std::vector<float> want;
        for (float v : xv) want.push_back(static_cast<float>(c.f(v)));
        SCOPED_TRACE(c.op);
        testing::expect_near((*r)[0], x.dims(), want, 1e-6f);
    }
    // Positive-only domains.
    Tensor p = random_tensor({7}, 12, 0.01f, 9.0f);
    const float* pv = p.data<float>();
    for (const char* op : {"Sqrt", "Log", "Reciprocal"}) {
        auto r = run_node(op, {p});
        ASSERT_TRUE(r.ok()) << op;
        const std::string o = op;
        std::vector<float> want(7);
        for (size_t i = 0; i < want.size(); ++i)
            want[i] = o == "Sqrt" ? std::pow(pv[i], 0.5f) : o == "Log" ? std::log(pv[i]) : 1.0f / pv[i];
        SCOPED_TRACE(op);
        testing::expect_near((*r)[0], p.dims(), want, 1e-6f);
    }
    auto sq = run_node("Sqrt", {Tensor::from_vector<float>({1}, {-1.0f})});
    ASSERT_TRUE(sq.ok());
    EXPECT_TRUE(std::isnan((*sq)[0].data<float>()[0]));
}

TEST(RefUnary, IntegerReluNegAbsAndRefusals) {
    auto relu = run_node("Relu", {Tensor::from_vector<int8_t>({3}, {-5, 0, 7})}, {}, 14);
    ASSERT_TRUE(relu.ok()) << relu.status().to_string();
    EXPECT_EQ((*relu)[0].to_vector<int8_t>(), (std::vector<int8_t>{0, 0, 7}));
    const int64_t kMin = std::numeric_limits<int64_t>::min();
    auto neg = run_node("Neg", {Tensor::from_vector<int64_t>({3}, {5, -3, kMin})});
    ASSERT_TRUE(neg.ok()) << neg.status().to_string();
    EXPECT_EQ((*neg)[0].to_vector<int64_t>(), (std::vector<int64_t>{-5, 3, kMin}));
    auto abs = run_node("Abs", {Tensor::from_vector<int16_t>({3}, {-300, 300, 0})});
    ASSERT_TRUE(abs.ok()) << abs.status().to_string();
    EXPECT_EQ((*abs)[0].to_vector<int16_t>(), (std::vector<int16_t>{300, 300, 0}));
    // Sigmoid is float-only: the kernel declines integer inputs with a reason.
    auto sig = run_node("Sigmoid", {Tensor::from_vector<int32_t>({1}, {1})});
    EXPECT_TRUE(contains(error_of(sig), "does not support dtype i32")) << error_of(sig);
}

TEST(RefUnary, ClipInputsAttributesAndIntegers) {
    Tensor x = Tensor::from_vector<float>({6}, {-3, -1, 0, 0.5f, 2, NAN});
    auto both = run_node("Clip", {x, Tensor::scalar<float>(-1.5f), Tensor::scalar<float>(1.0f)}, {}, 13);
    ASSERT_TRUE(both.ok()) << both.status().to_string();
    auto v = (*both)[0].to_vector<float>();
    EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 5), (std::vector<float>{-1.5f, -1, 0, 0.5f, 1}));
    EXPECT_TRUE(std::isnan(v[5]));  // NaN passes through, as in numpy.clip
    // Only max (min omitted), then only min.
    auto hi = run_node("Clip", {x, Tensor(), Tensor::scalar<float>(0.0f)}, {}, 13);
    ASSERT_TRUE(hi.ok()) << hi.status().to_string();
    EXPECT_EQ((*hi)[0].data<float>()[0], -3.0f);
    EXPECT_EQ((*hi)[0].data<float>()[4], 0.0f);
    auto lo = run_node("Clip", {x, Tensor::scalar<float>(0.0f)}, {}, 13);
    ASSERT_TRUE(lo.ok()) << lo.status().to_string();
    EXPECT_EQ((*lo)[0].data<float>()[0], 0.0f);
    EXPECT_EQ((*lo)[0].data<float>()[4], 2.0f);
    // min > max: every value becomes max (numpy's min(max(x, lo), hi)).
    auto crossed = run_node("Clip", {x, Tensor::scalar<float>(2.0f), Tensor::scalar<float>(1.0f)}, {}, 13);
    ASSERT_TRUE(crossed.ok());
    EXPECT_EQ((*crossed)[0].data<float>()[0], 1.0f);
    EXPECT_EQ((*crossed)[0].data<float>()[3], 1.0f);
    // Opset 6: bounds are attributes.
    auto old = run_node("Clip", {x}, {{"min", float_attr(-0.5f)}, {"max", float_attr(0.25f)}}, 6);
    ASSERT_TRUE(old.ok()) << old.status().to_string();
    EXPECT_EQ((*old)[0].data<float>()[0], -0.5f);
    EXPECT_EQ((*old)[0].data<float>()[3], 0.25f);
    // int8 with only max, like clip_default_int8_max.
    auto i8 = run_node(
        "Clip", {Tensor::from_vector<int8_t>({4}, {-128, -1, 5, 127}), Tensor(), Tensor::scalar<int8_t>(4)}, {}, 13);
    ASSERT_TRUE(i8.ok()) << i8.status().to_string();
    EXPECT_EQ((*i8)[0].to_vector<int8_t>(), (std::vector<int8_t>{-128, -1, 4, 4}));
    auto bad = run_node("Clip", {x, Tensor::from_vector<float>({2}, {0, 1})}, {}, 13);
    EXPECT_TRUE(contains(error_of(bad), "min must be a scalar, got shape [2]")) << error_of(bad);
}

TEST(RefBinary, PReluSlopeBroadcastsToX) {
    Tensor x = random_tensor({2, 3, 4}, 13);
    Tensor slope = random_tensor({3, 1}, 14);
    auto r = run_node("PRelu", {x, slope}, {}, 16);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::vector<float> want;
    for (int64_t i = 0; i < 24; ++i) {
        const float v = x.data<float>()[i];
        want.push_back(v >= 0 ? v : v * slope.data<float>()[(i / 4) % 3]);
    }
    testing::expect_near((*r)[0], {2, 3, 4}, want, 0.0f);
}

TEST(RefBinary, ComparisonsWhereMaxMin) {
    Tensor a = Tensor::from_vector<int32_t>({2, 2}, {1, 5, 3, 3});
    Tensor b = Tensor::from_vector<int32_t>({2}, {3, 4});
    auto eq = run_node("Equal", {a, b});
    auto gt = run_node("Greater", {a, b});
    auto le = run_node("LessOrEqual", {a, b});
    ASSERT_TRUE(eq.ok() && gt.ok() && le.ok());
    EXPECT_EQ((*eq)[0].to_vector<bool>(), (std::vector<bool>{false, false, true, false}));
    EXPECT_EQ((*gt)[0].to_vector<bool>(), (std::vector<bool>{false, true, false, false}));
    EXPECT_EQ((*le)[0].to_vector<bool>(), (std::vector<bool>{true, false, true, true}));

    auto where = run_node("Where", {Tensor::from_vector<bool>({2, 1}, {true, false}), a, Tensor::scalar<int32_t>(-1)});
    ASSERT_TRUE(where.ok()) << where.status().to_string();
    EXPECT_EQ((*where)[0].to_vector<int32_t>(), (std::vector<int32_t>{1, 5, -1, -1}));

    // Max over three broadcast inputs; NaN wins as in numpy.maximum.
    auto mx = run_node("Max", {Tensor::from_vector<float>({2, 1}, {1, NAN}),
                               Tensor::from_vector<float>({3}, {0, 2, -1}), Tensor::scalar<float>(1.5f)});
    ASSERT_TRUE(mx.ok()) << mx.status().to_string();
    auto m = (*mx)[0].to_vector<float>();
    ASSERT_EQ((*mx)[0].dims(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(std::vector<float>(m.begin(), m.begin() + 3), (std::vector<float>{1.5f, 2, 1.5f}));
    for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isnan(m[i])) << i;
    auto mn = run_node(
        "Min", {Tensor::from_vector<uint8_t>({3}, {9, 1, 200}), Tensor::from_vector<uint8_t>({3}, {3, 4, 100})});
    ASSERT_TRUE(mn.ok()) << mn.status().to_string();
    EXPECT_EQ((*mn)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{3, 1, 100}));
}

}  // namespace
}  // namespace qat
