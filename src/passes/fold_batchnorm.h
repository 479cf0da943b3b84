// FoldBatchNorm: folds an inference BatchNormalization into the Conv that feeds it.
//
// With f[c] = gamma[c] / sqrt(var[c] + eps):
//
//   float weights                                   after
//   %y = Conv(%x, %w, %b)                           %y = Conv(%x, %w', %b')
//   %z = BatchNormalization(%y, %g, %beta, %m, %v)    w'[c] = w[c] * f[c]
//                                                    b'[c] = (b[c] - m[c]) * f[c] + beta[c]
//
//   Q/DQ weights (exact: only scales and the bias change, the int8 weights stay)
//   %wd = DequantizeLinear(%wq, %s, %zp)            %wd = DequantizeLinear(%wq', %s', %zp'[axis=0])
//   %y  = Conv(%xd, %wd, %b)                         s'[c] = s[c] * |f[c]|  (per-channel, axis 0)
//   %z  = BatchNormalization(%y, ...)                wq'[c] = -wq[c] where f[c] < 0
//                                                   %y = Conv(%xd, %wd, %b')
//
// The BN output name is kept (it may be a graph output or a calibrated tensor name).
// Preconditions (otherwise the BN stays and the node's reason shows in `qat explain`):
// - BN in inference form (training_mode 0, only output Y used), all its parameters float32
//   constants of the Conv's output-channel count;
// - the Conv's output is read by the BN alone; weight and bias are constants, or the weight is a
//   DequantizeLinear of a constant int8/uint8 tensor read by this Conv alone (per-tensor, or
//   per-channel on axis 0);
// - a negative f[c] with quantized weights needs zero point 0 and no -128 in that channel
//   (negating -128 does not fit int8); f[c] == 0 zeroes the channel.
#pragma once

#include <memory>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_fold_batchnorm_pass();

// The rule itself, for tests and for pipelines that compose rule sets.
std::unique_ptr<RewriteRule> make_fold_batchnorm_rule();

}  // namespace qat::passes
