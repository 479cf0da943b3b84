// Core building blocks (issue 2, item 2): Status / Result and their macros, the log sink, DataType
// traits, symbolic Shape, Tensor, QuantParams and qmath. Oracles are the C library (nearbyint
// in round-to-nearest mode), IEEE half bit patterns worked out by hand, and the formulas of the
// ONNX QuantizeLinear spec written out here.
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/logging.h"
#include "core/qmath.h"
#include "core/quant_params.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

using namespace qat;

namespace {

Result<int> parse_positive(int v) {
    QAT_CHECK(v > 0, "value must be positive, got ", v);
    return v;
}

Result<int> doubled(int v) {
    QAT_ASSIGN_OR_RETURN(int p, parse_positive(v));
    return 2 * p;
}

Status chain(int v, int* out) {
    QAT_ASSIGN_OR_RETURN(*out, doubled(v));
    QAT_RETURN_IF_ERROR(v == 7 ? not_found("seven is ", "missing") : OkStatus());
    return OkStatus();
}

}  // namespace

TEST(CoreStatus, CodesMessagesAndContext) {
    Status ok = OkStatus();
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(ok.to_string(), "OK");
    Status s = invalid_argument("bad ", 3, " things");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "bad 3 things");
    s.with_context("while reading a.onnx").with_context("in qat run");
    EXPECT_EQ(s.to_string(), "bad 3 things (while reading a.onnx; in qat run)");
    // Context on an OK status is dropped: it must not turn into an error.
    Status o = OkStatus().with_context("ignored");
    EXPECT_TRUE(o.ok());
    EXPECT_TRUE(o.context().empty());
    EXPECT_EQ(not_found("x").code(), StatusCode::kNotFound);
    EXPECT_EQ(unsupported("x").code(), StatusCode::kUnsupported);
    EXPECT_EQ(io_error("x").code(), StatusCode::kIoError);
    EXPECT_EQ(invalid_model("x").code(), StatusCode::kInvalidModel);
    EXPECT_STREQ(status_code_name(StatusCode::kIoError), "I/O error");
}

TEST(CoreStatus, ResultAndMacros) {
    Result<int> r = doubled(4);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 8);
    Result<int> bad = doubled(-1);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(bad.status().message(), "value must be positive, got -1");
    EXPECT_EQ(bad.value_or(5), 5);
    int out = 0;
    EXPECT_TRUE(chain(3, &out).ok());
    EXPECT_EQ(out, 6);
    Status s = chain(7, &out);
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_EQ(s.message(), "seven is missing");
    EXPECT_EQ(chain(0, &out).code(), StatusCode::kInvalidArgument);
}

TEST(CoreStatusDeathTest, AssertAbortsWithTheMessage) {
    EXPECT_DEATH({ QAT_ASSERT(1 + 1 == 3, "arithmetic is broken: ", 42); }, "arithmetic is broken: 42");
}

TEST(CoreLogging, SinkAndLevels) {
    std::vector<std::pair<LogLevel, std::string>> got;
    LogSink old = set_log_sink([&](LogLevel l, const std::string& m) { got.emplace_back(l, m); });
    LogLevel old_level = log_level();
    set_log_level(LogLevel::kWarning);
    QAT_LOG(kWarning) << "disk " << 93 << "% full";
    QAT_LOG(kInfo) << "not shown";
    QAT_LOG(kError) << "boom";
    set_log_level(LogLevel::kOff);
    QAT_LOG(kError) << "silenced";
    set_log_level(old_level);
    set_log_sink(old);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].first, LogLevel::kWarning);
    EXPECT_NE(got[0].second.find("disk 93% full"), std::string::npos) << got[0].second;
    EXPECT_EQ(got[1].first, LogLevel::kError);
    EXPECT_NE(got[1].second.find("boom"), std::string::npos);
}

