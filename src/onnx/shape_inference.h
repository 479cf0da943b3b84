// ONNX shape inference, written back onto the IR's Values.
//
// Exports the graph, runs ONNX's (non-strict) type and shape inference (data propagation on; in
// ONNX 1.12 Reshape still needs a constant target to infer its output), and writes the inferred
// dtype and shape onto each Value whose own information is less precise. Symbolic dims are kept
// ("N" stays "N"); ONNX may invent names ("unk__0") for dims it cannot name. Constants and graph
// inputs are never changed. Ops ONNX does not know (custom domains) leave their outputs as they
// were.
//
//   QAT_RETURN_IF_ERROR(onnx::infer_shapes(graph));
//   graph.find_value("conv1_out")->shape();   // e.g. [N,64,112,112]
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

Status infer_shapes(ir::Graph& graph);

}  // namespace qat::onnx
