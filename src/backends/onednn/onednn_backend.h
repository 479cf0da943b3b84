// The oneDNN CPU backend: INT8 and FP32 kernels on oneDNN primitives (oneDNN 2.6).
//
// Ops: Conv, ConvTranspose, Gemm, MatMul, MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool, BatchNormalization, Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh,
// Exp, Log, Sqrt, Abs, Neg, Elu, Add, Sub, Mul, Div, Max, Min, Softmax, Concat,
// QuantizeLinear, DequantizeLinear, and the fused com.qat ops of ir/fused_ops.h (QConv,
// QConvTranspose, QGemm, QAdd, QAveragePool, QGlobalAveragePool). Each candidate's supports()
// names the reason when it declines a node (shown by `qat explain`, QAT_VERBOSE=dispatch).
//
// Tensors travel between oneDNN kernels in the layouts oneDNN picks (runtime::Layout, see
// onednn_common.h); the Plan converts them to plain for other backends and graph outputs.
// The thread count is the Plan's (PlanOptions::num_threads), applied with omp_set_num_threads.
//
//   runtime::KernelRegistry reg;
//   onednn::register_kernels(reg);   // before ref::register_kernels(reg)
#pragma once

#include "runtime/kernel_registry.h"

namespace qat::onednn {

// Registers a candidate for each op oneDNN runs, backend name "onednn".
void register_kernels(runtime::KernelRegistry& registry);

}  // namespace qat::onednn
