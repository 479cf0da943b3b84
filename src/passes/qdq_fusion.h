// QdqFusion: the passes that lower DQ -> op -> Q groups to com.qat INT8 ops, built from the
// selectors (qdq_selectors.h) and actions (qdq_actions.h).
//
//   before                                              after
//   %xd = DequantizeLinear(%xq, %sx, %zx)               %y = com.qat::QConv[...](%xq, %wq, %b')
//   %wd = DequantizeLinear(%wq, %sw, %zw)
//   %c  = Conv(%xd, %wd, %b)
//   %r  = Relu(%c)
//   %y  = QuantizeLinear(%r, %sy, %zy)
//
//   %ad = DQ(%aq, ...); %bd = DQ(%bq, ...)              %y = com.qat::QAdd[...](%aq, %bq)
//   %s  = Add(%ad, %bd); %y = QuantizeLinear(%s, ...)
//
// Passes:
//  - fuse-qdq-weighted: Conv / ConvTranspose / Gemm / MatMul groups (with bias, activations,
//    residual Add and the output Q). Runs first so that a residual Add goes into the Conv that
//    feeds it rather than becoming a QAdd.
//  - fuse-qdq-eltwise: Add of two quantized inputs -> QAdd; AveragePool / GlobalAveragePool of a
//    quantized input -> QAveragePool / QGlobalAveragePool.
//  - annotate-fp32: for every candidate op left in FP32, records why (the selector's reason) on
//    the node, where `qat explain` reads it (fp32_reason()).
//  - fuse-fp32-conv: a float Conv (constant float weights) with the activations and residual
//    Add after it -> com.qat::FusedConv, one FP32 op with post-ops. Runs after annotate-fp32 and
//    the final constant folding (the weights of INT8-refused convs are float by then), and on
//    FP32 models (fuse_int8 off) too.
// Preconditions: BN folded (fold_batchnorm.h), Q/DQ propagated and deduplicated; weights are
// int8 constants behind a DQ (constant folding quantized float weights that had Q -> DQ).
#pragma once

#include <memory>
#include <string>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_fuse_qdq_weighted_pass();
std::unique_ptr<Pass> make_fuse_qdq_eltwise_pass();
std::unique_ptr<Pass> make_annotate_fp32_pass();
std::unique_ptr<Pass> make_fuse_fp32_conv_pass();

// The reason recorded on a node left in FP32 ("" when none). Stored in the node's doc_string
// as a line "qat-fp32: <reason>", so it survives ONNX export and engine files.
std::string fp32_reason(const ir::Node& node);
void set_fp32_reason(ir::Node& node, const std::string& reason);

}  // namespace qat::passes