TEST(CoreDtype, TraitsNamesAndSizes) {
    struct Row {
        DataType t;
        size_t size;
        const char* name;
        const char* long_name;
    };
    for (const Row& r : {Row{DataType::kFloat32, 4, "f32", "float32"}, Row{DataType::kFloat16, 2, "f16", "float16"},
                         Row{DataType::kInt8, 1, "i8", "int8"}, Row{DataType::kUint8, 1, "u8", "uint8"},
                         Row{DataType::kInt32, 4, "i32", "int32"}, Row{DataType::kInt64, 8, "i64", "int64"},
                         Row{DataType::kBool, 1, "bool", "bool"}}) {
        EXPECT_EQ(dtype_size(r.t), r.size) << r.name;
        EXPECT_STREQ(dtype_name(r.t), r.name);
        EXPECT_EQ(dtype_from_name(r.name), r.t) << r.name;
        EXPECT_EQ(dtype_from_name(r.long_name), r.t) << r.long_name;
    }
    EXPECT_EQ(dtype_from_name("complex64"), DataType::kUndefined);
    EXPECT_TRUE(is_float(DataType::kFloat16));
    EXPECT_FALSE(is_float(DataType::kInt8));
    EXPECT_TRUE(is_integer(DataType::kUint8));
    EXPECT_FALSE(is_integer(DataType::kBool));
    EXPECT_TRUE(is_quantized_type(DataType::kInt8) && is_quantized_type(DataType::kUint8));
    EXPECT_FALSE(is_quantized_type(DataType::kInt32));
    static_assert(dtype_of<float> == DataType::kFloat32 && dtype_of<int64_t> == DataType::kInt64);
    size_t seen = 0;
    EXPECT_TRUE(dispatch_dtype(DataType::kInt32, [&]<typename T>() { seen = sizeof(T); }));
    EXPECT_EQ(seen, sizeof(int32_t));
    EXPECT_FALSE(dispatch_dtype(DataType::kFloat16, [&]<typename T>() {}));
}

TEST(CoreDtype, HalfConversionMatchesIeeeBitPatterns) {
    // Exactly representable values (bit patterns from the IEEE 754 binary16 layout).
    EXPECT_EQ(float_to_half(1.0f), 0x3C00);
    EXPECT_EQ(float_to_half(-2.0f), 0xC000);
    EXPECT_EQ(float_to_half(0.5f), 0x3800);
    EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);               // largest finite half
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
    EXPECT_EQ(float_to_half(1.0e6f), 0x7C00);  // overflow -> inf
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
    EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
    // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up.
    EXPECT_EQ(float_to_half(1.0f + 3.0f * std::ldexp(1.0f, -11)), 0x3C02);
    EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
    EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
    EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
    for (uint32_t h = 0; h < 0x7C00; h += 7) EXPECT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(h))), h);
}

