// ONNX shape inference, written back onto the IR's Values.
//
// Exports the graph, runs ONNX's (non-strict) type and shape inference (data propagation on; in
// ONNX 1.12 Reshape still needs a constant target to infer its output), and writes the inferred
// dtype and shape onto each Value whose own information is less precise. Symbolic dims are kept
// ("N" stays "N"); ONNX may invent names ("unk__0") for dims it cannot name. Constants and graph
// inputs are never changed. Ops ONNX does not know (custom domains) leave their outputs as they
// were.
//
// Small integer "shape subgraphs" (Shape, Split, Concat, Slice, Gather, Unsqueeze, Squeeze, Cast,
// Identity, Add/Sub/Mul/Div on int64 vectors of constants and static shapes) are evaluated along
// the way and handed to ONNX as constants, so that Pad / Resize / Reshape / Expand whose shape
// input such a subgraph computes (tf2onnx's habit) get static output shapes too. Only shapes are
// written: the graph keeps its nodes.
//
//   QAT_RETURN_IF_ERROR(onnx::infer_shapes(graph));
//   graph.find_value("conv1_out")->shape();   // e.g. [N,64,112,112]
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

Status infer_shapes(ir::Graph& graph);

}  // namespace qat::onnx
