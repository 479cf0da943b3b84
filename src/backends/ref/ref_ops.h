// Internal to the reference backend: one registration function per group of ops, and the
// helper that adds a "ref" candidate.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "runtime/kernel_registry.h"

namespace qat::ref {

// Adds a "ref" candidate for op_type. `supports` may be null (always supported).
void add_ref_kernel(runtime::KernelRegistry& reg, const std::string& op_type,
                    std::function<Result<std::unique_ptr<runtime::Kernel>>(const ir::Node&)> create,
                    std::function<Status(const ir::Node&)> supports = nullptr, const std::string& domain = "");

// A kernel from a plain function (most reference kernels need no state).
using KernelFn = std::function<Status(runtime::KernelContext&)>;
std::unique_ptr<runtime::Kernel> make_fn_kernel(KernelFn fn);

// One registration function per group; ref_backend.cpp calls them all.
void register_elementwise_kernels(runtime::KernelRegistry& reg);  // unary and binary element-wise ops
void register_conv_kernels(runtime::KernelRegistry& reg);         // Conv, ConvTranspose
void register_gemm_kernels(runtime::KernelRegistry& reg);         // Gemm, MatMul
void register_batchnorm_kernels(runtime::KernelRegistry& reg);    // BatchNormalization
void register_pool_kernels(runtime::KernelRegistry& reg);      // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_softmax_kernels(runtime::KernelRegistry& reg);   // Softmax
void register_reduce_kernels(runtime::KernelRegistry& reg);    // ReduceMean
void register_resize_kernels(runtime::KernelRegistry& reg);    // Resize
void register_pad_kernels(runtime::KernelRegistry& reg);       // Pad
void register_quantize_kernels(runtime::KernelRegistry& reg);  // QuantizeLinear, DequantizeLinear
void register_shape_kernels(
    runtime::KernelRegistry& reg);  // Flatten, Reshape, Transpose, Concat, Split, Slice, Gather, Shape, Squeeze,
                                    // Unsqueeze, Identity, Dropout, Cast, Constant, ConstantOfShape
void register_fused_kernels(runtime::KernelRegistry& reg);  // com.qat QConv, QConvTranspose, QGemm, QAdd, QAveragePool,
                                                            // QGlobalAveragePool (fused.cpp)

}  // namespace qat::ref
