// Reference shape and data-movement kernels: Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout (views), Transpose, Concat, Split, Slice, Gather, Expand, Shape, Size, Cast, Constant,
// ConstantOfShape. Expected values are worked out by hand (the comments show how) or from index
// arithmetic written here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "ref_test_util.h"

namespace qat {
namespace {

using testing::float_attr;
using testing::int_attr;
using testing::ints;
using testing::random_tensor;
using testing::run_node;

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

template <typename R>
std::string error_of(const R& r) {
    return r.ok() ? std::string("<unexpectedly succeeded>") : r.status().message();
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// 0, 1, 2, ... as a tensor of T.
template <typename T>
Tensor iota_tensor(std::vector<int64_t> dims) {
    std::vector<T> v(static_cast<size_t>(numel_of(dims)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(i);
    return Tensor::from_vector<T>(std::move(dims), v);
}

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

// ---- views ----

TEST(RefShape, ReshapeZeroMinusOneAllowzeroAndView) {
    Tensor x = random_tensor({2, 3, 4}, 20);
    auto r = run_node("Reshape", {x, i64({0, -1})}, {}, 14);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{2, 12}));
    EXPECT_TRUE((*r)[0].shares_buffer_with(x));  // a view, no copy
    EXPECT_EQ((*r)[0].to_vector<float>(), x.to_vector<float>());
    auto copy_dim = run_node("Reshape", {x, i64({4, 0, -1})}, {}, 14);  // 0 copies dim 1 (3)
    ASSERT_TRUE(copy_dim.ok()) << copy_dim.status().to_string();
    EXPECT_EQ((*copy_dim)[0].dims(), (std::vector<int64_t>{4, 3, 2}));
    // allowzero=1: 0 is a real 0 (reshape_allowzero_reordered).
    auto az = run_node("Reshape", {Tensor::zeros(DataType::kFloat32, {0, 3, 4}), i64({3, 4, 0})},
                       {{"allowzero", int_attr(1)}}, 14);
    ASSERT_TRUE(az.ok()) << az.status().to_string();
    EXPECT_EQ((*az)[0].dims(), (std::vector<int64_t>{3, 4, 0}));
    auto az_bad = run_node("Reshape", {x, i64({0, -1})}, {{"allowzero", int_attr(1)}}, 14);
    EXPECT_TRUE(contains(error_of(az_bad), "both 0 and -1")) << error_of(az_bad);
    auto two = run_node("Reshape", {x, i64({-1, -1})}, {}, 14);
    EXPECT_TRUE(contains(error_of(two), "more than one -1")) << error_of(two);
    auto odd = run_node("Reshape", {x, i64({5, -1})}, {}, 14);
    EXPECT_TRUE(contains(error_of(odd), "cannot reshape [2,3,4] to shape [5,-1]")) << error_of(odd);
    auto count = run_node("Reshape", {x, i64({5, 5})}, {}, 14);
    EXPECT_TRUE(contains(error_of(count), "Reshape 'node': cannot reshape [2,3,4] (24 elements) to [5,5]"))
        << error_of(count);
}

TEST(RefShape, FlattenAxes) {
    Tensor x = random_tensor({2, 3, 4}, 21);
    const std::vector<std::pair<int64_t, std::vector<int64_t>>> cases = {
        {0, {1, 24}}, {1, {2, 12}}, {3, {24, 1}}, {-1, {6, 4}}, {-3, {1, 24}}};
    for (const auto& [axis, dims] : cases) {
        auto r = run_node("Flatten", {x}, {{"axis", int_attr(axis)}});
        ASSERT_TRUE(r.ok()) << axis << ": " << r.status().to_string();
        EXPECT_EQ((*r)[0].dims(), dims) << "axis " << axis;
        EXPECT_TRUE((*r)[0].shares_buffer_with(x));
    }
    auto bad = run_node("Flatten", {x}, {{"axis", int_attr(4)}});
    EXPECT_TRUE(contains(error_of(bad), "axis 4 is out of range")) << error_of(bad);
}

TEST(RefShape, SqueezeUnsqueezeAttributeAndInputForms) {
    Tensor x = random_tensor({2, 1, 3, 1}, 22);
    auto s13 = run_node("Squeeze", {x, i64({-1})}, {}, 13);
    ASSERT_TRUE(s13.ok()) << s13.status().to_string();
    EXPECT_EQ((*s13)[0].dims(), (std::vector<int64_t>{2, 1, 3}));
    EXPECT_TRUE((*s13)[0].shares_buffer_with(x));
    auto all = run_node("Squeeze", {x}, {}, 13);
    ASSERT_TRUE(all.ok()) << all.status().to_string();
    EXPECT_EQ((*all)[0].dims(), (std::vector<int64_t>{2, 3}));
    auto s11 = run_node("Squeeze", {x}, {{"axes", ints({1})}}, 11);
    ASSERT_TRUE(s11.ok()) << s11.status().to_string();
    EXPECT_EQ((*s11)[0].dims(), (std::vector<int64_t>{2, 3, 1}));
    auto bad = run_node("Squeeze", {x, i64({0})}, {}, 13);
    EXPECT_TRUE(contains(error_of(bad), "cannot squeeze axis 0 of size 2")) << error_of(bad);

    Tensor y = random_tensor({2, 3}, 23);
    auto u13 = run_node("Unsqueeze", {y, i64({3, 0})}, {}, 13);  // unsorted; indexes the rank-4 output
    ASSERT_TRUE(u13.ok()) << u13.status().to_string();
    EXPECT_EQ((*u13)[0].dims(), (std::vector<int64_t>{1, 2, 3, 1}));
    auto uneg = run_node("Unsqueeze", {y, i64({-1, 1})}, {}, 13);
    ASSERT_TRUE(uneg.ok()) << uneg.status().to_string();
    EXPECT_EQ((*uneg)[0].dims(), (std::vector<int64_t>{2, 1, 3, 1}));
    auto u11 = run_node("Unsqueeze", {y}, {{"axes", ints({1})}}, 11);
    ASSERT_TRUE(u11.ok()) << u11.status().to_string();
    EXPECT_EQ((*u11)[0].dims(), (std::vector<int64_t>{2, 1, 3}));
    auto dup = run_node("Unsqueeze", {y, i64({1, -3})}, {}, 13);  // -3 is 1 in a rank-4 output
    EXPECT_TRUE(contains(error_of(dup), "repeat")) << error_of(dup);
}

TEST(RefShape, IdentityAndDropoutAreViews) {
    Tensor x = random_tensor({3, 2}, 24);
    auto id = run_node("Identity", {x});
    ASSERT_TRUE(id.ok());
    EXPECT_TRUE((*id)[0].shares_buffer_with(x));
    // Opset 13 with the mask output and a ratio input: Y = X, mask all true.
    auto d = run_node("Dropout", {x, Tensor::scalar<float>(0.3f)}, {}, 13, 2);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_TRUE((*d)[0].shares_buffer_with(x));
    ASSERT_EQ((*d)[1].dtype(), DataType::kBool);
    EXPECT_EQ((*d)[1].to_vector<bool>(), std::vector<bool>(6, true));
    auto old = run_node("Dropout", {x}, {{"ratio", float_attr(0.2f)}}, 11);
    ASSERT_TRUE(old.ok()) << old.status().to_string();
    EXPECT_EQ((*old)[0].to_vector<float>(), x.to_vector<float>());
    auto train = run_node("Dropout", {x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)}, {}, 13);
    EXPECT_TRUE(contains(error_of(train), "training_mode=true")) << error_of(train);
    auto train0 = run_node("Dropout", {x, Tensor::scalar<float>(0.0f), Tensor::scalar<bool>(true)}, {}, 13);
    EXPECT_TRUE(train0.ok()) << "ratio 0 makes training the identity: " << error_of(train0);
}

TEST(RefShape, ShapeStartEndAndSize) {
    Tensor x = Tensor::zeros(DataType::kFloat32, {2, 3, 4, 5});
    struct Case {
        std::map<std::string, ir::Attribute> attrs;
        std::vector<int64_t> want;
    };
    const std::vector<Case> cases = {
        {{}, {2, 3, 4, 5}},
        {{{"start", int_attr(1)}, {"end", int_attr(-1)}}, {3, 4}},
        {{{"start", int_attr(-10)}}, {2, 3, 4, 5}},  // clamped to 0
        {{{"end", int_attr(10)}}, {2, 3, 4, 5}},     // clamped to rank
        {{{"start", int_attr(3)}, {"end", int_attr(1)}}, {}},
    };
    for (const Case& c : cases) {
        auto r = run_node("Shape", {x}, c.attrs, 15);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        EXPECT_EQ((*r)[0].to_vector<int64_t>(), c.want);
    }
    auto size = run_node("Size", {x});
    ASSERT_TRUE(size.ok());
    EXPECT_EQ((*size)[0].dims(), std::vector<int64_t>{});
    EXPECT_EQ((*size)[0].data<int64_t>()[0], 120);
}

// ---- copies ----

TEST(RefShape, TransposePermAndDefault) {
    Tensor x = random_tensor({2, 3, 4}, 25);
    const float* xv = x.data<float>();
    auto r = run_node("Transpose", {x}, {{"perm", ints({1, 2, 0})}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ((*r)[0].dims(), (std::vector<int64_t>{3, 4, 2}));
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j)
            for (int k = 0; k < 2; ++k)  // out[i][j][k] = x[k][i][j]
                EXPECT_EQ((*r)[0].data<float>()[(i * 4 + j) * 2 + k], xv[(k * 3 + i) * 4 + j]);
    auto d = run_node("Transpose", {x});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    ASSERT_EQ((*d)[0].dims(), (std::vector<int64_t>{4, 3, 2}));
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 2; ++k)  // reversed: out[i][j][k] = x[k][j][i]
                EXPECT_EQ((*d)[0].data<float>()[(i * 3 + j) * 2 + k], xv[(k * 3 + j) * 4 + i]);
    auto bad = run_node("Transpose", {x}, {{"perm", ints({0, 0, 1})}});
    EXPECT_TRUE(contains(error_of(bad), "perm [0,0,1] is not a permutation")) << error_of(bad);
}

TEST(RefShape, ConcatNegativeAxisAnyDtypeAndEmpty) {
    Tensor a = Tensor::from_vector<int64_t>({2, 1}, {10, 20});
    Tensor b = iota_tensor<int64_t>({2, 3});
    auto r = run_node("Concat", {a, b}, {{"axis", int_attr(-1)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{2, 4}));
    EXPECT_EQ((*r)[0].to_vector<int64_t>(), (std::vector<int64_t>{10, 0, 1, 2, 20, 3, 4, 5}));
    auto bools =
        run_node("Concat", {Tensor::from_vector<bool>({1}, {true}), Tensor::from_vector<bool>({2}, {false, true})},
                 {{"axis", int_attr(0)}});
    ASSERT_TRUE(bools.ok()) << bools.status().to_string();
    EXPECT_EQ((*bools)[0].to_vector<bool>(), (std::vector<bool>{true, false, true}));
    auto empty = run_node("Concat", {Tensor::zeros(DataType::kFloat32, {0, 3}), random_tensor({2, 3}, 26)},
                          {{"axis", int_attr(0)}});
    ASSERT_TRUE(empty.ok()) << empty.status().to_string();
    EXPECT_EQ((*empty)[0].dims(), (std::vector<int64_t>{2, 3}));
    auto bad = run_node("Concat", {a, iota_tensor<int64_t>({3, 3})}, {{"axis", int_attr(1)}});
    EXPECT_TRUE(contains(error_of(bad), "input 1 has shape [3,3], which does not match input 0 [2,1]"))
        << error_of(bad);
}

TEST(RefShape, SplitInputAttributeEqualAndErrors) {
    Tensor x = iota_tensor<float>({2, 6});
    auto r = run_node("Split", {x, i64({2, 4})}, {{"axis", int_attr(1)}}, 13, 2);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<float>(), (std::vector<float>{0, 1, 6, 7}));
    EXPECT_EQ((*r)[1].to_vector<float>(), (std::vector<float>{2, 3, 4, 5, 8, 9, 10, 11}));
    auto attr = run_node("Split", {x}, {{"split", ints({1, 1})}}, 11, 2);
    ASSERT_TRUE(attr.ok()) << attr.status().to_string();
    EXPECT_EQ((*attr)[1].to_vector<float>(), (std::vector<float>{6, 7, 8, 9, 10, 11}));
    auto equal = run_node("Split", {x}, {{"axis", int_attr(-1)}}, 13, 3);
    ASSERT_TRUE(equal.ok()) << equal.status().to_string();
    EXPECT_EQ((*equal)[2].dims(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ((*equal)[2].to_vector<float>(), (std::vector<float>{4, 5, 10, 11}));
    auto zero = run_node("Split", {x, i64({0, 6})}, {{"axis", int_attr(1)}}, 13, 2);
    ASSERT_TRUE(zero.ok()) << zero.status().to_string();
    EXPECT_EQ((*zero)[0].dims(), (std::vector<int64_t>{2, 0}));
    auto bad = run_node("Split", {x, i64({2, 3})}, {{"axis", int_attr(1)}}, 13, 2);
    EXPECT_TRUE(contains(error_of(bad), "split [2,3] sums to 5, but axis 1 of input [2,6] has size 6"))
        << error_of(bad);
    auto uneven = run_node("Split", {x}, {{"axis", int_attr(1)}}, 13, 4);
    EXPECT_TRUE(contains(error_of(uneven), "into 4 equal parts")) << error_of(uneven);
}

TEST(RefShape, SliceNegativeStepsAndClamping) {
    Tensor x = iota_tensor<float>({10});
    auto slice = [&](int64_t start, int64_t end, int64_t step) {
        return run_node("Slice", {x, i64({start}), i64({end}), i64({0}), i64({step})});
    };
    struct Case {
        int64_t start, end, step;
        std::vector<float> want;
    };
    const std::vector<Case> cases = {
        {-1, kI64Min, -1, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},  // the "reverse everything" idiom
        {8, 1, -3, {8, 5, 2}},
        {20, -20, -1, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},  // start clamps to 9, end -20+10 clamps to -1
        {2, kI64Max, 3, {2, 5, 8}},
        {-3, -1, 1, {7, 8}},
        {5, 2, 1, {}},               // empty
        {-100, 2, 1, {0, 1}},        // start clamps to 0
        {0, 10, kI64Max, {0}},       // a huge step takes one element
        {9, kI64Min, kI64Min, {9}},  // and so does the most negative one
        {3, 3, -1, {}},
    };
    for (const Case& c : cases) {
        auto r = slice(c.start, c.end, c.step);
        ASSERT_TRUE(r.ok()) << c.start << ":" << c.end << ":" << c.step << " " << r.status().to_string();
        EXPECT_EQ((*r)[0].to_vector<float>(), c.want) << c.start << ":" << c.end << ":" << c.step;
    }
    // 2-D, two axes, one reversed by 2: rows 0 and 2, columns 3 and 1 of [[0..3],[4..7],[8..11]].
    Tensor m = iota_tensor<int32_t>({3, 4});
    auto r2 = run_node("Slice", {m, i64({0, -1}), i64({kI64Max, kI64Min}), i64({0, 1}), i64({2, -2})});
    ASSERT_TRUE(r2.ok()) << r2.status().to_string();
    EXPECT_EQ((*r2)[0].dims(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ((*r2)[0].to_vector<int32_t>(), (std::vector<int32_t>{3, 1, 11, 9}));
    // Negative axis, default steps, int32 starts/ends.
    auto r3 = run_node("Slice", {m, Tensor::from_vector<int32_t>({1}, {1}), Tensor::from_vector<int32_t>({1}, {3}),
                                 Tensor::from_vector<int32_t>({1}, {-1})});
    ASSERT_TRUE(r3.ok()) << r3.status().to_string();
    EXPECT_EQ((*r3)[0].to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 5, 6, 9, 10}));
    // Default axes (0..n-1).
    auto r4 = run_node("Slice", {m, i64({1, 2}), i64({3, 4})});
    ASSERT_TRUE(r4.ok()) << r4.status().to_string();
    EXPECT_EQ((*r4)[0].to_vector<int32_t>(), (std::vector<int32_t>{6, 7, 10, 11}));
    // Opset 9: attributes, end beyond the dim.
    auto r9 = run_node("Slice", {m}, {{"starts", ints({1})}, {"ends", ints({1000})}, {"axes", ints({0})}}, 9);
    ASSERT_TRUE(r9.ok()) << r9.status().to_string();
    EXPECT_EQ((*r9)[0].dims(), (std::vector<int64_t>{2, 4}));
    EXPECT_EQ((*r9)[0].data<int32_t>()[0], 4);

    auto step0 = run_node("Slice", {x, i64({0}), i64({5}), i64({0}), i64({0})});
    EXPECT_TRUE(contains(error_of(step0), "step 0")) << error_of(step0);
    auto axis = run_node("Slice", {x, i64({0}), i64({5}), i64({1})});
    EXPECT_TRUE(contains(error_of(axis), "out of range for rank 1")) << error_of(axis);
    auto lens = run_node("Slice", {x, i64({0, 1}), i64({5})});
    EXPECT_TRUE(contains(error_of(lens), "different lengths")) << error_of(lens);
}

TEST(RefShape, GatherAxesNegativeIndicesAndDtypes) {
    Tensor data = iota_tensor<uint8_t>({3, 4});
    // axis 1, indices [[-1, 0]] (int32): out[r][0][j] = data[r][idx[j]].
    auto r = run_node("Gather", {data, Tensor::from_vector<int32_t>({1, 2}, {-1, 0})}, {{"axis", int_attr(1)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{3, 1, 2}));
    EXPECT_EQ((*r)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{3, 0, 7, 4, 11, 8}));
    auto rows = run_node("Gather", {data, i64({2, -3})});
    ASSERT_TRUE(rows.ok()) << rows.status().to_string();
    EXPECT_EQ((*rows)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{8, 9, 10, 11, 0, 1, 2, 3}));
    auto scalar = run_node("Gather", {data, Tensor::scalar<int64_t>(1)});
    ASSERT_TRUE(scalar.ok()) << scalar.status().to_string();
    EXPECT_EQ((*scalar)[0].dims(), (std::vector<int64_t>{4}));
    EXPECT_EQ((*scalar)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{4, 5, 6, 7}));
    auto bad = run_node("Gather", {data, i64({4})}, {{"axis", int_attr(1)}});
    EXPECT_TRUE(contains(error_of(bad), "Gather 'node': index 4 is out of range for axis 1 of size 4"))
        << error_of(bad);
    auto neg = run_node("Gather", {data, i64({-4})});
    EXPECT_TRUE(contains(error_of(neg), "index -4 is out of range")) << error_of(neg);
}

TEST(RefShape, ExpandBroadcastsBothWays) {
    Tensor x = Tensor::from_vector<float>({3, 1}, {1, 2, 3});
    auto r = run_node("Expand", {x, i64({2, 1, 4})});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ((*r)[0].dims(), (std::vector<int64_t>{2, 3, 4}));
    for (int64_t i = 0; i < 24; ++i) EXPECT_EQ((*r)[0].data<float>()[i], float((i / 4) % 3 + 1)) << i;
    auto bad = run_node("Expand", {x, i64({2, 1})});
    EXPECT_TRUE(contains(error_of(bad), "cannot broadcast [3,1] with shape [2,1]")) << error_of(bad);
}

// ---- Cast and constants ----

TEST(RefCast, FloatToIntTruncatesAndSaturates) {
    Tensor x = Tensor::from_vector<float>({7}, {1.9f, -1.9f, 2.5f, -2.5f, 1e10f, -1e10f, NAN});
    auto r = run_node("Cast", {x}, {{"to", int_attr(6)}});  // INT32
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const int32_t kMax = std::numeric_limits<int32_t>::max(), kMin = std::numeric_limits<int32_t>::min();
    EXPECT_EQ((*r)[0].to_vector<int32_t>(), (std::vector<int32_t>{1, -1, 2, -2, kMax, kMin, 0}));
    auto u8 = run_node("Cast", {Tensor::from_vector<float>({3}, {-3.7f, 255.9f, 300.0f})}, {{"to", int_attr(2)}});
    ASSERT_TRUE(u8.ok()) << u8.status().to_string();
    EXPECT_EQ((*u8)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255, 255}));
    // int -> narrower int wraps modulo 256: 300 -> 44, -129 -> 127.
    auto i8 = run_node("Cast", {Tensor::from_vector<int64_t>({3}, {300, -129, -5})}, {{"to", int_attr(3)}});
    ASSERT_TRUE(i8.ok()) << i8.status().to_string();
    EXPECT_EQ((*i8)[0].to_vector<int8_t>(), (std::vector<int8_t>{44, 127, -5}));
    auto b = run_node("Cast", {Tensor::from_vector<int32_t>({3}, {0, 5, -1})}, {{"to", int_attr(9)}});
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    EXPECT_EQ((*b)[0].to_vector<bool>(), (std::vector<bool>{false, true, true}));
    auto f = run_node("Cast", {Tensor::from_vector<bool>({2}, {true, false})}, {{"to", int_attr(11)}});
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ((*f)[0].to_vector<double>(), (std::vector<double>{1.0, 0.0}));
}

