// ir::verify(): checks the invariants every pass must keep, so that a broken rewrite is caught
// at the pass that made it rather than as a wrong number three stages later.
//
// Checked:
//  - structure: unique value names; each node input is a graph input, a constant (initializer or
//    Constant output) or a node output of this graph; use-lists match node inputs both ways;
//    producers match node outputs both ways; graph inputs/outputs exist and their flags agree;
//    no value is both produced by a node and a graph input or initializer; acyclic.
//  - types where known: ops whose ONNX type constraint ties inputs and outputs to one type T
//    (Add, Conv, Relu, Concat, ...) agree; Conv weight/bias shapes agree with the input channels.
//  - QuantizeLinear / DequantizeLinear: scale is float, a scalar or 1-D (positive and finite when
//    constant); the zero point has the scale's shape and dtype int8/uint8 (int32 for DQ of int32);
//    Q's output dtype is the zero point's (uint8 without one); DQ's input dtype is the zero
//    point's; a per-axis scale's length equals the input's dim along `axis` when known.
//  - qat's fused ops (com.qat QConv, QGemm, ...): attributes valid (ir::fused::read_fused_op) and
//    the output dtype is the one `out_dtype` names.
//
// Errors are kInvalidModel and name the node ("verify: Conv 'conv1': ..."); the first problem is
// reported, with a count of the others.
//
//   QAT_RETURN_IF_ERROR(ir::verify(graph));
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::ir {

Status verify(const Graph& g);

// Every problem found, one message each (verify() reports the first). Empty when valid.
std::vector<std::string> verify_all(const Graph& g);

}  // namespace qat::ir
