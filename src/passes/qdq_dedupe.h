// QdqDedupe: merges identical QuantizeLinear (or DequantizeLinear) nodes that read the same
// tensor with the same parameters.
//
//   before                                    after
//   %q1 = QuantizeLinear(%r, %s, %z)          %q1 = QuantizeLinear(%r, %s, %z)
//   %q2 = QuantizeLinear(%r, %s2, %z)         %d1 = DequantizeLinear(%q1, %s, %z)
//   %d1 = DequantizeLinear(%q1, %s, %z)       %a  = Conv(%d1, ...)
//   %d2 = DequantizeLinear(%q2, %s2, %z)      %b  = Add(..., %d1)
//   %a  = Conv(%d1, ...)
//   %b  = Add(..., %d2)                        (%s2 holds the same values as %s)
//
// Why: TensorRT-style placement puts one Q/DQ pair on every quantized input, so a tensor read by
// a Conv and a residual Add carries two identical pairs. After the merge the tensor's producer
// sees a single Q and can be fused with an INT8 output.
// Preconditions: scale and zero point are constants with equal values (and equal axis when
// per-channel); the node merged away is not a graph output.
#pragma once

#include <memory>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_qdq_dedupe_pass(const std::string& name = "qdq-dedupe");
std::unique_ptr<RewriteRule> make_qdq_dedupe_rule();

}  // namespace qat::passes