TEST(RefCast, HalfRoundsToNearestEven) {
    // 1 + 2^-11 lies half way between half(1) = 0x3C00 and 0x3C01: ties to even -> 0x3C00;
    // 1 + 3 * 2^-11 lies half way between 0x3C01 and 0x3C02 -> 0x3C02. 65504 is the largest
    // half, 1e5 overflows to inf, 0.1 is 0x2E66 (0.0999755859375).
    Tensor x = Tensor::from_vector<float>(
        {6}, {1.0f, 65504.0f, 1e5f, 0.1f, 1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11)});
    auto r = run_node("Cast", {x}, {{"to", int_attr(10)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ((*r)[0].dtype(), DataType::kFloat16);
    const auto* h = static_cast<const uint16_t*>((*r)[0].raw_data());
    EXPECT_EQ(std::vector<uint16_t>(h, h + 6), (std::vector<uint16_t>{0x3C00, 0x7BFF, 0x7C00, 0x2E66, 0x3C00, 0x3C02}));

    Tensor half = Tensor::empty(DataType::kFloat16, {3});
    auto* hp = static_cast<uint16_t*>(half.raw_data());
    hp[0] = 0x3555;  // 0.333251953125
    hp[1] = 0xC000;  // -2
    hp[2] = 0x4170;  // 2.71875
    auto back = run_node("Cast", {half}, {{"to", int_attr(1)}});
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ((*back)[0].to_vector<float>(), (std::vector<float>{0.333251953125f, -2.0f, 2.71875f}));
    auto to_int = run_node("Cast", {half}, {{"to", int_attr(7)}});
    ASSERT_TRUE(to_int.ok()) << to_int.status().to_string();
    EXPECT_EQ((*to_int)[0].to_vector<int64_t>(), (std::vector<int64_t>{0, -2, 2}));
    auto d2f = run_node("Cast", {Tensor::from_vector<double>({1}, {0.1})}, {{"to", int_attr(1)}});
    ASSERT_TRUE(d2f.ok());
    EXPECT_EQ((*d2f)[0].data<float>()[0], 0.1f);
}

TEST(RefCast, StringAndBfloat16AreRefusedWithReason) {
    auto s = run_node("Cast", {random_tensor({2}, 27)}, {{"to", int_attr(8)}});
    EXPECT_TRUE(contains(error_of(s), "STRING tensors are not supported")) << error_of(s);
    auto bf = run_node("Cast", {random_tensor({2}, 28)}, {{"to", int_attr(16)}});
    EXPECT_TRUE(contains(error_of(bf), "BFLOAT16")) << error_of(bf);
    auto like =
        run_node("CastLike", {Tensor::from_vector<float>({2}, {1.5f, -7.9f}), Tensor::scalar<int16_t>(0)}, {}, 15);
    ASSERT_TRUE(like.ok()) << like.status().to_string();
    EXPECT_EQ((*like)[0].to_vector<int16_t>(), (std::vector<int16_t>{1, -7}));
}

TEST(RefConstant, AllValueForms) {
    auto floats = run_node("Constant", {}, {{"value_floats", ir::Attribute::from_floats({1.5f, -2.0f})}});
    ASSERT_TRUE(floats.ok()) << floats.status().to_string();
    EXPECT_EQ((*floats)[0].to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
    auto one_int = run_node("Constant", {}, {{"value_int", int_attr(7)}});
    ASSERT_TRUE(one_int.ok()) << one_int.status().to_string();
    EXPECT_EQ((*one_int)[0].dims(), std::vector<int64_t>{});
    EXPECT_EQ((*one_int)[0].data<int64_t>()[0], 7);
    auto one_float = run_node("Constant", {}, {{"value_float", float_attr(0.25f)}});
    ASSERT_TRUE(one_float.ok()) << one_float.status().to_string();
    EXPECT_EQ((*one_float)[0].data<float>()[0], 0.25f);
    auto int_list = run_node("Constant", {}, {{"value_ints", ints({3, -4})}});
    ASSERT_TRUE(int_list.ok()) << int_list.status().to_string();
    EXPECT_EQ((*int_list)[0].to_vector<int64_t>(), (std::vector<int64_t>{3, -4}));
    Tensor t = Tensor::from_vector<int8_t>({2, 1}, {-1, 9});
    auto tensor = run_node("Constant", {}, {{"value", ir::Attribute::from_tensor(t)}});
    ASSERT_TRUE(tensor.ok()) << tensor.status().to_string();
    EXPECT_TRUE((*tensor)[0].equals(t));
    auto strings = run_node("Constant", {}, {{"value_string", ir::Attribute::from_string("x")}});
    EXPECT_TRUE(contains(error_of(strings), "value_string is not supported")) << error_of(strings);
}

TEST(RefConstant, ConstantOfShape) {
    auto zeros = run_node("ConstantOfShape", {i64({2, 3})}, {}, 9);
    ASSERT_TRUE(zeros.ok()) << zeros.status().to_string();
    ASSERT_EQ((*zeros)[0].dtype(), DataType::kFloat32);
    EXPECT_EQ((*zeros)[0].to_vector<float>(), std::vector<float>(6, 0.0f));
    auto sevens = run_node("ConstantOfShape", {i64({4})},
                           {{"value", ir::Attribute::from_tensor(Tensor::from_vector<int32_t>({1}, {7}))}}, 9);
    ASSERT_TRUE(sevens.ok()) << sevens.status().to_string();
    EXPECT_EQ((*sevens)[0].to_vector<int32_t>(), std::vector<int32_t>(4, 7));
    auto empty = run_node("ConstantOfShape", {i64({0})}, {}, 9);
    ASSERT_TRUE(empty.ok()) << empty.status().to_string();
    EXPECT_EQ((*empty)[0].dims(), (std::vector<int64_t>{0}));
    auto neg = run_node("ConstantOfShape", {i64({2, -1})}, {}, 9);
    EXPECT_TRUE(contains(error_of(neg), "negative dimension")) << error_of(neg);
    auto huge = run_node("ConstantOfShape", {i64({1 << 30, 1 << 30})}, {}, 9);
    EXPECT_TRUE(contains(error_of(huge), "larger than")) << error_of(huge);
}

}  // namespace
}  // namespace qat
