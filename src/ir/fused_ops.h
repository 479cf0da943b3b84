// The fused operators of the qat engine (domain "com.qat"): the contract between the engine
// passes (src/passes/, which create them from DQ -> op -> Q groups) and the backends (which run
// them). Each op's semantics are defined here in real-valued terms; the reference backend
// (src/backends/ref/fused.cpp) implements exactly this, and faster backends must match it within
// one int8 step. read_fused_op() parses and validates a node's attributes into FusedOpInfo, so
// every backend reads them the same way.
//
// Common conventions
// - Quantized activations are int8 or uint8 tensors with per-tensor (scale, zero point) given as
//   attributes; the tensor's own dtype says which (the zero point must lie in its range).
// - Weights (input 1 of QConv / QConvTranspose / QGemm) are int8 constants, symmetric (zero point
//   0), with `w_scales` either one float (per-tensor) or one float per OUTPUT channel:
//     QConv           W [M, C/group, k...]        w_scales[m], m in [0, M)
//     QConvTranspose  W [C, M/group, k...]        w_scales[m] for output channel m in [0, M)
//                     (ONNX's per-axis scales on axis 1 have M/group entries; the pass repeats
//                     them per group, so kernels never deal with the axis-1 layout)
//     QGemm           W [K, N] (trans_b = 0) or [N, K] (trans_b = 1)   w_scales[n], n in [0, N)
//   BN is already folded into w_scales and bias by the passes (exact with per-channel scales);
//   a negative BN gamma is folded by negating that channel's int8 weights, so scales stay > 0.
// - Bias (input 2, optional): float32 constant [M] (or [N]) in real units. Kernels convert it to
//   their own domain (oneDNN wants bias / (x_scale * w_scales[m]) since it adds the bias before
//   applying the output scale).
// - Residual (input 3, optional, only with an "add" post-op): float32, or int8/uint8 dequantized
//   with residual_scale / residual_zero_point; same shape as the op's output.
// - `post_ops` (strings, applied in order to the real-valued result after the bias):
//     "add"         add the residual (at most once)
//     "relu"        max(v, 0)
//     "clip"        min(max(v, clip_min), clip_max)
//     "leaky_relu"  v >= 0 ? v : alpha * v
//     "hard_swish"  v * max(0, min(1, v / 6 + 0.5))     (ONNX HardSwish)
//     "sigmoid"     1 / (1 + exp(-v))
//     "swish"       v * sigmoid(v)                       (from Sigmoid + Mul on the same tensor)
//   A chain has at most one "clip" and one "leaky_relu" (their parameters are single attributes).
// - Output: `out_dtype` (ONNX TensorProto codes: 1 = float32, 3 = int8, 2 = uint8). Quantized:
//   y_q = saturate(round_half_even(y / y_scale) + y_zero_point)   (core/qmath.h quantize()).
//   Float: y itself.
//
// Ops
//   QConv(x_q, w_q, bias?, residual?) -> y
//       attrs: the window attributes of the original Conv, copied unchanged (kernel_shape,
//              strides, pads, dilations, group, auto_pad: read them with ref_conv_util.h's
//              read_window_attrs / resolve_window), x_scale, x_zero_point, w_scales, y_scale,
//              y_zero_point, out_dtype, post_ops, clip_min, clip_max, alpha, residual_scale,
//              residual_zero_point.
//       y = post_ops(conv(dq(x_q), dq(w_q)) + bias), then quantized or float per out_dtype.
//       The exact value is sum over (x_q - x_zp) * w_q in integers, times x_scale * w_scales[m].
//   QConvTranspose(x_q, w_q, bias?, residual?) -> y
//       as QConv with ConvTranspose semantics; also output_padding and output_shape.
//   QGemm(x_q, w_q, bias?, residual?) -> y
//       x is [M, K], or [..., K] for a MatMul origin (leading dims kept in the output: y is
//       [..., N]); w as above with trans_b. Other attrs as QConv (no window attributes).
//   QAdd(a_q, b_q) -> y
//       y = post_ops(dq(a) + dq(b)) with numpy broadcasting; attrs a_scale, a_zero_point,
//       b_scale, b_zero_point, y_scale, y_zero_point, out_dtype, post_ops (no "add"), clip_min,
//       clip_max, alpha.
//   QMul(a_q, b_q) -> y
//       y = post_ops(dq(a) * dq(b)), otherwise as QAdd (the squeeze-and-excitation scale: an
//       activation times a per-channel gate, [N,C,H,W] * [N,C,1,1]).
//   QAveragePool(x_q) -> y, QGlobalAveragePool(x_q) -> y
//       the ONNX op's attributes (kernel_shape, strides, pads, auto_pad, ceil_mode,
//       count_include_pad) + x_scale, x_zero_point, y_scale, y_zero_point, out_dtype;
//       y = avgpool(dq(x)), then quantized (or float).
//
//   FusedConv(x, w, bias?, residual?, gate?) -> y                        (FP32, not INT8)
//       A float Conv with its activations and residual add fused in: x, w, bias, residual and y
//       are float32, w is the Conv's [M, C/group, k...] constant; attrs: the Conv's window
//       attributes, post_ops, clip_min, clip_max, alpha (no scales, no zero points, out_dtype 1).
//       y = post_ops(conv(x * gate, w) + bias). Created by the fuse-fp32-conv pass for the
//       convolutions that stay in float, so that a Conv -> Relu -> Add chain is one pass over
//       memory instead of three. is_fused_op() is false for it (it is not an INT8 op);
//       is_fp32_fused_op() is true.
//       gate (input 4, optional): float32 [N, C, 1, 1] or [1, C, 1, 1], one factor per image and
//       input channel (x * gate with ONNX broadcasting): the squeeze-and-excitation Mul in front
//       of the convolution, taken in by the fuse-fp32-gate pass so that kernels can scale the
//       weights (C x M products) instead of the activation (C x H x W).
//
// Informational attributes that kernels ignore (written by the passes for `qat explain` and
// kept in engine files): `absorbed` (strings: the names of the original nodes this op replaced)
// and `note` (string: e.g. why the output stayed float).
//
// Ops that commute with quantization (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
// Slice, Concat with equal scales) stay ordinary ONNX ops and run on int8 tensors.
//
//   QAT_ASSIGN_OR_RETURN(ir::fused::FusedOpInfo info, ir::fused::read_fused_op(node));
//   float v = ir::fused::apply_post_ops(info, real_value, residual_real);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace qat::ir {
class Node;
}

