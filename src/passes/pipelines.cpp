#include "passes/pipelines.h"

#include <algorithm>

#include "passes/constant_folding.h"
#include "passes/dead_code.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_fp32_gate.h"
#include "passes/qdq_dedupe.h"
#include "passes/qdq_fusion.h"
#include "passes/qdq_propagation.h"
#include "passes/quant/strip_qdq.h"

namespace qat::passes {

// ---- engine ------------------------------------------------------------------------------
//
// Why this order:
//  1. constant-folding first: Q(W_float) becomes an int8 weight and DQ(int32 bias) a float bias,
//     so the later passes see the canonical "DQ(int8 constant)" weight form; Shape -> Gather ->
//     Reshape chains of exported models become constants (static shapes) too.
//  2. fold-batchnorm before any fusion: with per-channel weight scales the fold is exact, and
//     afterwards Conv -> BN -> Relu -> Q is just Conv -> Relu -> Q for the selectors.
//  3. qdq-dedupe before propagation: a tensor read by several quantized consumers carries one Q
//     per consumer; merged, its producer has a single Q reader and can get an INT8 output.
//  4. qdq-propagation: moves DQ after MaxPool/Reshape/... and Q before them (and removes DQ -> Q
//     pairs with equal parameters), so each Q ends up right behind the op that can absorb it.
//  5. fuse-qdq-weighted before fuse-qdq-eltwise: a residual Add belongs in the Conv that feeds
//     it (one INT8 op with a post-op) rather than in a separate QAdd.
//  6. annotate-fp32 records why each remaining candidate stayed FP32, while the DQ nodes that
//     explain it are still there.
//  7. constant-folding-final folds the DQ(W) of ops left in FP32 into float weights once,
//     instead of dequantizing them on every run; dead-code drops what the rewrites left behind.
//  8. fuse-fp32-conv: the convolutions still in float (all of them with fuse_int8 off) take
//     their activations and residual Add as post-ops (com.qat::FusedConv); after annotate-fp32,
//     whose reasons the fused node keeps, and after step 7, which gives them float weights.
//  9. fuse-fp32-gate after it: a squeeze-and-excitation Mul goes into the (Fused)Conv it feeds,
//     whose post-ops are settled by then.
PassManager make_engine_pipeline(const EnginePipelineOptions& options) {
    PassManager pm;
    pm.add(std::make_unique<ConstantFolding>());
    pm.add(make_fold_batchnorm_pass());
    if (options.fuse_int8) {
        pm.add(make_qdq_dedupe_pass());
        pm.add(make_qdq_propagation_pass());
        pm.add(make_fuse_qdq_weighted_pass());
        pm.add(make_fuse_qdq_eltwise_pass());
        pm.add(make_annotate_fp32_pass());
        ConstantFoldingOptions final_fold;
        final_fold.fold_dequantize = true;
        final_fold.name = "constant-folding-final";
        pm.add(std::make_unique<ConstantFolding>(final_fold));
    }
    pm.add(make_fuse_fp32_conv_pass());
    pm.add(make_fuse_fp32_gate_pass());
    pm.add(make_dead_code_pass());
    return pm;
}

int engine_max_iterations(size_t num_nodes) { return static_cast<int>(std::min<size_t>(1000000, 64 + 8 * num_nodes)); }

// ---- Q/DQ placement (`qat quantize`) ---------------------------------------------------------
//
// Why this order:
//  1. strip-qdq first (only with --requantize): everything after it sees a float graph.
//  2. fold-batchnorm (only with --fold-bn) before planning, so the plan is made on the Convs
//     that will exist and no case looks at a BN that is about to disappear.
//  3. plan-qdq takes every decision (policy table, spec, pattern cases, activation ranges) on
//     the final float structure before a single Q/DQ node exists: selection separate from action.
//  4. insert-qdq last: nothing after it needs the float form.
PassManager make_qdq_placement_pipeline(const QdqPlacementPipelineOptions& options, quant::QdqPlanner planner,
                                        quant::QdqPlacementState* state) {
    PassManager pm;
    if (options.strip_existing) pm.add(std::make_unique<quant::StripQdqPass>());
    if (options.fold_bn) pm.add(make_fold_batchnorm_pass());
    pm.add(std::make_unique<quant::PlanQdqPass>(std::move(planner), state));
    pm.add(std::make_unique<quant::InsertQdqPass>(state));
    return pm;
}

}  // namespace qat::passes
