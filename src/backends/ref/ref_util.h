// Small input-checking helpers shared by the reference compute kernels (Conv, Gemm, pools,
// Resize, Pad, Q/DQ, ...). Every check returns a kernel_error that names the node, so a bad
// model or input gives "Conv 'c1': input W has shape [8,3,3], expected rank 4" instead of a
// crash or an out-of-bounds read.
//
//   QAT_ASSIGN_OR_RETURN(const Tensor* x, ref::required_input(ctx, 0, "X"));
//   QAT_RETURN_IF_ERROR(ref::check_dtype(ctx.node(), *x, "X", {DataType::kFloat32}));
//   QAT_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ref::int_values(ctx.node(), *p, "pads"));
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "runtime/kernel.h"

namespace qat::ref {

// Input i, or an error naming it when it is omitted.
Result<const Tensor*> required_input(const runtime::KernelContext& ctx, size_t i, const char* what);

// Error unless t's dtype is one of `allowed`.
Status check_dtype(const ir::Node& node, const Tensor& t, const char* what, std::initializer_list<DataType> allowed);

// Error unless t has rank in [min_rank, max_rank].
Status check_rank(const ir::Node& node, const Tensor& t, const char* what, size_t min_rank, size_t max_rank);

// Axis in [-rank, rank) mapped to [0, rank); error naming the attribute otherwise.
Result<int64_t> normalize_axis(const ir::Node& node, int64_t axis, size_t rank, const char* what = "axis");

// The values of an int64 or int32 tensor (shape inputs such as pads, sizes, axes).
Result<std::vector<int64_t>> int_values(const ir::Node& node, const Tensor& t, const char* what);
// The values of a float32 / float64 tensor (scales, roi).
Result<std::vector<double>> float_values(const ir::Node& node, const Tensor& t, const char* what);

// True when output i of the node exists and something reads it (a node or the graph outputs).
// Optional outputs nobody reads (MaxPool's Indices, BatchNormalization's statistics) are not
// computed; an importer's placeholder for an omitted output is never read.
bool output_is_read(const ir::Node& node, size_t i);

// Output dims that come from attributes or shape inputs (Resize sizes/scales, Pad pads,
// ConvTranspose output_shape) are checked before allocating: every dim >= 0, and at most
// kMaxOutputBytes in all (an absurd size in a model is an error, not an abort in the allocator).
constexpr int64_t kMaxOutputBytes = int64_t{1} << 36;  // 64 GiB
Status check_output_dims(const ir::Node& node, const std::vector<int64_t>& dims, DataType dtype);

// Row-major strides of dims (the last dim has stride 1).
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims);

// Dims padded at the front with 1s to `rank` (1-D and 2-D windows run through the 3-D loops).
std::vector<int64_t> pad_front(std::vector<int64_t> dims, size_t rank, int64_t fill = 1);

}  // namespace qat::ref