namespace qat::ir::fused {

inline constexpr const char* kDomain = "com.qat";

inline constexpr const char* kQConv = "QConv";
inline constexpr const char* kQConvTranspose = "QConvTranspose";
inline constexpr const char* kQGemm = "QGemm";
inline constexpr const char* kQAdd = "QAdd";
inline constexpr const char* kQMul = "QMul";
inline constexpr const char* kQAveragePool = "QAveragePool";
inline constexpr const char* kQGlobalAveragePool = "QGlobalAveragePool";
inline constexpr const char* kFusedConv = "FusedConv";

// ONNX TensorProto data type codes used in `out_dtype`.
inline constexpr int kOnnxFloat = 1;
inline constexpr int kOnnxUint8 = 2;
inline constexpr int kOnnxInt8 = 3;

// DataType of an out_dtype code (kUndefined for others) and back (-1 for others).
DataType out_dtype_to_data_type(int64_t code);
int64_t data_type_to_out_dtype(DataType t);

// True for the com.qat INT8 ops above (QConv ... QGlobalAveragePool).
bool is_fused_op(const Node& node);
// True for com.qat::FusedConv (float in and out).
bool is_fp32_fused_op(const Node& node);

enum class PostOp { kAdd, kRelu, kClip, kLeakyRelu, kHardSwish, kSigmoid, kSwish };
// "add", "relu", ... as in the attribute; parse returns false for an unknown name.
const char* post_op_name(PostOp p);
bool parse_post_op(const std::string& s, PostOp* out);

// The attributes of a fused node, parsed and validated.
struct FusedOpInfo {
    std::string op_type;
    // Input quantization (QConv / QConvTranspose / QGemm / pools): x; QAdd / QMul: a and b.
    float x_scale = 1.0f;
    int32_t x_zero_point = 0;
    float b_scale = 1.0f;  // QAdd's / QMul's second input
    int32_t b_zero_point = 0;
    std::vector<float> w_scales;  // weighted ops
    bool trans_b = false;         // QGemm
    // Output.
    DataType out_dtype = DataType::kFloat32;
    float y_scale = 1.0f;
    int32_t y_zero_point = 0;
    // Post-ops.
    std::vector<PostOp> post_ops;
    float clip_min = 0.0f;
    float clip_max = 0.0f;
    float alpha = 0.01f;
    float residual_scale = 1.0f;
    int32_t residual_zero_point = 0;

    bool quantized_output() const { return out_dtype != DataType::kFloat32; }
    bool has_residual() const;
};

// Reads and checks a com.qat node's attributes (FusedConv too: no input or output quantization,
// float residual): scales finite and > 0, zero points within the
// int8/uint8 range of their tensors (for the output: of out_dtype), known post-ops, at most one
// "add" (and a residual input when there is one). Errors name the node and the attribute.
Result<FusedOpInfo> read_fused_op(const Node& node);

// One activation of the chain (not "add") on a real value.
float apply_activation(PostOp p, float v, const FusedOpInfo& info);
// All post-ops in order; `residual` is the real-valued residual element (ignored without "add").
float apply_post_ops(const FusedOpInfo& info, float v, float residual);

// Whether a FusedConv gate of dims `gate` fits an input of dims `x`: [N or 1, C, 1, 1] against
// [N, C, H, W]. The one shape rule of every backend's gate.
bool gate_fits(const std::vector<int64_t>& x, const std::vector<int64_t>& gate);

// The result of output channel `oc` of a weighted op (QConv / QConvTranspose / QGemm) from its
// exact integer sum of (x - x_zero_point) * w: acc * x_scale * w_scales[oc] + bias[oc] in double,
// then the post-ops in float (`bias` may be null). The reference semantics every kernel matches.
float weighted_result(const FusedOpInfo& info, int64_t acc, int64_t oc, const float* bias, float residual);
// Writes real value v as element i of an output of info.out_dtype: ONNX-quantized to int8 /
// uint8, or the float itself.
void store_result(const FusedOpInfo& info, float v, void* y, int64_t i);

}  // namespace qat::ir::fused
