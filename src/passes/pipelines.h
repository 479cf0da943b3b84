// The pass pipelines of qat, as explicit ordered lists (no static registrars). Each function
// builds a fresh PassManager; pipelines.cpp says why each order is what it is.
//
//   passes::PassManager pm = passes::make_engine_pipeline();
//   passes::PassContext ctx;
//   QAT_ASSIGN_OR_RETURN(bool changed, pm.run(graph, ctx));
//
// Sections: engine (INT8 lowering for runtime::Plan). The Q/DQ placement pipeline of
// `qat quantize` has its own section.
#pragma once

#include <string>
#include <vector>

#include "passes/pass.h"
#include "passes/quant/insert_qdq.h"

namespace qat::passes {

// ---- engine ------------------------------------------------------------------------------

struct EnginePipelineOptions {
    // Build com.qat INT8 ops from Q/DQ groups. Off: only the FP32 clean-ups (constant folding,
    // BN folding), which keep the graph's numbers within float rounding.
    bool fuse_int8 = true;
};

// constant-folding, fold-batchnorm, qdq-dedupe, qdq-propagation, fuse-qdq-weighted,
// fuse-qdq-eltwise, annotate-fp32, constant-folding-final, dead-code.
PassManager make_engine_pipeline(const EnginePipelineOptions& options = {});

// A fixed-point cap for rule sets that suits a graph of this many nodes: RuleSetPass counts one
// iteration per rewrite, and fusing a large model takes several rewrites per node.
int engine_max_iterations(size_t num_nodes);

// ---- Q/DQ placement (`qat quantize`; driven by src/quant/quantize.cpp) ------------------------

struct QdqPlacementPipelineOptions {
    bool strip_existing = false;  // --requantize
    bool fold_bn = false;         // --fold-bn
};

// strip-qdq (with --requantize), fold-batchnorm (with --fold-bn), plan-qdq, insert-qdq.
// `state` (plan, insert options, stats) must outlive the PassManager's run.
PassManager make_qdq_placement_pipeline(const QdqPlacementPipelineOptions& options, quant::QdqPlanner planner,
                                        quant::QdqPlacementState* state);

}  // namespace qat::passes