TEST(CoreShape, SymbolicDims) {
    Shape s{Dim::symbolic("N"), 3, 224, 224};
    EXPECT_TRUE(s.rank_known());
    EXPECT_EQ(s.rank(), 4u);
    EXPECT_FALSE(s.is_static());
    EXPECT_FALSE(s.numel().has_value());
    EXPECT_FALSE(s.static_dims().has_value());
    EXPECT_EQ(s.to_string(), "[N,3,224,224]");
    EXPECT_FALSE(s[0].is_static());
    Shape t = Shape::from_dims({2, 3, 4});
    EXPECT_TRUE(t.is_static());
    EXPECT_EQ(t.numel().value(), 24);
    EXPECT_EQ(t.static_dims().value(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_NE(s, Shape({Dim::symbolic("B"), 3, 224, 224}));
    EXPECT_EQ(Shape::unknown_rank().to_string(), "[*]");
    EXPECT_EQ(Shape({Dim()}).to_string(), "[?]");
}

TEST(CoreTensor, StorageViewsAndEquality) {
    Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    EXPECT_EQ(a.dtype(), DataType::kFloat32);
    EXPECT_EQ(a.numel(), 6);
    EXPECT_EQ(a.nbytes(), 24u);
    EXPECT_EQ(a.data<float>()[4], 5.0f);
    EXPECT_EQ(a.get_as_double(5), 6.0);
    Tensor b = a.clone();
    EXPECT_TRUE(b.equals(a));
    EXPECT_FALSE(b.shares_buffer_with(a));
    b.data<float>()[0] = -1.0f;
    EXPECT_FALSE(b.equals(a));
    EXPECT_EQ(a.data<float>()[0], 1.0f);  // a clone is deep
    Tensor z = Tensor::zeros(DataType::kInt8, {4});
    for (int8_t v : z.to_vector<int8_t>()) EXPECT_EQ(v, 0);
    Tensor s = Tensor::scalar<int64_t>(7);
    EXPECT_EQ(s.rank(), 0u);
    EXPECT_EQ(s.numel(), 1);
    EXPECT_FALSE(Tensor().defined());
}

TEST(CoreQmath, RoundHalfToEvenMatchesNearbyint) {
    const int old = std::fegetround();
    ASSERT_EQ(std::fesetround(FE_TONEAREST), 0);
    for (float x : {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -127.5f, 0.49999997f, 1e7f + 1.0f}) {
        EXPECT_EQ(qmath::round_half_even(x), std::nearbyint(x)) << x;
        EXPECT_EQ(qmath::round_half_even(static_cast<double>(x)), std::nearbyint(static_cast<double>(x))) << x;
    }
    for (int i = -2000; i <= 2000; ++i) {
        float x = static_cast<float>(i) * 0.25f;
        EXPECT_EQ(qmath::round_half_even(x), std::nearbyint(x)) << x;
    }
    std::fesetround(old);
}

TEST(CoreQmath, SaturateQuantizeDequantize) {
    EXPECT_EQ(qmath::saturate<int8_t>(300), 127);
    EXPECT_EQ(qmath::saturate<int8_t>(-300), -128);
    EXPECT_EQ(qmath::saturate<uint8_t>(-1), 0);
    EXPECT_EQ(qmath::saturate<uint8_t>(256), 255);
    // ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero_point).
    EXPECT_EQ(qmath::quantize<int8_t>(0.25f, 0.1f, 0), 2);  // 2.5 -> 2 (even)
    EXPECT_EQ(qmath::quantize<int8_t>(0.35f, 0.1f, 0), 4);  // 3.5 -> 4 (even)
    EXPECT_EQ(qmath::quantize<int8_t>(100.0f, 0.1f, 0), 127);
    EXPECT_EQ(qmath::quantize<int8_t>(-100.0f, 0.1f, 0), -128);
    EXPECT_EQ(qmath::quantize<uint8_t>(-1.0f, 0.5f, 128), 126);
    EXPECT_EQ(qmath::quantize<uint8_t>(-100.0f, 0.5f, 128), 0);
    EXPECT_FLOAT_EQ(qmath::dequantize<uint8_t>(126, 0.5f, 128), -1.0f);
    EXPECT_FLOAT_EQ(qmath::dequantize<int8_t>(-127, 0.02f, 0), -2.54f);
    // Narrow-range fake quantization (weights): clamps to [-127, 127].
    EXPECT_FLOAT_EQ(qmath::fake_quantize(-10.0f, 0.02f, 0, -127, 127), -2.54f);
}

TEST(CoreQmath, FixedPointMultiplierApproximatesTheRealProduct) {
    for (double m : {0.75, 0.0123, 1.0 / 3.0, 2.5e-4, 1.5}) {
        qmath::FixedPointMultiplier f = qmath::quantize_multiplier(m);
        EXPECT_GE(f.multiplier, 1 << 30) << m;
        for (int32_t acc : {0, 1, -1, 1000, -1000, 123456, -987654, 1 << 24}) {
            double want = static_cast<double>(acc) * m;
            EXPECT_LE(std::fabs(qmath::apply_multiplier(acc, f) - want), 0.5 + 1e-6 * std::fabs(want))
                << "acc " << acc << " * " << m;
        }
    }
}

TEST(CoreQuantParams, SymmetricSchemeAndValidation) {
    QuantParams p = QuantParams::symmetric_per_tensor(2.54f);
    EXPECT_TRUE(p.per_tensor());
    EXPECT_FLOAT_EQ(p.scale[0], 0.02f);
    EXPECT_EQ(p.zero_point, (std::vector<int32_t>{0}));
    EXPECT_EQ(p.qtype, DataType::kInt8);
    EXPECT_TRUE(p.validate().ok());
    QuantParams c = QuantParams::symmetric_per_channel({1.27f, 0.0f, 12.7f}, 0);
    EXPECT_FALSE(c.per_tensor());
    EXPECT_EQ(c.channels(), 3u);
    EXPECT_EQ(c.axis, 0);
    EXPECT_FLOAT_EQ(c.scale[0], 0.01f);
    EXPECT_GT(c.scale[1], 0.0f);  // an all-zero channel still gets a valid scale
    EXPECT_FLOAT_EQ(c.scale[2], 0.1f);
    EXPECT_TRUE(c.validate().ok());
    QuantParams bad = p;
    bad.scale = {0.0f};
    EXPECT_NE(bad.validate().message().find("scale[0]"), std::string::npos);
    bad = p;
    bad.zero_point = {200};
    EXPECT_NE(bad.validate().message().find("outside the i8 range"), std::string::npos) << bad.validate().message();
    bad = p;
    bad.zero_point = {0, 0};
    EXPECT_FALSE(bad.validate().ok());
    bad = p;
    bad.qtype = DataType::kUint8;
    bad.zero_point = {255};
    EXPECT_TRUE(bad.validate().ok());
}
