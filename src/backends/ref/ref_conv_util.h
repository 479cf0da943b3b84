// Window geometry shared by Conv, ConvTranspose and the pooling ops: reading kernel_shape /
// strides / dilations / pads / auto_pad from a node, resolving auto_pad into explicit pads, and
// the output-size formulas. The reference kernels use it, and so can the oneDNN backend and the
// training bridge, so that every consumer agrees on the same (ONNX) arithmetic.
//
//   QAT_ASSIGN_OR_RETURN(ref::WindowAttrs a, ref::read_window_attrs(node, 2, {3, 3}));
//   QAT_ASSIGN_OR_RETURN(ref::WindowGeometry g, ref::resolve_window(node, a, {32, 32}, false));
//   // g.pads_begin, g.pads_end, g.out: explicit pads and output spatial dims.
//
// Conventions (ONNX): pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; the effective
// kernel extent is (k - 1) * dilation + 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::ref {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// "NOTSET" (or empty), "SAME_UPPER", "SAME_LOWER", "VALID"; error otherwise.
Result<AutoPad> parse_auto_pad(const std::string& s);

// Attributes of a windowed op, with the ONNX defaults filled in (strides 1, dilations 1, pads 0).
struct WindowAttrs {
    std::vector<int64_t> kernel;  // spatial kernel extent (before dilation)
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pads;  // 2 * spatial: begins then ends (ignored unless auto_pad is NOTSET)
    AutoPad auto_pad = AutoPad::kNotSet;
};

// Reads and validates the attributes for `spatial` spatial dims. `kernel_from_weights` is used
// when the node has no kernel_shape (Conv infers it from W); pass {} for pools, which require it.
// Errors name the node and the attribute ("strides has 1 values, expected 2").
Result<WindowAttrs> read_window_attrs(const ir::Node& node, size_t spatial,
                                      const std::vector<int64_t>& kernel_from_weights);

// Explicit pads and output size for one input.
struct WindowGeometry {
    std::vector<int64_t> pads_begin;
    std::vector<int64_t> pads_end;
    std::vector<int64_t> out;
};

// Effective kernel extent along one dim.
inline int64_t effective_kernel(int64_t k, int64_t dilation) { return (k - 1) * dilation + 1; }

// Output size of a forward window (Conv, pools) with explicit pads:
// floor((in + pb + pe - ek) / s) + 1, or ceil(...) + 1 with ceil_mode, where a last window that
// would start inside the end padding is dropped (ONNX/PyTorch pooling rule). May be <= 0 for
// bad input; callers check.
int64_t window_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin, int64_t pad_end,
                           bool ceil_mode);

// SAME_UPPER / SAME_LOWER for a forward window: out = ceil(in / stride), total pad =
// max(0, (out - 1) * stride + ek - in), the odd extra pixel at the end (UPPER) or begin (LOWER).
void same_pads(int64_t in, int64_t k, int64_t stride, int64_t dilation, AutoPad mode, int64_t* pad_begin,
               int64_t* pad_end);

// Forward window geometry (Conv, MaxPool, AveragePool): resolves auto_pad and checks the output
// size is positive. Errors name the node and the input spatial dims.
Result<WindowGeometry> resolve_window(const ir::Node& node, const WindowAttrs& attrs,
                                      const std::vector<int64_t>& in_spatial, bool ceil_mode);

// ConvTranspose geometry: output_padding, output_shape and auto_pad as the ONNX spec states.
// Without output_shape: out = stride * (in - 1) + output_padding + ek - pb - pe (auto_pad SAME:
// out = in * stride and the pads follow). With output_shape: total pad =
// stride * (in - 1) + output_padding + ek - out, split half and half with the odd pixel at the
// end for SAME_UPPER and at the begin otherwise (the spec's equations, which the node test
// convtranspose_autopad_same confirms). A negative total (output larger than the full
// transposed conv) extends the end with zeros, as output_padding does.
Result<WindowGeometry> resolve_conv_transpose(const ir::Node& node, const WindowAttrs& attrs,
                                              const std::vector<int64_t>& in_spatial,
                                              const std::vector<int64_t>& output_padding,
                                              const std::vector<int64_t>& output_shape);

}  // namespace qat::ref
