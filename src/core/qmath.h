// Integer math for quantization, written once: rounding, saturation, (de)quantization and
// requantization. Reference kernels, passes, calibrators and tests all use these.
//
// ONNX QuantizeLinear (opset 13): q = saturate(round_half_even(x / scale) + zero_point).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/dtype.h"

namespace qat::qmath {

// Round to nearest, ties to even (the ONNX and TensorRT rule), independent of the FP mode.
// x - floor(x) is exact in binary floating point, so the tie test is exact too.
inline float round_half_even(float x) {
    float fl = std::floor(x);
    float diff = x - fl;
    if (diff > 0.5f) return fl + 1.0f;
    if (diff < 0.5f) return fl;
    return std::fmod(fl, 2.0f) == 0.0f ? fl : fl + 1.0f;
}
inline double round_half_even(double x) {
    double fl = std::floor(x);
    double diff = x - fl;
    if (diff > 0.5) return fl + 1.0;
    if (diff < 0.5) return fl;
    return std::fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;
}

template <typename T>
constexpr int32_t qmin() {
    return static_cast<int32_t>(std::numeric_limits<T>::min());
}
template <typename T>
constexpr int32_t qmax() {
    return static_cast<int32_t>(std::numeric_limits<T>::max());
}
inline int32_t qmin(DataType t) { return t == DataType::kUint8 ? 0 : -128; }
inline int32_t qmax(DataType t) { return t == DataType::kUint8 ? 255 : 127; }

template <typename T>
inline T saturate(int64_t v) {
    if (v < qmin<T>()) return static_cast<T>(qmin<T>());
    if (v > qmax<T>()) return static_cast<T>(qmax<T>());
    return static_cast<T>(v);
}
template <typename T>
inline T saturate_float(float v) {
    // NaN maps to zero point-neutral 0 before saturation (ONNX leaves it undefined).
    if (std::isnan(v)) return static_cast<T>(0);
    if (v <= static_cast<float>(qmin<T>())) return static_cast<T>(qmin<T>());
    if (v >= static_cast<float>(qmax<T>())) return static_cast<T>(qmax<T>());
    return static_cast<T>(v);
}

// ONNX QuantizeLinear for one value. Division (not multiplication by 1/scale) as the spec says,
// so ties land exactly where the reference implementation puts them.
template <typename T>
inline T quantize(float x, float scale, int32_t zero_point) {
    float q = round_half_even(x / scale) + static_cast<float>(zero_point);
    return saturate_float<T>(q);
}
template <typename T>
inline float dequantize(T q, float scale, int32_t zero_point) {
    return static_cast<float>(static_cast<int32_t>(q) - zero_point) * scale;
}
// Fake quantization (quantize then dequantize) with an explicit integer range, e.g. [-127,127].
inline float fake_quantize(float x, float scale, int32_t zero_point, int32_t lo, int32_t hi) {
    float q = round_half_even(x / scale) + static_cast<float>(zero_point);
    q = std::fmin(std::fmax(q, static_cast<float>(lo)), static_cast<float>(hi));
    return (q - static_cast<float>(zero_point)) * scale;
}

// Requantization of an int32 accumulator by a real multiplier M (typically s_in*s_w/s_out),
// as a fixed-point multiplier and right shift: acc * M ≈ (acc * mult) >> (31 + shift).
struct FixedPointMultiplier {
    int32_t multiplier = 0;  // Q31, in [2^30, 2^31)
    int32_t shift = 0;       // right shift after the Q31 product; may be negative (left shift)
};
FixedPointMultiplier quantize_multiplier(double real_multiplier);
// Applies FixedPointMultiplier with round-half-away-from-zero on the final shift (gemmlowp-style).
int32_t apply_multiplier(int32_t acc, FixedPointMultiplier m);

}  // namespace qat::qmath
