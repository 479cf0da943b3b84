// Q/DQ fusion, action side: turns a FusionGroup (qdq_selectors.h) into one com.qat node
// (ir/fused_ops.h) and rewires the graph.
//
//   before                                             after
//   %xd = DQ(%xq, sx, zx)                              %y = com.qat::QConv[x_scale=sx, w_scales=[...],
//   %wd = DQ(%wq, sw, 0)                                      post_ops=["relu"], y_scale=sy,
//   %c  = Conv(%xd, %wd, %b)                                  out_dtype=3](%xq, %wq, %b) @conv1
//   %r  = Relu(%c)
//   %y  = QuantizeLinear(%r, sy, zy)
//
// The fused node takes the op's node name and the name of the value it replaces (the Q's output,
// or the chain's last value for a float output), so graph outputs keep their names. It records
// the names of the nodes it absorbed (`absorbed`) and, for a float output, why (`note`). DQ nodes
// that other nodes still read stay for them.
#pragma once

#include "core/status.h"
#include "ir/graph.h"
#include "passes/qdq_selectors.h"

namespace qat::passes {

Result<ir::Node*> emit_fused(ir::Graph& graph, const FusionGroup& group);

}  // namespace qat::passes
