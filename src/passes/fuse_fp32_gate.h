// fuse-fp32-gate: a float Mul of an activation by a per-image, per-channel gate, read only by a
// float convolution, goes into that convolution as com.qat::FusedConv's gate input
// (ir/fused_ops.h). The squeeze-and-excitation block of EfficientNet / MobileNetV3 ends this way:
//
//   before                                              after
//   %s = Mul(%x, %g)          (%g: [N, C, 1, 1])        %y = com.qat::FusedConv(%x, %w, %b, , %g)
//   %y = Conv(%s, %w, %b)     (or a FusedConv)
//
// Why: the Mul reads and writes the whole activation (a 112x112x32 float tensor takes ~0.1 ms
// here) to multiply it by C numbers; a kernel can scale the C x M weights instead. Only for
// ungrouped 2-D convolutions with a constant float weight (each weight column belongs to one input
// channel), and only when the convolution is the Mul's only reader. Runs after fuse-fp32-conv
// (pipelines.cpp), so the convolution's activations and residual are already its post-ops.
#pragma once

#include <memory>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_fuse_fp32_gate_pass();

}  // namespace qat::passes
